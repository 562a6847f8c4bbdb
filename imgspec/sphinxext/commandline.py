"""The command line's page: each group of commands and each command's ``--help``, read from the parser itself."""
from __future__ import annotations

import os

from docutils import nodes

from imgspec import cli
from imgspec.sphinxext.base import SpecDirective


def help_text(parser) -> str:
    """What ``--help`` prints on an 80-column terminal (argparse wraps to $COLUMNS: fixed, so every build agrees)."""
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        return parser.format_help().rstrip()
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns


class CommandLineDirective(SpecDirective):
    """``imgspec-command-line``: a section per group of :data:`imgspec.cli.GROUPS`, a subsection per command with
    its ``--help`` as the command prints it (the text cannot drift from the code: it is the code's)."""

    def run(self):
        top = cli.parser()
        sub = next(a for a in top._actions if isinstance(a, cli.argparse._SubParsersAction))
        out: list[nodes.Node] = [nodes.literal_block(text=help_text(top), language="text")]
        for title, names in cli.GROUPS.items():
            group = nodes.section(ids=[nodes.make_id("commands " + title)])
            group += nodes.title(text=title)
            for name in names:
                command = nodes.section(ids=[nodes.make_id("imgspec " + name)])
                command += nodes.title(text=f"imgspec {name}")
                command += nodes.literal_block(text=help_text(sub.choices[name]), language="text")
                group += command
            out.append(group)
        return out


def setup(app) -> None:
    app.add_directive("imgspec-command-line", CommandLineDirective)
