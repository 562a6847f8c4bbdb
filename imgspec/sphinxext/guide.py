"""The operator's pages: which format a Glance database holds, and each Glance upgrade in glance-manage's terms.

``imgspec-glance-series``      every Glance series with its last revision, layout and format version
``imgspec-glance-upgrades``    each pair of releases whose format differs: the commands, what Glance's migrations
                               do, and every rule of the steps between, in words, with its mode
``imgspec-glance-path``        from each series to the newest: the steps, their strictest mode, what to run
``imgspec-matrix-findings``    what the era matrix found of Glance 33's db_sync over each older release's database:
                               the revisions it refuses (and the release it takes to step through), the data
                               migrations it skips, each with the maintainers' reason from the matrix file
``imgspec-release-pairs``      each pair of consecutive series the era matrix ran: what to run, the tables and the
                               format before and after, what may be read meanwhile, and what the format change costs
                               per engine (make sizing's measures)
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


class MatrixFindingsDirective(SpecDirective):
    """A list item per finding of schemas/bindings/glance-matrix.json: each revision Glance 33's db_sync refused
    (the releases that leave it, what it said, why: ``refused_by_33``, and the release the matrix stepped through),
    and each data migration it skipped (``not_as_the_rules_say``: the releases whose rows then differ, where, why).
    A refusal no entry explains fails the build."""

    def run(self):
        path = self.spec.root / guide.MATRIX
        self.shown(path)
        matrix = self.spec.load(path)
        ran = [r for r in matrix["releases"] if r.get("matrix")]
        if not ran:
            raise self.error(f"{guide.MATRIX}: the era matrix has not run (make matrix)")
        refused: dict[str, list[dict]] = {}
        skipped: dict[str, list[dict]] = {}
        for r in ran:
            after = r["matrix"]["after_33"]
            if "refused" in after:
                refused.setdefault(r["matrix"]["revision"], []).append(r)
            for name in after.get("not_as_the_rules_say", []):
                skipped.setdefault(name, []).append(r)
        items = nodes.bullet_list()
        problems = []
        for revision, group in refused.items():
            told = matrix.get("refused_by_33", {}).get(revision)
            if told is None:
                problems.append(f"{guide.MATRIX}: /refused_by_33: Glance 33's db_sync refuses {revision} "
                                f"(Glance {group[0]['release']}) and no entry says why")
                continue
            after = group[0]["matrix"]["after_33"]
            via = next(r for r in matrix["releases"] if r["release"] == after["via"])
            item = nodes.list_item()
            item += para(nodes.strong(text=f"Glance 33 refuses a {_series(group)} database"), " (",
                         nodes.literal(text=revision), f", which Glance {_releases([r['release'] for r in group])}'s "
                         "own db_sync leaves) with ", nodes.literal(text=after["refused"]), f": {told['why']} (",
                         nodes.literal(text=told["source"]), f"). Step through a later release first: the matrix "
                         f"steps through Glance {via['release']} ({via['series']}), then Glance 33.")
            items += item
        for name, group in skipped.items():
            case = matrix["not_as_the_rules_say"][name]
            revisions = sorted({r["matrix"]["revision"] for r in group})
            item = nodes.list_item()
            item += para(nodes.strong(text=f"From a {_series(group)} database"), " (",
                         *[x for i, rev in enumerate(revisions) for x in ([nodes.Text(", ")] if i else [])
                           + [nodes.literal(text=rev)]],
                         f": Glance {_releases([r['release'] for r in group])}), Glance 33's db_sync skips ",
                         nodes.literal(text=name), " and the rows differ from the upgrade rules at ",
                         *[x for i, p in enumerate(case["pointers"]) for x in ([nodes.Text(", ")] if i else [])
                           + [nodes.literal(text=p)]], f". {case['why']}")
            items += item
        if problems:
            self.fail(problems)
        return [items]


def _series(group: list[dict]) -> str:
    names = list(dict.fromkeys(r["series"].replace("_", ".").capitalize() for r in group))
    return " or ".join(names)


def _releases(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} to {names[-1]}"


class ReleasePairsDirective(SpecDirective):
    """One row per pair of consecutive series of the era matrix (a run of pairs that change nothing in one row), every
    cell from a file: the revisions each release's own db_sync left and the format the binding reads them as
    (schemas/bindings/glance-matrix.json), the commands (schemas/bindings/glance-releases.json), the binding's
    rolling-upgrade windows, and the metadata per image each engine measured for each format
    (schemas/sizing/measured.json, make sizing)."""

    def run(self):
        from imgspec.sizing import storage as sizing
        from imgspec.sphinxext.sizing import ENGINE_TITLES, delta
        spec = self.spec
        for rel in (guide.MATRIX, guide.DATA, sqlbinding.FILE, "schemas/sizing/measured.json",
                    "schemas/sizing/deployment.json"):
            self.shown(spec.root / rel)
        pairs = guide.release_pairs(spec)
        if not pairs:
            raise self.error(f"{guide.MATRIX}: the era matrix has not run (make matrix)")
        engines = [e["engine"] for e in sizing.measured(spec)["engines"]]
        per = {e: sizing.measured_per_image(spec, e) for e in engines}
        images = spec.load("schemas/sizing/deployment.json")["images"]
        shares = sizing.rewritten_shares(spec)
        rolling = spec.load(guide.MATRIX).get("rolling", {})
        names = [s.name for s in guide.series(spec)]

        groups: list[list] = []  # consecutive pairs that change neither tables nor format: one row
        for p in pairs:
            if groups and not p.changes_tables and not groups[-1][-1].changes_tables and p.formats[0] == p.formats[1]:
                groups[-1].append(p)
            else:
                groups.append([p])
        out: list[nodes.Node] = []
        commands = {tuple(p.commands) for p in pairs}
        for run in sorted(commands):
            note = next(e["note"] for e in spec.load(guide.DATA)["commands"] if tuple(e["run"]) == run)
            out.append(para("Every upgrade below runs, with the new release's code installed, ",
                            *[x for i, c in enumerate(run) for x in ([nodes.Text(", then ")] if i else [])
                              + [nodes.literal(text=c)]], ": ", *inline(note)))
        rows = []
        for group in groups:
            first, last = group[0], group[-1]
            chain_of = [first.old] + [p.new for p in group]
            releases = [first.old_releases] + [p.new_releases for p in group]
            what = " → ".join(f"{s.name} ({_releases(r)})" for s, r in zip(chain_of, releases, strict=True))
            skipped = [n for p in group for n in names[names.index(p.old.name) + 1:names.index(p.new.name)]]
            if skipped:
                what += f"; no release of {', '.join(skipped)} on the package index"
            a, b = first.formats[0], last.formats[1]
            tables: list = [nodes.literal(text=first.revisions[0])]
            if first.changes_tables:
                tables += [nodes.Text(" → "), nodes.literal(text=last.revisions[1])]
            else:
                tables.append(nodes.Text(" throughout: no migration to run"))
            fits = first.windows  # a pair that changes the tables is a row of its own
            formats = a if a == b else f"{a} → {b}"
            if not first.changes_tables:
                halfway: list = [nodes.Text("nothing to run")]
            elif fits:
                halfway = [nodes.Text("read as layout " + ", ".join(f"{w['layout']} (the window "
                                                                    f"{' + '.join(w['heads'])})" for w in fits))]
            else:
                halfway = [nodes.Text("refused: no window")]
            if rolling and rolling["from"] in first.old_releases and rolling["to"] in last.new_releases:
                halfway.append(nodes.Text(f"; run as a rolling upgrade with Glance {rolling['from']} and "
                                          f"{rolling['to']} (below)"))
            if a == b:
                cost: list = [nodes.Text("none: the format stays")]
            else:
                peak = max(shares[s.target] for p in group for s in p.steps)
                room = (f"while it runs, {{}} more ({peak:.0%} of the records rewritten, a second copy each)" if peak
                        else "it rewrites no record")
                cost = [para(nodes.strong(text=ENGINE_TITLES[e] + ": "),
                             f"{per[e][a]:,.0f} → {per[e][b]:,.0f} B per image "
                             f"({delta(per[e][b] - per[e][a], per[e][a])}), "
                             f"{sizing.human(images * (per[e][b] - per[e][a]))} for {images:,} images; "
                             + room.format(sizing.human(images * per[e][b] * peak))) for e in engines]
            rows.append([what, tables, formats, halfway, cost])
        out.append(table(["Upgrade (the matrix's releases)", "Tables (revision)", "Format", "Half-way, export-sql",
                          "What the format change costs"], rows, [24, 20, 8, 18, 30]))
        out.append(para(nodes.strong(text="Half-way: "), "after ", nodes.literal(text="db expand"), " and before ",
                        nodes.literal(text="db contract"), " the database carries the heads of two releases at once. "
                        "export-sql reads it then only where the binding names that pair of heads as a window (its "
                        "reason says why the rows read the same); elsewhere it refuses with the revisions it found, "
                        "rather than guess: export before db expand or after db contract."))
        return out


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
    app.add_directive("imgspec-release-pairs", ReleasePairsDirective)
    app.add_directive("imgspec-matrix-findings", MatrixFindingsDirective)
    app.add_directive("imgspec-value-journey", ValueJourneyDirective)
