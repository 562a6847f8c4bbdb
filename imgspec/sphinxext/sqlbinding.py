"""Directives that render the relational binding from ``schemas/bindings/glance-sql.json``.

``imgspec-sql-binding VERSION``  where each field of that version's record is in the SQL layout
``imgspec-sql-overview``         the conventions and the layouts with their revisions
``imgspec-glance-matrix``        Glance releases run in the era matrix: revision, layout, format version
                                 (``:version: V``: only the releases whose database reads as V)
``imgspec-rolling-upgrade``      the rolling upgrade the tests run, step by step, per engine
"""
from __future__ import annotations

from docutils import nodes

from imgspec.problems import ProblemError
from imgspec.sphinxext.base import SpecDirective
from imgspec.sphinxext.nodes_util import glance_text, para, table
from imgspec.sql.binding import FILE, META, Binding, load
from imgspec.sql.guide import MATRIX
from imgspec.text import code


def reading(f: dict, table_name: str, version: str) -> tuple[str, str]:
    """(where, how it is read) of one field binding, in words."""
    if "computed" in f:
        return "(not stored)", f"always `{version}`"
    rules = "; then " + ", ".join(f"rule `{r}`" for r in f["rules"]) if "rules" in f else ""
    if "value" in f:
        return "(no column yet)", f"always {code(f['value'])}"
    if f.get("absent"):
        return "(not stored)", "never held by the layout: only an upgrade rule writes it"
    if "rules" in f and "column" not in f:
        return "(no column yet)", "derived by " + ", ".join(f"rule `{r}`" for r in f["rules"])
    if "column" in f:
        how = [f"read as `{f['read_as']}`{rules}"] if "read_as" in f else []
        if f.get("pickle"):
            how.append("a Python pickle of a dict, plain data only")
        if "values" in f:
            how.append("; ".join(f"{k} → {code(v)}" for k, v in f["values"].items()))
        if f.get("json") == "object":
            how.append("JSON text of an object")
        if "null" in f:
            how.append(f"NULL → {code(f['null'])}")
        return f"`{table_name}.{f['column']}`", "; ".join(how) or "same value"
    r = f["rows"]
    which = "every row, deleted ones included" if r["include"] == "all" else "rows not deleted"
    if "object" in r:
        shape = f"one {r['object']} per row (below)"
    elif "key" in r:
        shape = f"`{r['key']}` → `{r['value']}`" + (f", NULL value → {code(r['null'])}" if "null" in r else "")
    else:
        shape = f"`{r['value']}` of each row" + (", each value once" if r.get("distinct") else "")
    order = f"; ordered by {', '.join(r['order'])}" if r.get("order") else ""
    return f"rows of `{r['table']}`", f"{shape}; {which}{order}"


class _BindingBase(SpecDirective):
    def binding(self) -> Binding | None:
        self.shown(self.spec.root / FILE)
        self.shown(self.spec.root / META)
        try:
            binding = load(self.spec)  # read once per build
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return None
        problems = binding.problems()
        if problems:
            self.fail([str(p) for p in problems])
        return binding

    def ddl(self, layout) -> nodes.literal_block:
        text = layout.ddl()
        block = nodes.literal_block(text, text, language="sql")
        return block


