"""Directives for the record format: schemas as field tables, examples, versions, mappings."""
from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import directives as rst

from .. import bundle, evidence, fields, registry
from .. import examples as ex
from ..problems import ProblemError
from . import schematable
from .base import SpecDirective, example_nodes
from .nodes_util import inline, para, table


class SchemaDirective(SpecDirective):
    """A schema file as a field table, with a download link and its $id."""

    required_arguments = 1
    option_spec = {"kind": rst.unchanged}

    def run(self):
        path = self.path(self.arguments[0])
        self.shown(path)
        rel = self.spec.rel(path)
        schema, problems = registry.check_schema_file(self.spec, path)
        if problems:
            self.fail([str(p) for p in problems])
        if schema is None:
            return []
        kind = path.stem
        out = [para(schema.get("description", "")),
               para("Schema: ", nodes.reference("", "", nodes.literal(text=path.name), refuri=self.site_link(rel)),
                    " (download), ", nodes.literal(text="$id"), ": ", nodes.literal(text=schema.get("$id", "")))]
        bundled = next((b for b, source in bundle.targets(self.spec).items() if source == path), None)
        if bundled:  # a page that shows a schema depends on its bundle too, present yet or not
            self.env.note_dependency(str((self.spec.root / bundled).resolve()))
        if bundled and (self.spec.root / bundled).is_file():
            self.shown(self.spec.root / bundled)
            drift = [str(p) for p in bundle.stale_one(self.spec, bundled, path)]
            if drift:
                self.fail(drift)
            out.append(para("Self-contained: ", nodes.reference("", "", nodes.literal(text=bundled),
                                                                refuri=self.site_link(bundled)),
                            " (every schema it references embedded, each under its own $id: for validators that "
                            "do not preload files, offline)"))
        api = {}
        if kind == "image":
            try:
                api = {a["record"]: a for a in self.spec.mapping("image-api")["attributes"] if a["record"]}
                self.shown(self.spec.schemas / "mappings" / "image-api.json")
            except ProblemError as exc:
                self.fail([str(p) for p in exc.problems])
        rows = []
        version = path.parent.name if path.parent.parent.name == "record" else None
        if version:
            self.shown(self.spec.root / evidence.FILE)
        for name, node, required in fields.rows(schema):
            top = name.split(".")[0]
            since = self.spec.since(kind, top) if name != "(value)" else None
            api_attr = api.get(name, {}).get("api") or ("—" if kind == "image" and "." not in name else "")
            label = nodes.inline("", "", nodes.literal(text=name), ids=[fields.anchor(kind, name)])
            rows.append([[label], schematable.type_text(node), "yes" if required else "no",
                         schematable.limits_text(node), schematable.default_text(node), since or "",
                         f"`{api_attr}`" if api_attr not in ("", "—") else api_attr,
                         _meaning(self.spec, kind, name, version, node)])
        headers = ["Field", "Type", "Required", "Limits", "Default", "Since", "API attribute", "Meaning"]
        widths = [14, 12, 6, 18, 6, 5, 10, 29]
        if kind != "image":
            headers, widths = headers[:6] + headers[7:], widths[:6] + widths[7:]
            rows = [r[:6] + r[7:] for r in rows]
        out.append(table(headers, rows, widths, classes=["imgspec-fields"]))
        return out


def _meaning(spec, kind: str, name: str, version: str | None, node: dict):
    """A field's description, then what in Glance enforces each of its constraints (the evidence file)."""
    if version is None:
        return node.get("description", "")
    box = nodes.container()
    box += para(node.get("description", ""))
    for entry in evidence.for_field(spec, kind, name, version):
        box += para(nodes.emphasis(text="Glance enforces "), evidence.text(entry))
    return box


class ExampleDirective(SpecDirective):
    """One example file, shown exactly as stored and validated against its schema."""

    required_arguments = 1

    def run(self):
        example = self.example()
        if not example.valid:
            self.shown(example.expect_path)
        return example_nodes(self, example, ex.verdict(example, self.spec))


class ExamplesDirective(SpecDirective):
    """Every example below a folder: valid ones first, then invalid ones with their expected error."""

    required_arguments = 1

    def run(self):
        folder = self.path(self.arguments[0]).resolve()
        found = [e for e in ex.record_examples(self.spec) if folder in e.path.resolve().parents]
        if not found:
            raise self.error(f"{self.arguments[0]}: (root): no-examples: no example files below this folder")
        out = []
        for valid in (True, False):
            group = [e for e in found if e.valid == valid]
            if not group:
                continue
            out.append(nodes.rubric(text=("Valid" if valid else "Invalid") + f" {group[0].kind} examples"))
            for e in group:
                self.shown(e.path)
                out += example_nodes(self, e, ex.verdict(e, self.spec))
        return out


