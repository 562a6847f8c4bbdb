"""The relational binding: record fields on Glance's SQL layouts, read from ``schemas/bindings/glance-sql.json``.

A *layout* is the set of tables and columns a Glance database has at some migration
revisions; a layout may be given as another layout plus changes (columns added,
dropped, made NOT NULL), the way the migrations made it.  A *binding* says, for one
format version, which layout holds it and which column (or which child rows) gives
each record field.  Two versions may share a layout: the later one is then read
``via`` the earlier one and its upgrade rules.

Nothing here knows a column by name: every name comes from the data file.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from imgspec import pointer
from imgspec.messages import problem
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec
from imgspec.upgrade.operations import operation
from imgspec.upgrade.rules import load_steps

FILE = "schemas/bindings/glance-sql.json"
META = "schemas/bindings/binding.schema.json"


@dataclass
class Column:
    name: str
    type: str
    null: bool = True
    default: str | None = None
    primary_key: bool = False
    references: str | None = None
    note: str | None = None

    def ddl(self) -> str:
        out = f"{self.name} {self.type}"
        if self.default is not None:
            out += f" DEFAULT {self.default}"
        if not self.null:
            out += " NOT NULL"
        return out


@dataclass
class Table:
    name: str
    columns: list[Column]
    unique: list[list[str]] = field(default_factory=list)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def ddl(self) -> str:
        lines = [c.ddl() for c in self.columns]
        keys = [c.name for c in self.columns if c.primary_key]
        if keys:
            lines.append(f"PRIMARY KEY ({', '.join(keys)})")
        lines += [f"UNIQUE ({', '.join(u)})" for u in self.unique]
        lines += [f"FOREIGN KEY ({c.name}) REFERENCES {c.references.split('.')[0]} ({c.references.split('.')[1]})"
                  for c in self.columns if c.references]
        return f"CREATE TABLE {self.name} (\n    " + ",\n    ".join(lines) + "\n);"


@dataclass
class Layout:
    name: str
    title: str
    era: str
    revision: dict
    source: str
    tables: dict[str, Table]
    revision_table: Table

    def ddl(self) -> str:
        """CREATE TABLE statements of the layout, the revision table last."""
        return "\n\n".join(t.ddl() for t in [*self.tables.values(), self.revision_table]) + "\n"

    def columns(self) -> list[str]:
        return [f"{t.name}.{c.name}" for t in self.tables.values() for c in t.columns]


def _column(d: dict) -> Column:
    return Column(d["name"], d["type"], d.get("null", True), d.get("default"), d.get("primary_key", False),
                  d.get("references"), d.get("note"))


class Binding:
    """The data file, resolved: layouts with their full tables, bindings per version."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.data = self.spec.load(FILE)
        self._check_shape()
        self.layouts: dict[str, Layout] = {}
        for d in self.data["layouts"]:
            self.layouts[d["name"]] = self._resolve(d)
        self.bindings: dict[str, dict] = {}  # version -> its primary binding (the first listed)
        for b in self.data["bindings"]:
            self.bindings.setdefault(b["version"], b)
        self.by_layout = {b["layout"]: b for b in self.data["bindings"] if "via" not in b}

    def _check_shape(self) -> None:
        from jsonschema import Draft202012Validator

        meta = self.spec.load(META)
        problems = [problem(e, FILE)
                    for e in Draft202012Validator(meta).iter_errors(self.data)]
        if problems:
            raise ProblemError(problems)

    def _resolve(self, d: dict) -> Layout:
        where = f"/layouts/{[x['name'] for x in self.data['layouts']].index(d['name'])}"
        if "base" in d:
            if d["base"] not in self.layouts:
                raise ProblemError(Problem(FILE, f"{where}/base", "unknown-layout",
                                           f"base layout {d['base']!r} is not defined before {d['name']!r}"))
            base = self.layouts[d["base"]]
            tables = {n: Table(n, [dataclasses.replace(c) for c in t.columns], [list(u) for u in t.unique])
                      for n, t in base.tables.items()}
        else:
            tables = {}
        for t in d.get("tables", []):
            tables[t["name"]] = Table(t["name"], [_column(c) for c in t["columns"]], t.get("unique", []))
        for i, ref in enumerate(d.get("drop", [])):
            table, col = ref.split(".", 1)
            if table not in tables or not tables[table].column(col):
                raise ProblemError(Problem(FILE, f"{where}/drop/{i}", "unknown-column", f"{ref} is not in {d['base']}"))
            tables[table].columns = [c for c in tables[table].columns if c.name != col]
        for i, change in enumerate(d.get("add", [])):
            if "name" in change:  # a whole table
                tables[change["name"]] = Table(change["name"], [_column(c) for c in change["columns"]],
                                               change.get("unique", []))
            else:
                if change["table"] not in tables:
                    raise ProblemError(Problem(FILE, f"{where}/add/{i}/table", "unknown-table",
                                               f"{change['table']} is not in {d.get('base')}"))
                tables[change["table"]].columns += [_column(c) for c in change["columns"]]
        for table, unique in d.get("unique", {}).items():
            tables[table].unique = unique
        for i, ref in enumerate(d.get("not_null", [])):
            table, col = ref.split(".", 1)
            column = tables[table].column(col) if table in tables else None
            if column is None:
                raise ProblemError(Problem(FILE, f"{where}/not_null/{i}", "unknown-column",
                                           f"{ref} is not a column of layout {d['name']}"))
            column.null = False
        revision = next(t for t in self.data["revision_tables"] if t["name"] == d["revision"]["table"])
        return Layout(d["name"], d["title"], d["era"], d["revision"], d["source"], tables,
                      Table(revision["name"], [_column(c) for c in revision["columns"]]))

    # -- per version ----------------------------------------------------------
    def binding(self, version: str) -> dict:
        self.spec.release(version)
        if version not in self.bindings:
            raise ProblemError(Problem(FILE, "/bindings", "unbound-version", f"no binding for format {version}"))
        return self.bindings[version]

    def native(self, version: str) -> str:
        """The version whose fields are read from the columns (follows ``via``)."""
        b = self.binding(version)
        while "via" in b:
            b = self.binding(b["via"])
        return b["version"]

    def layout_of(self, version: str) -> Layout:
        return self.layouts[self.binding(version)["layout"]]

    def native_for_layout(self, layout: str) -> str:
        return self.by_layout[layout]["version"]

    def older_layouts(self, version: str) -> list[str]:
        """Layouts of earlier revisions that are also read as ``version`` (besides its primary layout)."""
        primary = self.binding(version)["layout"]
        return [b["layout"] for b in self.data["bindings"]
                if b["version"] == version and "via" not in b and b["layout"] != primary]

    def fields(self, obj: str, version: str, layout: str | None = None) -> list[dict]:
        """The field bindings of ``obj`` (image, location, member) at a native ``version`` and ``layout``.

        An entry naming ``layouts`` replaces, at those layouts, the general entry of the same field.
        """
        layout = layout or self.binding(version)["layout"]
        return self.spec.once(("binding-fields", obj, version, layout), lambda: self._fields(obj, version, layout))

    def _fields(self, obj: str, version: str, layout: str) -> list[dict]:
        here = [f for f in self.data["objects"][obj]["fields"] if version in f.get("versions", [version])]
        special = {f["field"] for f in here if layout in f.get("layouts", [])}
        return [f for f in here if (layout in f["layouts"] if "layouts" in f else f["field"] not in special)]

    def objects(self, version: str, layout: str | None = None) -> list[str]:
        """The image and the objects its rows are read as, at a native ``version`` and ``layout``."""
        return ["image"] + [f["rows"]["object"] for f in self.fields("image", version, layout) if "object" in f.get("rows", {})]

    def rule(self, ref: str) -> tuple[str, dict]:
        """(the version the step leads to, the rule) that ``ref`` (``1.0-2.0#/rules/4``) names."""
        name, _, at = ref.partition("#")
        source = name.split("-")[0]
        step = load_steps(self.spec).get(source)
        if step is None or f"{step.source}-{step.target}" != name:
            raise ProblemError(Problem(FILE, "/objects", "unknown-rule", f"{ref}: there is no step {name}"))
        rule = pointer.get(step.data, pointer.parse(at), None)
        if not isinstance(rule, dict) or "op" not in rule:
            raise ProblemError(Problem(FILE, "/objects", "unknown-rule", f"{ref}: step {name} has no rule at {at}"))
        return step.target, rule

    def window(self, heads: list[str]) -> dict | None:
        """The rolling-upgrade window whose two alembic heads these are, if the file names it."""
        return next((w for w in self.data.get("windows", []) if sorted(w["heads"]) == sorted(heads)), None)

    def refusal(self, table: str, value: str) -> dict | None:
        """The ``refused`` entry for a revision no layout binds, if the file names it."""
        return next((r for r in self.data.get("refused", []) if r["table"] == table and value in r["values"]), None)

    def image_order(self) -> list[str]:
        """The columns images are read in the order of (an export's batches follow it)."""
        return self.data["objects"]["image"].get("order", ["id"])

    def deleted_counts(self) -> list[str]:
        """The names under which an export counts the deleted rows of live child tables, which it leaves out."""
        return [f["rows"]["deleted_count"] for f in self.data["objects"]["image"]["fields"]
                if f.get("rows", {}).get("include") == "live"]

    def revision_tables(self) -> set[str]:
        """The tables that record a database's migration revision (not image data)."""
        return {t["name"] for t in self.data["revision_tables"]}

    def table_of(self, obj: str) -> str:
        return self.data["objects"][obj]["table"]

    def unbound(self, version: str, layout: str | None = None) -> dict[str, str]:
        """Columns of the layout (default: the version's own) that give no record field, each with why."""
        native = self.native(version)
        layout = layout or self.binding(native)["layout"]
        bound = self.bound_columns(native, layout)
        why = dict(self.data["unbound"], **self.by_layout[layout].get("unbound", {}))
        return {c: why.get(c, "") for c in self.layouts[layout].columns() if c not in bound}

    def bound_columns(self, version: str, layout: str | None = None) -> set[str]:
        out = set()
        for obj in self.objects(version, layout):
            d = self.data["objects"][obj]
            for f in self.fields(obj, version, layout):
                if "column" in f:
                    out.add(f"{d['table']}.{f['column']}")
                if "rows" in f:
                    r = f["rows"]
                    out |= {f"{r['table']}.{r[k]}" for k in ("key", "value") if k in r}
        return out

    # -- the checks the tests and the doc build run ---------------------------
    def problems(self) -> list[Problem]:
        out = []
        for version in self.spec.versions:
            if version not in self.bindings:
                out.append(Problem(FILE, "/bindings", "unbound-version", f"format {version} has no binding"))
        for i, b in enumerate(self.data["bindings"]):
            where = f"/bindings/{i}"
            if b["layout"] not in self.layouts:
                out.append(Problem(FILE, f"{where}/layout", "unknown-layout", f"no layout {b['layout']!r}"))
                continue
            if "via" in b:
                via = self.bindings.get(b["via"])
                if not via or via["layout"] != b["layout"]:
                    out.append(Problem(FILE, f"{where}/via", "via", f"{b['version']} is read via {b['via']}, "
                                       "which must be bound to the same layout"))
                continue
            out += self._coverage(b["version"], self.layouts[b["layout"]], where)
        for i, w in enumerate(self.data.get("windows", [])):
            if w["layout"] not in self.layouts:
                out.append(Problem(FILE, f"/windows/{i}/layout", "unknown-layout", f"no layout {w['layout']!r}"))
        for obj, d in self.data["objects"].items():
            for i, f in enumerate(d["fields"]):
                out += self._rules_problems(obj, f, f"/objects/{obj}/fields/{i}")
        return out

    def _rules_problems(self, obj: str, f: dict, where: str) -> list[Problem]:
        """A field derived by rules: each rule exists, leads to the version bound and sets the field."""
        out = []
        prefix = "" if obj == "image" else next(
            f"/{g['field']}/*" for g in self.data["objects"]["image"]["fields"] if g.get("rows", {}).get("object") == obj)
        for j, ref in enumerate(f.get("rules", [])):
            try:
                target, rule = self.rule(ref)
            except ProblemError as exc:
                out += [dataclasses.replace(p, pointer=f"{where}/rules/{j}") for p in exc.problems]
                continue
            if f.get("versions") != [target]:
                out.append(Problem(FILE, f"{where}/rules/{j}", "rule-version",
                                   f"{ref} leads to {target}, but the entry binds {f.get('versions')}"))
            if j == 0 and f"{prefix}/{f['field']}" not in operation(rule).paths(rule):
                out.append(Problem(FILE, f"{where}/rules/{j}", "rule-field",
                                   f"{ref} does not set {prefix}/{f['field']}"))
        for j, name in enumerate(f.get("layouts", [])):
            if name not in self.layouts:
                out.append(Problem(FILE, f"{where}/layouts/{j}", "unknown-layout", f"no layout {name!r}"))
        return out

    def _coverage(self, version: str, layout: Layout, where: str) -> list[Problem]:
        out = []
        for obj in self.objects(version, layout.name):
            d = self.data["objects"][obj]
            schema_fields = set(self.spec.schema(obj, version).get("properties", {}))
            bound = [f["field"] for f in self.fields(obj, version, layout.name)]
            table = layout.tables.get(d["table"])
            for name in sorted(schema_fields - set(bound)):
                out.append(Problem(FILE, f"/objects/{obj}/fields", "unbound-field",
                                   f"{version} {obj} field {name!r} has no binding"))
            for name in sorted(set(bound) - schema_fields):
                out.append(Problem(FILE, f"/objects/{obj}/fields", "unknown-field",
                                   f"{version} {obj} has no field {name!r}"))
            for name in {n for n in bound if bound.count(n) > 1}:
                out.append(Problem(FILE, f"/objects/{obj}/fields", "bound-twice",
                                   f"{version} {obj} field {name!r} is bound twice"))
            for f in self.fields(obj, version, layout.name):
                if "column" in f and (table is None or not table.column(f["column"])):
                    out.append(Problem(FILE, f"/objects/{obj}/fields", "unknown-column",
                                       f"{version} binds {obj}.{f['field']} to {d['table']}.{f['column']}, "
                                       f"which layout {layout.name} lacks"))
                if "rows" in f and f["rows"]["table"] not in layout.tables:
                    out.append(Problem(FILE, f"/objects/{obj}/fields", "unknown-table",
                                       f"{version} binds {obj}.{f['field']} to table {f['rows']['table']}, "
                                       f"which layout {layout.name} lacks"))
        for column, why in self.unbound(version, layout.name).items():
            if not why:
                out.append(Problem(FILE, where, "unexplained-column",
                                   f"{column} of layout {layout.name} gives no {version} field and no reason is given"))
        return out


def load(spec: Spec) -> Binding:
    """The binding of ``spec`` (read once per spec tree)."""
    return spec.once(("binding",), lambda: Binding(spec))
