"""What every directive of the spec shares: the spec tree of the build, what a page shows, drift reports.

:class:`SpecDirective` is the base of every imgspec directive; :func:`example_nodes`
shows one example file with its caption and records its verdict.
"""
from __future__ import annotations

import functools
import posixpath
import weakref
from pathlib import Path

from docutils import nodes
from sphinx.domains import Domain
from sphinx.util.docutils import SphinxDirective

from imgspec.format import examples as ex
from imgspec.problems import ProblemError
from imgspec.spec import Spec
from imgspec.sphinxext.nodes_util import inline


class SpecDomain(Domain):
    """The per-page state of the spec's pages, kept by Sphinx as a domain's data (as ``sphinx.ext.todo`` keeps its
    todos): which files each page shows (``shown``) and the drift each page found (``failures``), forgotten with
    the page when it is re-read, merged from parallel readers."""

    name = "imgspec"
    label = "imgspec"
    initial_data = {"shown": {}, "failures": {}}  # Sphinx deep-copies it for each build

    def clear_doc(self, docname: str) -> None:
        for part in ("shown", "failures"):
            self.data[part].pop(docname, None)

    def merge_domaindata(self, docnames, otherdata: dict) -> None:
        for part in ("shown", "failures"):
            for doc in docnames:
                if doc in otherdata[part]:
                    self.data[part][doc] = otherdata[part][doc]

    def shown(self) -> set[str]:
        return set().union(*self.data["shown"].values()) if self.data["shown"] else set()

    def failures(self) -> list[tuple[str, int, str]]:
        return [(doc, lineno, line) for doc, found in sorted(self.data["failures"].items()) for lineno, line in found]


_SPECS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # each build's spec tree, gone with its app


def spec_of(app) -> Spec:
    """The spec tree the build reads (``imgspec_root``, default: the configuration folder), one per build."""
    root = Path(app.config.imgspec_root or app.confdir).resolve()
    spec = _SPECS.get(app)
    if spec is None or spec.root != root:
        spec = _SPECS[app] = Spec(root)
    return spec


class SpecDirective(SphinxDirective):
    """A directive of the spec: it reads files of the spec tree, records what it shows, and reports drift.

    A spec tree that cannot be used at all (a schema whose ``$ref`` resolves nowhere) makes any directive
    fail the build with the problem's own line, never a traceback: every subclass's ``run`` is guarded here.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        run = cls.__dict__.get("run")
        if run is None:
            return

        @functools.wraps(run)
        def guarded(self):
            try:
                return run(self)
            except ProblemError as exc:
                self.fail([str(p) for p in exc.problems])
                return []
        cls.run = guarded

    @property
    def spec(self) -> Spec:
        return spec_of(self.env.app)

    def path(self, rel: str) -> Path:
        path = self.spec.root / rel
        if not path.exists():
            raise self.error(f"{rel}: (root): missing-file: no such file or directory")
        return path

    def shown(self, path: Path):
        rel = self.spec.rel(path)
        self.env.note_dependency(str(path.resolve()))
        self.env.get_domain("imgspec").data["shown"].setdefault(self.env.docname, set()).add(rel)

    def example(self, what: str = "examples live in examples/record/<version>/<kind>/<valid|invalid>/"):
        """The record example the directive's argument names, recorded as shown; an error if it is none."""
        path = self.path(self.arguments[0])
        matches = [e for e in ex.record_examples(self.spec) if e.path.resolve() == path.resolve()]
        if not matches:
            raise self.error(f"{self.arguments[0]}: (root): not-an-example: {what}")
        self.shown(path)
        return matches[0]

    def fail(self, lines: list[str]):
        fails = self.env.get_domain("imgspec").data["failures"]
        for line in lines:  # reported when the build finishes, also by builds that do not re-read this page
            fails.setdefault(self.env.docname, []).append((self.lineno, line))

    def site_link(self, rel: str) -> str:
        """A URL to ``rel`` (copied into the site at the same path) from this page."""
        here = posixpath.dirname(self.env.docname)
        return posixpath.relpath(rel, here or ".")


def example_nodes(directive: SpecDirective, example: ex.Example, problems: list[str]) -> list[nodes.Node]:
    rel = directive.spec.rel(example.path)
    text = example.path.read_text(encoding="utf-8", errors="replace")
    if example.valid:
        caption = f"{example.path.name}: valid {example.kind} record, format {example.version}"
    else:
        try:
            exp = ex.expectation(directive.spec, example)
            caption = f"{example.path.name}: invalid; breaks {exp['rule']} at {exp['pointer'] or '(root)'}: {exp['description']}"
        except ProblemError:
            caption = f"{example.path.name}: invalid"
    block = nodes.literal_block(text, text, language="json" if example.valid or "duplicate" not in rel else "text")
    block["classes"].append("imgspec-example")
    container = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
    container += nodes.caption("", "", *inline(caption))
    container += block
    if problems:
        directive.fail(problems)
    return [container]