class SqlBindingDirective(_BindingBase):
    """One format version on the SQL layout: layout, revisions, field tables, unbound columns, DDL."""

    required_arguments = 1

    def run(self):
        version = self.arguments[0]
        binding = self.binding()
        if binding is None:
            return []
        try:
            b = binding.binding(version)
            binding.native(version)  # refuses a version the binding does not read
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return []
        layout = binding.layout_of(version)
        rev = layout.revision
        out = [table(["", ""], [
            ["Format", [nodes.reference("", "", nodes.Text(f"Image Record Format {version}"), internal=True,
                                        refuri=self.site_link(f"format/{version}.html"))]],
            ["Layout", f"{layout.title} (`{layout.name}`): {layout.era}"],
            ["Recognised by", f"`{rev['table']}.{rev['column']}` = " + ", ".join(f"`{v}`" for v in rev["values"])],
            ["Source", layout.source],
            ["Binding file", [nodes.reference("", "", nodes.literal(text=FILE), refuri=self.site_link(FILE))]],
        ], [12, 60])]
        if "via" in b:
            step = f"{b['via']}-{version}"
            out.append(para(f"A {version} record is read as a {b['via']} record (see ",
                            nodes.reference("", "", nodes.Text("its binding"), internal=True,
                                            refuri=self.site_link(f"bindings/{b['via']}.html")),
                            "), then the rules of the ",
                            nodes.reference("", "", nodes.Text(f"{b['via']} → {version} upgrade"), internal=True,
                                            refuri=self.site_link(f"format/upgrades/{step}.html")),
                            " apply. ", b.get("note", "")))
            return out
        if b.get("note"):
            out.append(para(b["note"]))
        out += self.fields_and_tables(binding, version, layout.name)
        older = binding.older_layouts(version)
        if older:
            out.append(para(f"Databases of earlier revisions are read as {version} too. Each is the layout before it "
                            "plus the changes of Glance's migrations; where a column does not exist yet, the field is "
                            "the constant or the upgrade rule named (the same derivation a record upgraded to "
                            f"{version} gets). Only what differs from `{layout.name}` is listed."))
        for name in older:
            section = nodes.section(ids=[f"layout-{name}"], names=[f"layout-{name}"])
            lay = binding.layouts[name]
            section += nodes.title(text=f"Layout {name}: {lay.title}")
            section += table(["", ""], [
                ["Era", lay.era],
                ["Recognised by", f"`{lay.revision['table']}.{lay.revision['column']}` = "
                 + ", ".join(f"`{v}`" for v in lay.revision["values"])],
                ["Source", lay.source]], [12, 60])
            section.extend(self.fields_and_tables(binding, version, name, differing_from=layout.name))
            out.append(section)
        return out

    def fields_and_tables(self, binding: Binding, version: str, layout: str, differing_from: str | None = None) -> list:
        out: list[nodes.Node] = []
        for obj in binding.objects(version, layout):
            tname = binding.table_of(obj)
            base = binding.fields(obj, version, differing_from) if differing_from else []
            rows = []
            for f in binding.fields(obj, version, layout):
                if f in base:
                    continue
                where, how = reading(f, tname, version)
                rows.append([f"`{f['field']}`", where, how, f.get("note", "")])
            if not rows:
                continue
            if obj == "image":
                out.append(para(nodes.strong(text="The image record"), " (one row of ", nodes.literal(text=tname), "):"))
            else:
                out.append(para(nodes.strong(text=f"Each {obj}"), " (one row of ", nodes.literal(text=tname), "):"))
            out.append(table(["Record field", "Column", "How it is read", "Notes"], rows, [13, 26, 25, 36],
                             classes=["imgspec-sql"]))
        unbound = binding.unbound(version, layout)
        if differing_from:
            same = binding.unbound(version, differing_from)
            unbound = {c: why for c, why in unbound.items() if same.get(c) != why}
        empty = binding.by_layout[layout].get("empty", [])
        if empty:
            out.append(para("Tables that must be empty at these revisions (the export refuses them otherwise): ",
                            ", ".join(empty), "."))
        if unbound:
            out.append(para(nodes.strong(text="Columns that give no record field:")))
            out.append(table(["Column", "Why"], [[f"`{c}`", why] for c, why in unbound.items()], [22, 60],
                             classes=["imgspec-sql"]))
        out.append(para(f"The tables of layout `{layout}`, as CREATE TABLE statements generated from the "
                        "binding file (the tests build databases from exactly this text):"))
        out.append(self.ddl(binding.layouts[layout]))
        return out