class FieldMatrixDirective(SpecDirective):
    """Iceberg-style: one row per field of an object, one column per format version."""

    required_arguments = 1

    def run(self):
        kind = self.arguments[0]
        versions = self.spec.versions
        fields: list[str] = []
        per_version: dict[str, dict | None] = {}
        for v in versions:
            try:
                schema = self.spec.schema(kind, v)
            except ProblemError:
                per_version[v] = None
                continue
            self.shown(self.spec.schema_path(kind, v))
            per_version[v] = schema
            for name in schema.get("properties", {}):
                if name not in fields:
                    fields.append(name)
        rows = []
        for name in fields:
            row: list = [[nodes.literal(text=name)]]
            for v in versions:
                found = per_version[v]
                if not found or name not in found.get("properties", {}):
                    row.append("")
                else:
                    row.append("required" if name in found.get("required", []) else "optional")
            rows.append(row)
        return [table(["Field", *versions], rows, [20] + [8] * len(versions), classes=["imgspec-matrix"])]


class VersionsDirective(SpecDirective):
    """The format versions, newest last, each linking to its page."""

    def run(self):
        rel = self.spec.schemas / "releases.json"
        self.shown(rel)
        rows = []
        for r in self.spec.releases:
            link = nodes.reference("", "", nodes.Text(r.version), internal=True,
                                   refuri=self.site_link(f"format/{r.version}.html"))
            rows.append([[link], r.status, r.title, r.glance, r.summary])
        return [table(["Version", "Status", "Title", "Glance era", "What changed"], rows, [6, 7, 14, 18, 40])]


class MappingDirective(SpecDirective):
    """A mapping file from ``schemas/mappings/`` as a table."""

    required_arguments = 1

    def run(self):
        name = self.arguments[0]
        path = self.path(f"schemas/mappings/{name}.json")
        self.shown(path)
        data = self.spec.mapping(name)
        rows = [[f"`{a['record']}`" if a["record"] else "—", f"`{a['api']}`" if a["api"] else "—",
                 f"`{a['v1']}`" if a.get("v1") else "—", a["access"], a["rule"]] for a in data["attributes"]]
        return [para(data.get("$comment", "")),
                table(["Record field", "API v2 attribute", "API v1 header", "Access", "Rule"], rows, [14, 14, 18, 9, 40])]


class ReleaseDirective(SpecDirective):
    """One version's status, Glance era and summary, from ``schemas/releases.json``."""

    required_arguments = 1

    def run(self):
        self.shown(self.spec.schemas / "releases.json")
        try:
            r = self.spec.release(self.arguments[0])
        except ProblemError as exc:
            raise self.error(str(exc)) from None
        note = ("This version is released and frozen: its schema files never change."
                if r.status == "released" else
                "This version is a draft: it may still change and must not be written by production services.")
        admon = nodes.admonition(classes=["note" if r.status == "released" else "warning"])
        admon += nodes.title(text=f"Format {r.version}: {r.status}")
        admon += para(f"{r.title}. {r.summary}")
        admon += para(f"Glance era: {r.glance}. {note}")
        nav = nodes.paragraph(classes=["imgspec-version-nav"])
        nav += nodes.Text("All versions: ")
        for i, other in enumerate(reversed(self.spec.releases)):
            if i:
                nav += nodes.Text(" · ")
            label = other.version + (" (draft)" if other.status == "draft" else "")
            if other.version == r.version:
                nav += nodes.strong(text=label)
            else:
                nav += nodes.reference("", "", nodes.Text(label), internal=True,
                                       refuri=self.site_link(f"format/{other.version}.html"))
        return [admon, nav, *errata_nodes(self, r.version)]


def errata_nodes(directive: SpecDirective, version: str) -> list[nodes.Node]:
    """The errata of a released version: what each widened, why, the Glance evidence and the files it locks."""
    from .. import errata
    found = [x for _, x in errata.errata(directive.spec, version)]
    if not found:
        return []
    rows = [[f"`{x['id']}`", x["date"], x["what"], x["why"], ", ".join(f"`{e}`" for e in x["evidence"]),
             ", ".join(f"`{f}`" for f in x["files"])] for x in found]
    return [para(f"Errata to {version}: corrections that only widen what readers accept (every record valid before "
                 "stays valid), recorded in `schemas/releases.json` with the new content hashes and classified by "
                 "`imgspec diff --errata`:"),
            table(["Erratum", "Date", "What", "Why", "Glance evidence", "Files"], rows, [7, 7, 24, 30, 16, 16])]


