"""Directives for reviewers: the classified diff of a version step, and the changelog."""
from __future__ import annotations

import itertools

from docutils import nodes

from imgspec.diff import schemas as diff
from imgspec.problems import ProblemError
from imgspec.sphinxext.base import SpecDirective
from imgspec.sphinxext.nodes_util import para, table
from imgspec.sphinxext.records import errata_summary
from imgspec.upgrade import load_steps


def diff_nodes(directive: SpecDirective, old: str, new: str, show_version: bool = False) -> list[nodes.Node]:
    spec = directive.spec
    for v in (old, new):
        for path in (spec.schemas / "record" / v).glob("*.json"):
            directive.shown(path)
    try:
        steps = load_steps(spec)
    except ProblemError as exc:
        directive.fail([str(p) for p in exc.problems])
        return []
    rules = steps[old].ruleset() if old in steps and steps[old].target == new else None
    _, _, changes = diff.diff(spec, old, new)
    declared = diff.declared_meaning_changes(spec, new)
    if rules is not None:
        changes = sorted(changes + diff.meaning_changes(spec, old, new), key=lambda c: diff.ORDER[c.category])
    rows = []
    for c in changes:
        if c.category == "version" and not show_version:
            continue
        cover: str | list = ""
        if c.category in diff.NOT_COMPATIBLE:
            n = diff.covering_rule(c, rules)
            cover = [nodes.reference("", "", nodes.Text(f"rule {n}"), internal=True,
                                     refuri=directive.site_link(f"format/upgrades/{old}-{new}.html"))] if n else [
                nodes.strong(text="not covered")]
            if not n:
                directive.fail([f"schemas/upgrades/{old}-{new}.json: (root): uncovered-change: {c.kind} "
                                f"{c.shown or '/'}: {c.category} {c.rule} needs an upgrade rule"])
        if c.category == "meaning-changed":
            cover = [nodes.Text("declared")] if c.record in declared else [nodes.strong(text="not declared")]
            if c.record not in declared:
                directive.fail([f"schemas/releases.json: /record: meaning-undeclared: {c.kind} {c.record}: {c.detail}"])
        rows.append([c.category, c.kind, f"`{c.shown or '/'}`", f"{c.rule}: {c.detail}", cover])
    hidden = sum(c.category == "version" for c in changes) if not show_version else 0
    kinds = [k for k in diff.ORDER if k != "version" and any(c.category == k for c in changes)]
    words = {"breaking": "breaking (each change covered by an upgrade rule)",
             "needs-default": "needs defaults (written by the upgrade rules)",
             "meaning-changed": "meaning changed (declared below)", "compatible": "compatible"}
    out = [para(nodes.strong(text="Class of the step: "), "; ".join(words[k] for k in kinds) or "no change")]
    for field, what in declared.items():
        out.append(para(nodes.strong(text="Change of meaning, declared: "), f"`{field}`: {what}"))
    out.append(table(["Category", "Object", "Field", "Change", "Covered by"], rows, [9, 7, 18, 40, 8]))
    if hidden:
        out.append(para(f"Not shown: {hidden} expected version changes (`format_version` and each `$id`)."))
    return out


class DiffDirective(SpecDirective):
    """``imgspec-diff OLD NEW``: every schema change of a step, classified, with the rule covering it."""

    required_arguments = 2

    def run(self):
        return diff_nodes(self, *self.arguments)


class ChangelogDirective(SpecDirective):
    """One section per version, newest first, generated from the diffs."""

    def run(self):
        spec = self.spec
        self.shown(spec.schemas / "releases.json")
        out = []
        pairs = list(itertools.pairwise(spec.versions))
        for old, new in reversed(pairs):
            r = spec.release(new)
            section = nodes.section(ids=[f"changelog-{new.replace('.', '-')}"])
            section += nodes.title(text=f"{new} ({r.status}): {r.title}")
            section += para(r.summary)
            section += diff_nodes(self, old, new)
            section += errata_summary(self, new)
            out.append(section)
        first = spec.release(spec.versions[0])
        section = nodes.section(ids=[f"changelog-{first.version.replace('.', '-')}"])
        section += nodes.title(text=f"{first.version} ({first.status}): {first.title}")
        section += para(first.summary)
        section += errata_summary(self, first.version)
        out.append(section)
        return out


def setup(app) -> None:
    app.add_directive("imgspec-diff", DiffDirective)
    app.add_directive("imgspec-changelog", ChangelogDirective)
