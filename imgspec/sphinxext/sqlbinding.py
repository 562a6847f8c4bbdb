"""Directives that render the relational binding from ``schemas/bindings/glance-sql.json``.

``imgspec-sql-binding VERSION``  where each field of that version's record is in the SQL layout
``imgspec-sql-overview``         the conventions and the layouts with their revisions
"""
from __future__ import annotations

from docutils import nodes

from ..problems import ProblemError
from ..sqlbinding import FILE, META, Binding
from ..text import code
from .base import SpecDirective
from .nodes_util import para, table


def reading(f: dict, table_name: str, version: str) -> tuple[str, str]:
    """(where, how it is read) of one field binding, in words."""
    if "computed" in f:
        return "(not stored)", f"always `{version}`"
    if "column" in f:
        how = []
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
            binding = Binding(self.spec)
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
        for obj in binding.objects(version):
            tname = binding.table_of(obj)
            rows = []
            for f in binding.fields(obj, version):
                where, how = reading(f, tname, version)
                rows.append([f"`{f['field']}`", where, how, f.get("note", "")])
            if obj == "image":
                out.append(para(nodes.strong(text="The image record"), " (one row of ", nodes.literal(text=tname), "):"))
            else:
                out.append(para(nodes.strong(text=f"Each {obj}"), " (one row of ", nodes.literal(text=tname), "):"))
            out.append(table(["Record field", "Column", "How it is read", "Notes"], rows, [13, 26, 25, 36],
                             classes=["imgspec-sql"]))
        unbound = binding.unbound(version)
        out.append(para(nodes.strong(text="Columns that give no record field:")))
        out.append(table(["Column", "Why"], [[f"`{c}`", why] for c, why in unbound.items()], [22, 60],
                         classes=["imgspec-sql"]))
        out.append(para(f"The tables of layout `{layout.name}`, as CREATE TABLE statements generated from the "
                        "binding file (the tests build databases from exactly this text):"))
        out.append(self.ddl(layout))
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
        return out


def setup(app) -> None:
    app.add_directive("imgspec-sql-binding", SqlBindingDirective)
    app.add_directive("imgspec-sql-overview", SqlOverviewDirective)