class SqlOverviewDirective(_BindingBase):
    """The conventions of the binding and every layout with its revisions and versions."""

    def run(self):
        binding = self.binding()
        if binding is None:
            return []
        out = [table(["Topic", "Rule"], [[c["topic"], c["rule"]] for c in binding.data["conventions"]], [12, 60])]
        rows = []
        for layout in binding.layouts.values():
            versions = [b["version"] for b in binding.data["bindings"] if b["layout"] == layout.name]
            links: list[nodes.Node] = []
            for v in versions:
                if links:
                    links.append(nodes.Text(", "))
                links.append(nodes.reference("", "", nodes.Text(v), internal=True,
                                             refuri=self.site_link(f"bindings/{v}.html")))
            rev = layout.revision
            rows.append([f"`{layout.name}`", layout.era,
                         f"`{rev['table']}`: " + ", ".join(f"`{v}`" for v in rev["values"]), links])
        out.append(para(nodes.strong(text="Layouts and the format versions they hold:")))
        out.append(table(["Layout", "Era", "Revisions", "Formats"], rows, [10, 40, 30, 10]))
        out.append(para(nodes.strong(text="Engines the binding is checked on"),
                        " (the tests build every layout listed here on that engine and hold the export to the SQLite one):"))
        everywhere = list(binding.layouts)
        out.append(table(["Engine", "Version tested", "Layouts checked", "How", "Notes"],
                         [[e["title"], e["version"],
                           "all " + str(len(everywhere)) if e["layouts"] == everywhere
                           else ", ".join(f"`{x}`" for x in e["layouts"]), e["how"], e["notes"]]
                          for e in binding.data["engines"]], [10, 10, 14, 36, 30]))
        out.append(para(nodes.strong(text="Rolling-upgrade windows the export reads"),
                        " (two alembic heads between N+1's `glance-manage db expand` and `db contract`, where the "
                        "expand step changes no table the layout binds; its columns are still checked):"))
        out.append(table(["Heads", "Read as layout", "Why", "Source"],
                         [[" + ".join(f"`{h}`" for h in w["heads"]), f"`{w['layout']}`", w["why"],
                           glance_text(self.config, w["source"])] for w in binding.data.get("windows", [])],
                         [22, 10, 46, 22]))
        out.append(para(nodes.strong(text="Revisions the export refuses"),
                        " (every other revision Glance has had is one of the layouts above):"))
        out.append(table(["Revisions", "Rule", "Why", "Source"],
                         [[f"`{r['table']}`: " + ", ".join(f"`{v}`" for v in r["values"]), f"`{r['rule']}`", r["why"],
                           glance_text(self.config, r.get("source", ""))] for r in binding.data.get("refused", [])],
                         [22, 12, 44, 22]))
        return out