class FieldIndexDirective(SpecDirective):
    """``imgspec-field-index``: every field of every record kind, with its whole story on one page."""

    def run(self):
        spec = self.spec
        try:
            kinds = fields.index(spec)
        except ProblemError as exc:
            self.fail([str(p) for p in exc.problems])
            return []
        self.shown(spec.schemas / "bindings" / "glance-sql.json")
        self.shown(spec.root / evidence.FILE)
        out = []
        for kind, found in kinds.items():
            section = nodes.section(ids=[f"fields-{kind}"])
            section += nodes.title(text=f"{kind.capitalize()} fields")
            rows = []
            for f in found:
                defined = []
                for v, node in f.versions.items():
                    ref = nodes.reference("", "", nodes.Text(v), internal=True,
                                          refuri=self.site_link(f"format/{v}.html") + "#" + fields.anchor(kind, f.name))
                    words = schematable.type_text(node) + ("" if f.required[v] else ", optional")
                    defined.append(para(ref, ": ", *inline(words)))
                rules = []
                for source, target, number, op in f.rules:
                    rules.append(para(nodes.reference("", "", nodes.Text(f"{source} → {target} rule {number}"),
                                                      internal=True,
                                                      refuri=self.site_link(f"format/upgrades/{source}-{target}.html")),
                                      f" ({op})"))
                columns = _grouped(f.columns)
                shown = [para(f"{v}: " + ", ".join(f"`{s}`" for s in slugs[:3])
                              + (f" and {len(slugs) - 3} more" if len(slugs) > 3 else ""))
                         for v, slugs in f.examples.items()]
                enforced: dict[str, list[str]] = {}
                for v in f.versions:
                    said = "; ".join(evidence.text(e) for e in evidence.for_field(spec, kind, f.name, v))
                    if said:
                        enforced.setdefault(said, []).append(v)
                rows.append([[nodes.literal(text=f.name)], _cell(defined), _cell(rules) or "—",
                             _cell([para(text) for text in columns]) or "—",
                             _cell([para(f"{', '.join(vs)}: ", said) for said, vs in enforced.items()]) or "—",
                             _cell(shown) or "—"])
            section += table(["Field", "Defined in (version: type)", "Upgrade rules", "SQL column", "Glance enforces",
                              "Valid examples"], rows, [11, 18, 13, 14, 28, 16], classes=["imgspec-field-index"])
            out.append(section)
        return out


def _cell(paragraphs: list) -> nodes.container | None:
    if not paragraphs:
        return None
    box = nodes.container()
    box.extend(paragraphs)
    return box


def _grouped(per_version: dict[str, str]) -> list[str]:
    """``{"2.0": "images.name", "2.1": "images.name"}`` as ``["2.0, 2.1: `images.name`"]``."""
    groups: dict[str, list[str]] = {}
    for version, where in per_version.items():
        groups.setdefault(where, []).append(version)
    return [f"{', '.join(vs)}: `{where}`" for where, vs in groups.items()]


class ProfileDirective(SpecDirective):
    """``imgspec-profile NAME``: a deployment profile's quota settings and the schema layer they mean."""

    required_arguments = 1

    def run(self):
        import json

        from .. import profiles
        try:
            profile = profiles.load(self.spec, self.arguments[0])
        except ProblemError as exc:
            raise self.error(str(exc)) from None
        path = self.spec.schemas / "profiles" / f"{self.arguments[0]}.json"
        self.shown(path)
        rows = [[f"`{setting}`", str(quota) if quota >= 0 else "unlimited", f"`/{profiles.QUOTAS[setting][0]}`",
                 "entries that are not deleted" if profiles.QUOTAS[setting][1] == "live" else "every entry"]
                for setting, quota in profile["quotas"].items()]
        layer = json.dumps(profiles.layer(profile), indent=2)
        return [para(profile["$comment"]),
                para("Profile file: ", nodes.reference("", "", nodes.literal(text=path.name),
                                                       refuri=self.site_link(self.spec.rel(path))),
                     f" (from `{profile['source']}`)."),
                table(["Setting", "Value", "Limits", "Counting"], rows, [18, 8, 10, 20]),
                para("The schema layer it means, checked on top of an image record's own schema:"),
                nodes.literal_block(layer, layer, language="json")]


def setup(app) -> None:
    for name, directive in DIRECTIVES.items():
        app.add_directive(name, directive)


DIRECTIVES = {
    "imgspec-release": ReleaseDirective,
    "imgspec-schema": SchemaDirective,
    "imgspec-example": ExampleDirective,
    "imgspec-examples": ExamplesDirective,
    "imgspec-field-matrix": FieldMatrixDirective,
    "imgspec-versions": VersionsDirective,
    "imgspec-mapping": MappingDirective,
    "imgspec-field-index": FieldIndexDirective,
    "imgspec-profile": ProfileDirective,
}
