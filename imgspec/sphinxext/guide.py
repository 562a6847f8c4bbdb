"""The operator's pages: which format a Glance database holds, and each Glance upgrade in glance-manage's terms.

``imgspec-glance-series``      every Glance series with its last revision, layout and format version
``imgspec-glance-upgrades``    each pair of releases whose format differs: the commands, what Glance's migrations
                               do, and every rule of the steps between, in words, with its mode
``imgspec-glance-path``        from each series to the newest: the steps, their strictest mode, what to run
``imgspec-value-journey FIELD EXAMPLE...``  what a field of each example becomes at every version, and where
"""
from __future__ import annotations

import json

from docutils import nodes

from imgspec.sphinxext.base import SpecDirective
from imgspec.sphinxext.nodes_util import inline, para, table
from imgspec.sql import binding as sqlbinding
from imgspec.sql import guide
from imgspec.upgrade.operations import describe


def _version_link(directive: SpecDirective, version: str) -> nodes.reference:
    return nodes.reference("", "", nodes.Text(version), internal=True,
                           refuri=directive.site_link(f"format/{version}.html"))


def _step_link(directive: SpecDirective, step) -> nodes.reference:
    name = f"{step.source}-{step.target}"
    return nodes.reference("", "", nodes.Text(f"{step.source} → {step.target}"), internal=True,
                           refuri=directive.site_link(f"format/upgrades/{name}.html"))


class GlanceSeriesDirective(SpecDirective):
    def run(self):
        self.shown(self.spec.root / guide.DATA)
        self.shown(self.spec.root / sqlbinding.FILE)
        rows = []
        for s in guide.series(self.spec):
            rows.append([s.name, s.glance, [nodes.literal(text=s.revision), nodes.Text(f" ({s.table})")],
                         [nodes.reference("", "", nodes.Text(s.layout), internal=True,
                                          refuri=self.site_link(f"bindings/{s.format}.html"))],
                         [_version_link(self, s.format)]])
        return [table(["Series", "Glance", "Last revision (table)", "Layout", "Format"], rows, [18, 10, 30, 16, 8])]


class GlanceUpgradesDirective(SpecDirective):
    def run(self):
        self.shown(self.spec.root / guide.DATA)
        out: list[nodes.Node] = []
        for u in guide.upgrades(self.spec):
            box = nodes.container(classes=["imgspec-glance-upgrade"])
            box += nodes.rubric(text=f"{u.old.label} → {u.new.label}: format {u.old.format} → {u.new.format}")
            text = "\n".join(u.commands)
            box += para("Run, with the ", nodes.literal(text=u.new.glance), " code installed:")
            box += nodes.literal_block(text, text, language="console")
            for step, told in zip(u.steps, u.glance, strict=True):
                self.shown(step.path)
                box += para(nodes.strong(text="What Glance does: "), *inline(told["glance"]), " (",
                            *[x for i, src in enumerate(told["source"].split(", "))
                              for x in ([nodes.Text(", ")] if i else []) + [nodes.literal(text=src)]], ").")
                box += para(nodes.strong(text="What every record becomes "), "(step ", _step_link(self, step),
                            f"; Glance applies it at {told['when']}, the format's strictest rule is ",
                            nodes.strong(text=step.mode), "):")
                items = nodes.bullet_list()
                for rules in (step.rules, step.store_rules):
                    for rule in rules:
                        _, field, what = describe(rule)
                        item = nodes.list_item()
                        item += para(nodes.literal(text=field), f" ({rule['mode']}): ", *inline(what))
                        items += item
                box += items
            out.append(box)
        return out


class GlancePathDirective(SpecDirective):
    def run(self):
        found = guide.series(self.spec)
        newest = found[-1]
        rows = []
        seen = set()
        for s in found[:-1]:
            if s.format in seen or s.format == newest.format:
                continue
            seen.add(s.format)
            steps = [st for u in guide.path(self.spec, s.name, newest.name) for st in u.steps]
            cells: list = []
            for i, st in enumerate(steps):
                if i:
                    cells.append(nodes.Text(", "))
                cells += [_step_link(self, st), nodes.Text(f" ({st.mode})")]
            last = [x for x in found if x.format == s.format][-1]
            rows.append([s.name if last is s else f"{s.name} to {last.name}", [_version_link(self, s.format)], cells,
                         [nodes.literal(text="glance-manage db sync"), nodes.Text(f" with {newest.label}'s code: every "
                                                                                   f"migration up to "),
                          nodes.literal(text=newest.revision)]])
        return [table(["Database of", "Format", "Steps to " + newest.format + " (mode)", "What to run"], rows,
                      [18, 8, 40, 34])]


class ValueJourneyDirective(SpecDirective):
    """``imgspec-value-journey FIELD EXAMPLE`` with more example files as its content, one per line."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = True

    def run(self):
        field, *files = self.arguments[0].split()
        files += [name for line in self.content for name in line.split()]
        target = self.spec.latest_released
        versions = self.spec.released
        rows = []
        for rel in files:
            path = self.path(rel)
            self.shown(path)
            record = self.spec.load(path)
            steps = guide.journey(self.spec, record, target)
            journey = {step.target: doc for step, doc in steps}
            changed, before = [], record.get(field)
            for step, doc in steps:
                if doc.get(field) != before:
                    changed.append(step)
                    before = doc.get(field)
            members = record.get("members", [])
            live = sum(1 for m in members if not m.get("deleted"))
            what = [nodes.literal(text=path.name), nodes.Text(
                f": is_public {json.dumps(record.get('is_public'))}, {live} member(s)"
                + (f" and {len(members) - live} deleted" if len(members) > live else ""))]
            cells: list = [what]
            for v in versions[1:]:
                at = journey.get(v)
                cells.append([nodes.literal(text=json.dumps(at.get(field)))] if at else "")
            cells.append([x for i, st in enumerate(changed) for x in ([nodes.Text(", ")] if i else [])
                          + [_step_link(self, st), nodes.Text(f" ({st.mode})")]] or "no step")
            rows.append(cells)
        headers = [f"{versions[0]} record"] + [f"{field} at {v}" for v in versions[1:]] + ["Changed by (mode)"]
        return [table(headers, rows)]


def setup(app) -> None:
    app.add_directive("imgspec-glance-series", GlanceSeriesDirective)
    app.add_directive("imgspec-glance-upgrades", GlanceUpgradesDirective)
    app.add_directive("imgspec-glance-path", GlancePathDirective)
    app.add_directive("imgspec-value-journey", ValueJourneyDirective)