class GlanceMatrixDirective(_BindingBase):
    """The era matrix (tests/matrix.py, ``make matrix``): each Glance release, the Python it ran on, the API version
    it served, the revision its own db_sync left, how the binding reads it, and the same after Glance 33's db_sync.
    Every cell is checked here against the binding too: a revision the binding reads otherwise fails the build."""

    option_spec = {"version": str}

    def run(self):
        binding = self.binding()
        if binding is None:
            return []
        path = self.spec.root / MATRIX
        self.shown(path)
        matrix = self.spec.load(path)
        releases = matrix["releases"]
        skipped: dict[str, dict] = {}
        single: dict[str, str] = {}
        listed: dict[str, str] = {}
        routes: dict[str, str] = {}
        only = self.options.get("version")
        where = {v: layout for layout in binding.layouts.values() for v in layout.revision["values"]}
        problems, rows, refused = [], [], []
        for index, r in enumerate(releases):
            row = r.get("matrix")
            if not r.get("installs"):
                if "error" in r and not only:
                    refused.append([f"Glance {r['release']}", r["error"]])
                continue
            if row is None:
                continue
            problems += self.misread(row, f"/releases/{index}/matrix", r["release"], where, binding)
            if only and row["format_version"] != only:
                continue
            after = row["after_33"]
            how = self.after_33(after)
            for name in after.get("not_as_the_rules_say", []):
                how += f"; not as the upgrade rules say: {name} skipped (below)"
                skipped.setdefault(name, matrix["not_as_the_rules_say"][name])
            if "single_store" in row:
                how = "one store (below); " + how
                single.setdefault(r["release"] if r["release"] in matrix["single_store"] else r["series"],
                                  row["single_store"])
            api = row["api"] if row["current"] == row["api"] else f"{row['api']} ({row['current']} CURRENT)"
            if r["series"] in matrix["listed_otherwise"]:
                api += " (below)"
                listed.setdefault(r["series"], matrix["listed_otherwise"][r["series"]])
            lacks = [f"{k}: {v}" for k, v in row["left_out"].items()]
            if "locations_route" in row:
                lacks.append(f"GET /v2/images/{{image_id}}/locations: {row['locations_route']} (below)")
                why = matrix.get("locations_route", {}).get(r["series"])
                if why is None:
                    problems.append(f"{MATRIX}: /locations_route: Glance {r['release']} answers "
                                    f"{row['locations_route']} for an image's locations and no entry says why")
                routes.setdefault(r["series"], why or "")
            rows.append([f"Glance {r['release']} ({r['series']}, Python {r['python']})", api,
                         f"`{row['revision']}`: layout `{row['layout']}`, read as {row['format_version']}; "
                         f"{row['images']} images", how, "; ".join(lacks) or "none"])
        servers = self.servers(matrix, where, binding, problems) if not only else []
        if problems:
            self.fail(problems)
        if not rows and only:
            ran = [r["release"] for r in releases if r.get("matrix")]
            return [para(f"No Glance release the era matrix runs (Glance {ran[0]} to {ran[-1]}, the releases on the "
                         f"package index that install here) leaves a database the binding reads as {only}.")]
        if not rows:
            raise self.error(f"{MATRIX}: no release of the era matrix has run")
        out = [table(["Release", "API", "Its own db_sync leaves", "After Glance 33's db_sync",
                      "What its API lacks"], rows, [16, 8, 26, 28, 22])]
        for name, case in skipped.items():
            out.append(para(nodes.strong(text=f"{name} skipped: "), case["why"], " Where the records differ: ",
                            ", ".join(case["pointers"]), "."))
        for series, why in single.items():
            out.append(para(nodes.strong(text=f"One store for {series}: "), why, "."))
        for series, why in routes.items():
            out.append(para(nodes.strong(text=f"The locations list in {series}: "), why, "."))
        for series, why in listed.items():
            out.append(para(nodes.strong(text=f"The API versions {series} lists: "), why, "."))
        if refused:
            out.append(para(nodes.strong(text="Releases that do not install here"), " (the error pip gave):"))
            out.append(table(["Release", "Why"], refused, [15, 85]))
        return out + servers

    @staticmethod
    def misread(row: dict, at: str, release: str, where: dict, binding) -> list[str]:
        """A problem line for each cell of a matrix row (its own db_sync's, then Glance 33's) whose revision the
        binding reads as another layout or format."""
        out = []
        for sub, cell in (("", row), ("/after_33", row["after_33"])):
            layout = where.get(cell["revision"])
            if layout is None or layout.name != cell["layout"] or \
                    binding.native_for_layout(layout.name) != cell["format_version"]:
                out.append(f"{MATRIX}: {at}{sub}: revision {cell['revision']} (Glance {release}) is not read as "
                           f"layout {cell['layout']}, format {cell['format_version']}, by the binding")
        return out

    @staticmethod
    def after_33(after: dict) -> str:
        how = f"{after['revision']}, read as {after['format_version']}"
        if "refused" in after:
            how = f"Glance 33 refuses ({after['refused']}); through {after['via']} first: " + how
        return how

    def servers(self, matrix: dict, where: dict, binding, problems: list[str]) -> list[nodes.Node]:
        """The oldest release of each layout era again on MariaDB and PostgreSQL (``servers`` of its entry): the same
        cells, each checked against the binding, and each told apart from the release's SQLite row where it differs."""
        from imgspec.sphinxext.sizing import ENGINE_TITLES
        rows: list[list] = []
        overrides: dict[str, dict] = {}
        for index, r in enumerate(matrix["releases"]):
            for engine, row in sorted(r.get("servers", {}).items()):
                problems += self.misread(row, f"/releases/{index}/servers/{engine}", r["release"], where, binding)
                same = {k: v for k, v in row.items() if k != "replaced"} == r["matrix"]
                how = self.after_33(row["after_33"])
                if "replaced" in row:
                    overrides.setdefault(engine, matrix["engine_overrides"][engine])
                rows.append([f"Glance {r['release']} ({r['series']})", ENGINE_TITLES.get(engine, engine),
                             f"`{row['revision']}`: layout `{row['layout']}`, read as {row['format_version']}; "
                             f"{row['images']} images" + (f"; with {', '.join(row['replaced'])} (below)"
                                                          if "replaced" in row else ""),
                             how, "the same as on SQLite" if same else "differs from SQLite: see the file"])
        if not rows:
            return []
        out = [para(nodes.strong(text="On MariaDB and PostgreSQL. "), "The oldest release of each layout era runs "
                    "again on a database server of its own (tests/dbservers.py), its own db_sync, API server and "
                    "scenarios, the export, then Glance 33's db_sync over it and the export again, each cell held to "
                    "the binding and to the release's SQLite row:"),
               table(["Release", "Engine", "Its own db_sync leaves", "After Glance 33's db_sync", "Against SQLite"],
                     rows, [18, 10, 30, 28, 14])]
        for engine, rule in overrides.items():
            out.append(para(nodes.strong(text=f"Pins replaced on {ENGINE_TITLES.get(engine, engine)}: "),
                            ", ".join(rule["install"]), ". ",
                            rule["why"], "."))
        return out


