"""The ``imgspec`` command: one subcommand per job.

    imgspec check [--root DIR]         the spec tree's own schemas and examples
    imgspec validate PATH...           records (files, folders, JSON Lines, - for stdin)

Problems print one per line (FILE[:LINE]: POINTER: RULE: MESSAGE).  Exit status:
0 all valid, 1 something invalid, 2 unusable input or usage.
"""
from __future__ import annotations

import argparse
import sys

from . import examples, inputs, registry, validation
from .problems import ProblemError
from .spec import Spec

OK, INVALID, UNUSABLE = 0, 1, 2
UNUSABLE_RULES = {"malformed-json", "not-utf8", "not-json", "unreadable", "max-size", "max-depth",
                  "duplicate-key", "non-finite-number", "unknown-version"}


def cmd_check(args) -> int:
    spec = Spec(args.root) if args.root else Spec.default()
    _, problems = registry.build(spec)
    lines = [str(p) for p in problems]
    cases = examples.record_examples(spec)
    if not problems:
        for case in cases:
            lines += examples.verdict(case, spec)
    for line in lines:
        print(line)
    print(f"{len(spec.schema_files())} schemas, {len(cases)} examples: "
          + ("all as declared" if not lines else f"{len(lines)} problem(s)"), file=sys.stderr)
    return INVALID if lines else OK


def cmd_validate(args) -> int:
    spec = Spec.default()
    status, count = OK, 0
    for source, line, doc, problems in inputs.documents(args.paths):
        count += 1
        if not problems:
            problems = validation.check(doc, source, spec, line=line)
        for p in problems:
            print(p)
            status = max(status, UNUSABLE if p.rule in UNUSABLE_RULES else INVALID)
    if not args.quiet:
        print(f"{count} record(s) checked: " + ("all valid" if status == OK else "problems found"), file=sys.stderr)
    return status


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="imgspec", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check the spec tree's schemas and examples")
    c.add_argument("--root", help="spec tree (default: the installed one)")
    c.set_defaults(func=cmd_check)
    v = sub.add_parser("validate", help="validate record files, folders and JSON Lines streams")
    v.add_argument("paths", nargs="+", metavar="PATH")
    v.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    v.set_defaults(func=cmd_validate)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ProblemError as exc:
        print(exc, file=sys.stderr)
        return UNUSABLE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