class RollingUpgradeDirective(SpecDirective):
    """The rolling upgrade the tests run (tests/rolling.py): two releases serving one database, step by step, per
    engine, as measured: what ran, how the export read the database, the format versions that coexist, who served
    and what each server made of the images the other wrote."""

    def run(self):
        path = self.spec.root / MATRIX
        self.shown(path)
        pair = self.spec.load(path)["rolling"]
        if not pair.get("engines"):
            raise self.error(f"{MATRIX}: /rolling/engines: no steps recorded (python tests/rolling.py --write)")
        out = [para(f"Glance {pair['from']} to Glance {pair['to']}: {pair['why']}")]
        for engine, steps in pair["engines"].items():
            rows = []
            for s in steps:
                export = s["export"]
                read = (f"refused: {export['refused']}" if "refused" in export else
                        f"`{export['revision']}`: layout `{export['layout']}`, {export['images']} images, all at "
                        + ", ".join(export["versions"]))
                ran = s["ran"] + (f" (it refused: {s['refused']})" if s.get("refused") else "")
                reads = "; ".join(f"Glance {k} reads {v}" for k, v in s.get("reads", {}).items())
                rows.append([s["step"], ran, read, ", ".join(f"Glance {x}" for x in s["serving"]) or "none", reads])
            out.append(para(nodes.strong(text=f"On {engine}:")))
            out.append(table(["Step", "What ran", "What export-sql read", "Serving", "What each server reads"],
                             rows, [14, 24, 24, 12, 26]))
            out.append(para(self.summary(pair, steps)))
        return out

    @staticmethod
    def summary(pair: dict, steps: list[dict]) -> str:
        """What the steps show, in words, computed from them: the versions that coexist, what the old release
        makes of what the new one wrote, which writes were safe, and what a format upgrade has to do."""
        read = [s for s in steps if "versions" in s["export"]]
        versions = sorted({v for s in read for v in s["export"]["versions"]})
        both = [s for s in read if len(s["serving"]) == 2]
        writes = sorted({w for s in read for w in s.get("written", {})})
        refused = next((s["refused"] for s in steps if s.get("refused")), "see above")
        if not both:
            window = (f"No window: both releases never served together (the new release's `db expand` refused: "
                      f"{refused}); the old release was stopped before the new one "
                      "upgraded the database offline.")
        else:
            window = (f"During the window ({len(both)} steps with both serving) every image each release wrote was "
                      f"exported whole and each server read it as the export does: Glance {pair['from']} reads what "
                      f"Glance {pair['to']} wrote as its own, and the writes of both ({', '.join(writes)}) were safe.")
        if len(versions) == 1:
            upgrade = (f"Every record was at format {versions[0]} at every step: no format versions coexist, and "
                       "`imgspec upgrade-store` and first-use upgrades have nothing to do for this pair.")
        else:
            upgrade = (f"Records of formats {', '.join(versions)} coexist: run the format's upgrade once the "
                       "contract step is done and the old release stopped.")
        return f"{window} {upgrade}"


class DifferentialPlansDirective(SpecDirective):
    """The plans of API calls kept in ``examples/differential/``, each replayed against a real Glance by the tests."""

    def run(self):
        import json
        folder = self.spec.root / "examples" / "differential"
        plans = sorted(folder.glob("*.json"))
        if not plans:
            raise self.error("examples/differential: (root): no-examples: no kept plans")
        rows = []
        for path in plans:
            self.shown(path)
            plan = json.loads(path.read_text())
            images = []
            for image in plan["images"]:
                shown = {k: (v[:20] + f"... ({len(v)} characters)" if isinstance(v, str) and len(v) > 40 else v)
                         for k, v in image.items() if k != "expect"}
                if "members" in shown:
                    shown["members"] = [m[:20] + f"... ({len(m)} characters)" if len(m) > 40 else m
                                        for m in image["members"]]
                images.append(para(nodes.literal(text=json.dumps(shown, ensure_ascii=False))))
                for pointer, want in image.get("expect", {}).items():
                    images.append(para("the record holds ", nodes.literal(text=pointer), " = ",
                                       nodes.literal(text=json.dumps(want, ensure_ascii=False))))
            box = nodes.container()
            box.extend(images)
            rows.append([[nodes.reference("", "", nodes.literal(text=path.name),
                                          refuri=self.site_link(self.spec.rel(path)))], plan.get("description", ""), box])
        return [table(["Plan", "What it shows", "Images (the create request and after) and what the record holds"],
                      rows, [14, 40, 46])]


def setup(app) -> None:
    app.add_directive("imgspec-sql-binding", SqlBindingDirective)
    app.add_directive("imgspec-sql-overview", SqlOverviewDirective)
    app.add_directive("imgspec-differential-plans", DifferentialPlansDirective)
    app.add_directive("imgspec-glance-matrix", GlanceMatrixDirective)
    app.add_directive("imgspec-rolling-upgrade", RollingUpgradeDirective)
