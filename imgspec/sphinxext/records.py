"""Directives for the record format: schemas as field tables, examples, versions, mappings."""
from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import directives as rst

from imgspec.api import fields as apifields
from imgspec.format import bundle, contract, evidence, placement, profiles, registry
from imgspec.format import examples as ex
from imgspec.problems import ProblemError
from imgspec.release import errata
from imgspec.sphinxext import fieldindex as fields
from imgspec.sphinxext import schematable
from imgspec.sphinxext.api import field_row
from imgspec.sphinxext.base import SpecDirective, example_nodes
from imgspec.sphinxext.nodes_util import folded, glance_ref, inline, para, table


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
        version = path.parent.name if path.parent.parent.name == "record" else None
        if version:
            self.shown(self.spec.root / evidence.FILE)
        elif rel.startswith("schemas/service/"):  # a served schema: its fields as the API pages show a body's
            body = apifields.schema_fields(self.spec, rel)
            rows = [field_row(f, schema.get("x-since"), with_in=False) for f in body.fields]
            out.append(table(["Name", "Type", "Description"], rows, widths=[26, 18, 56],
                             classes=["imgspec-api-fields"]))
            return out
        rows = []
        for name, node, required in fields.rows(schema):
            top = name.split(".")[0]
            since = self.spec.since(kind, top) if name != "(value)" else None
            since = f", since {since}" if since else ""
            label = nodes.container()
            label += para(nodes.inline("", "", nodes.literal(text=name), ids=[fields.anchor(kind, name)]))
            label += para(nodes.emphasis(text=("required" if required else "optional") + since))
            kind_cell = nodes.container()
            kind_cell += para(schematable.type_text(node))
            for limit in schematable.limits(node):
                kind_cell += para(limit)
            rows.append([label, kind_cell, self._description(kind, name, version, node, api.get(name, {}).get("api"))])
        out.append(table(["Field", "Type and limits", "Description"], rows, [20, 24, 56], classes=["imgspec-fields"]))
        return out

    def _description(self, kind: str, name: str, version: str | None, node: dict, api_attr: str | None):
        """A field's description; its default, API attribute and pattern; what in Glance enforces it, folded."""
        box = nodes.container()
        box += para(node.get("description", ""))
        said = []
        if "default" in node:
            said.append(f"Default {schematable.default_text(node)}.")
        if api_attr:
            said.append(f"API attribute `{api_attr}`.")
        if said:
            box += para(" ".join(said))
        found = schematable.pattern(node)
        if found:
            box += para("Pattern: ", nodes.literal(text=found, classes=["imgspec-pattern"]))
        entries = evidence.for_field(self.spec, kind, name, version) if version else []
        if entries:
            kinds = []
            for entry in entries:
                kinds += [by["by"] for by in entry["enforced_by"] if by["by"] not in kinds]
            box += folded(f"Glance enforces this ({', '.join(kinds)})",
                          *[self._evidence(entry) for entry in entries], classes=["imgspec-evidence"])
        return box

    def _evidence(self, entry: dict) -> nodes.paragraph:
        out = para(nodes.strong(text=", ".join(entry["keywords"])), ": ")
        for i, by in enumerate(entry["enforced_by"]):
            if i:
                out += nodes.Text("; ")
            out.extend(inline(f"{by['by']}: {by['what']}"))
            if "glance" in by:
                out += nodes.Text(" (")
                out += glance_ref(self.config, by["glance"], by["glance"].rsplit("/", 1)[-1])
                out += nodes.Text(")")
            if "era" in by:
                out += nodes.Text(f" [{by['era']}]")
        return out


class ExampleDirective(SpecDirective):
    """One example file, shown exactly as stored and validated against its schema."""

    required_arguments = 1

    def run(self):
        example = self.example()
        if not example.valid:
            self.shown(example.expect_path)
        return example_nodes(self, example, ex.verdict(self.spec, example))


def examples_below(directive: SpecDirective) -> list:
    """The record examples below the folder the directive's argument names (an error when there are none)."""
    folder = directive.path(directive.arguments[0]).resolve()
    found = [e for e in ex.record_examples(directive.spec) if folder in e.path.resolve().parents]
    if not found:
        raise directive.error(f"{directive.arguments[0]}: (root): no-examples: no example files below this folder")
    return found


def grouped_examples(directive: SpecDirective, found: list) -> list[nodes.Node]:
    """Examples shown valid first, then invalid (each with its expectation), under a rubric each."""
    out: list[nodes.Node] = []
    for valid in (True, False):
        group = [e for e in found if e.valid == valid]
        if group:
            out.append(nodes.rubric(text=("Valid" if valid else "Invalid") + f" {group[0].kind} examples"))
        for e in group:
            directive.shown(e.path)
            if not e.valid:
                directive.shown(e.expect_path)
            out += example_nodes(directive, e, ex.verdict(directive.spec, e))
    return out


EXAMPLE_HEADINGS = {"image": "Image records", "location": "Locations", "member": "Members", "tag": "Tags",
                    "store": "Store manifests", "placement": "Placement policies"}


class ExamplesPageDirective(SpecDirective):
    """``imgspec-examples-page VERSION``: a section per object with every example of the version."""

    required_arguments = 1

    def run(self):
        version = self.arguments[0]
        found = [e for e in ex.record_examples(self.spec) if e.version == version]
        if not found:
            raise self.error(f"examples/record/{version}: (root): no-examples: no example files for this version")
        out = []
        for kind in self.spec.kinds(version):
            group = [e for e in found if e.kind == kind]
            if not group:
                continue
            section = nodes.section(ids=[f"{kind}-examples"])
            section += nodes.title(text=EXAMPLE_HEADINGS.get(kind, kind))
            section += grouped_examples(self, group)
            out.append(section)
        return out


class ExamplesLinkDirective(SpecDirective):
    """``imgspec-examples-link DIR``: on a version page, how many examples an object has and where they are shown
    (the version's examples page), so that the page holds the specification and the examples sit one click away."""

    required_arguments = 1

    def run(self):
        found = examples_below(self)
        version, kind = found[0].version, found[0].kind
        valid = sum(e.valid for e in found)
        link = nodes.reference("", "", nodes.Text("the examples page"), internal=True,
                               refuri=self.site_link(f"format/examples/{version}.html") + f"#{kind}-examples")
        return [para(f"Examples: {valid} valid and {len(found) - valid} invalid {kind} records, each validated by the "
                     "build (an invalid one with the pointer and rule it breaks), are on ", link, ".")]


class BeyondJsonSchemaDirective(SpecDirective):
    """``imgspec-beyond-json-schema``: the rules a JSON Schema validator alone does not check, each with what it
    refuses, who refuses it, and the invalid examples (from :func:`imgspec.format.examples.beyond_json_schema`)
    that every other validator accepts (tests/test_cross_validators.py holds them to it)."""

    def run(self):
        refusals = contract.refusals(self.spec)
        by_rule: dict[str, list] = {}
        for example, exp in ex.beyond_json_schema(self.spec):
            by_rule.setdefault(exp["rule"], []).append(example)
        rows = []
        for rule, found in by_rule.items():
            if rule in refusals:
                when, who = refusals[rule]["when"], "the reader, before any schema applies (strict parsing)"
            elif rule in placement.RULES:
                when, who = placement.RULES[rule], f"the semantic checks of the {found[0].kind} kind"
            else:
                raise self.error(f"{self.spec.rel(found[0].expect_path)}: /rule: unknown-rule: {rule!r} is no JSON "
                                 "Schema keyword, no rule of the reader contract and no placement rule")
            links: list[nodes.Node] = []
            for e in found:
                if links:
                    links.append(nodes.Text(", "))
                links.append(nodes.reference("", "", nodes.literal(text=f"{e.version}/{e.kind}/{e.path.name}"),
                                             internal=True, refuri=self.site_link(f"format/examples/{e.version}.html")
                                             + f"#{e.kind}-examples"))
            rows.append([f"`{rule}`", when, who, [nodes.paragraph("", "", *links)]])
        total = sum(map(len, by_rule.values()))
        return [para(f"{total} invalid examples break a rule that no JSON Schema keyword states: a JSON Schema "
                     "validator given the schema alone (python-jsonschema, jsonschema-rs, check-jsonschema, ajv) "
                     "accepts each of them, and the test suite holds all four to accepting them."),
                table(["Rule", "Refused when", "Who refuses it", "Examples"], rows, [12, 30, 16, 24])]


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
        found = [x for _, x in errata.errata(self.spec, r.version)]
        if r.status == "released":
            note = (f"Released and frozen: what every valid {r.version} record means never changes. Its files change only "
                    "through errata, which may widen what readers accept or correct an upgrade rule to what Glance did "
                    "(see the stability policy)")
            note += (f"; {len(found)} errata so far, the last of {found[-1]['date']}: see Errata at the end of this "
                     "page." if found else "; no errata so far.")
        else:
            note = "A draft: it may still change, and production services MUST NOT write it."
        admon = nodes.admonition(classes=["note" if r.status == "released" else "warning"])
        admon += nodes.title(text=f"Format {r.version}: {r.status}")
        admon += para(f"{r.title}. {r.summary}")
        admon += para(f"Glance: {r.glance}.")
        admon += para(note)
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
        return [admon, nav]


class ErrataDirective(SpecDirective):
    """``imgspec-errata VERSION``: each erratum of a released version, what it changed and how it is classified."""

    required_arguments = 1

    def run(self):
        version = self.arguments[0]
        self.shown(self.spec.schemas / "releases.json")
        found = [x for _, x in errata.errata(self.spec, version)]
        if not found:
            return [para(f"No errata: {version} is as released.")]
        out = nodes.definition_list(classes=["imgspec-errata"])
        for x in found:
            result = classified(self.spec, version, x)
            if result.problems:
                self.fail([str(p) for p in result.problems])
            item = nodes.definition_list_item()
            term = nodes.term()
            term += nodes.literal(text=x["id"])
            term += nodes.Text(f" ({x['date']}): {errata_class(result)}")
            item += term
            body = nodes.definition()
            body += para(x["what"])
            evidence_para = para(nodes.emphasis(text="Glance source: "))
            for i, path in enumerate(x["evidence"]):
                if i:
                    evidence_para += nodes.Text(", ")
                evidence_para += glance_ref(self.config, path, path.rsplit("/", 1)[-1])
            changed = [f"`{c.shown or '/'}` {c.rule}" for changes in result.schema_changes.values() for c in changes]
            detail = [para(nodes.emphasis(text="Why: "), x["why"]), evidence_para]
            if changed:
                detail.append(para(f"{len(changed)} schema change(s), each compatible: " + "; ".join(changed)))
            for rel in result.rule_files:
                read = result.readings_changed.get(rel, [])
                detail.append(para(f"`{rel}`: upgrade rules corrected; every valid example still upgrades"
                                   + (f"; examples read differently: {', '.join(read)}" if read else "")))
            detail.append(para("Files: " + ", ".join(f"`{f}`" for f in x["files"])))
            body += folded("Why, the Glance source, and what changed file by file", *detail)
            item += body
            out += item
        return [out]


_CLASSIFIED: dict = {}


def classified(spec, version: str, erratum: dict):
    """``errata.classify``, once per build for each erratum (the version page and the changelog both show it)."""
    key = (str(spec.root), erratum["id"], tuple(sorted(erratum["files"].items())))
    if key not in _CLASSIFIED:
        _CLASSIFIED[key] = errata.classify(spec, version, erratum)
    return _CLASSIFIED[key]


def errata_summary(directive: SpecDirective, version: str) -> list[nodes.Node]:
    """One line naming each erratum of a version with its class, linking to the version page's Errata section."""
    found = [x for _, x in errata.errata(directive.spec, version)]
    if not found:
        return []
    out = para(nodes.reference("", "", nodes.Text("Errata"), internal=True,
                               refuri=directive.site_link(f"format/{version}.html") + "#errata"), ": ")
    for i, x in enumerate(found):
        if i:
            out += nodes.Text("; ")
        out += nodes.literal(text=x["id"])
        out += nodes.Text(f" {errata_class(classified(directive.spec, version, x))}")
    return [out]


def errata_class(result) -> str:
    """An erratum's class, by the rules of any change: schema changes as ``imgspec diff`` classifies them, and an
    upgrade rule corrected so that some records read differently as a change of meaning."""
    classes = []
    if any(result.schema_changes.values()):
        worst = {c.category for changes in result.schema_changes.values() for c in changes}
        classes.append("compatible (widens)" if worst <= {"compatible"} else "NOT compatible: " + ", ".join(sorted(worst)))
    if any(result.readings_changed.get(r) for r in result.rule_files):
        classes.append("meaning changed (older records read differently)")
    elif result.rule_files:
        classes.append("upgrade rules restated (no record reads differently)")
    return "; ".join(classes) or "no change"


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
                rows.append(self._row(kind, f))
            section += table(["Field", "Versions", "Meaning"], rows, [22, 22, 56], classes=["imgspec-field-index"])
            out.append(section)
        return out

    def _row(self, kind: str, f) -> list:
        """One field: its name and SQL column, its versions grouped by type, its meaning; the rest folded."""
        spec = self.spec
        name = nodes.container()
        name += para(nodes.literal(text=f.name))
        where = _grouped_versions(f.columns)
        newest_column = list(f.columns.values())[-1] if f.columns else None
        if newest_column:
            name += para(nodes.emphasis(text="SQL: "), f"`{newest_column}`")
        groups: dict[str, list[str]] = {}
        for v, node in f.versions.items():
            words = "the version string (constant)" if node.get("const") == v else schematable.type_text(node)
            groups.setdefault(words + ("" if f.required[v] else ", optional"), []).append(v)
        versions = nodes.container()
        for words, vs in groups.items():  # each version linked to the field's row on its page
            line = para()
            for i, v in enumerate(vs):
                if i:
                    line += nodes.Text(" ")
                line += nodes.reference("", "", nodes.Text(v), internal=True,
                                        refuri=self.site_link(f"format/{v}.html") + "#" + fields.anchor(kind, f.name))
            line += nodes.Text(": ")
            line.extend(inline(words))
            versions += line
        meaning = nodes.container()
        newest = list(f.versions.values())[-1]
        meaning += para(newest.get("description", ""))
        story = []
        for source, target, number, op in f.rules:
            story.append(para(nodes.reference("", "", nodes.Text(f"{source} → {target} rule {number}"), internal=True,
                                              refuri=self.site_link(f"format/upgrades/{source}-{target}.html")),
                              f": {op}"))
        if len(where) > 1:
            story += [para("SQL: " + ", ".join(f"{_span(spec.versions, vs)} `{col}`" for col, vs in where.items()))]
        enforced: dict[str, list[str]] = {}
        for v in f.versions:
            said = "; ".join(evidence.text(e) for e in evidence.for_field(spec, kind, f.name, v))
            if said:
                enforced.setdefault(said, []).append(v)
        story += [para(nodes.emphasis(text=f"Glance enforces at {_span(spec.versions, vs)}: "), said)
                  for said, vs in enforced.items()]
        for v, slugs in f.examples.items():
            story.append(para(f"Valid {v} examples with a value: " + ", ".join(f"`{x}`" for x in slugs[:4])
                              + (f" and {len(slugs) - 4} more" if len(slugs) > 4 else "")))
        if story:
            what = [w for w, present in (("upgrade rules", f.rules), ("Glance enforcement", enforced),
                                         ("examples", f.examples)) if present]
            label = ", ".join(what)
            meaning += folded(label[:1].upper() + label[1:], *story)
        return [name, versions, meaning]


def _span(every: list[str], chosen: list[str]) -> str:
    """``["2.0", "2.1", "2.2"]`` as ``2.0–2.2`` when they are consecutive versions, else listed."""
    idx = [every.index(v) for v in chosen]
    if len(chosen) > 2 and idx == list(range(idx[0], idx[0] + len(idx))):
        return f"{chosen[0]}–{chosen[-1]}"
    return ", ".join(chosen)


def _grouped_versions(per_version: dict[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for version, where in per_version.items():
        groups.setdefault(where, []).append(version)
    return groups


class ProfileDirective(SpecDirective):
    """``imgspec-profile NAME``: a deployment profile's quota settings and the schema layer they mean."""

    required_arguments = 1

    def run(self):
        import json

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
    "imgspec-errata": ErrataDirective,
    "imgspec-schema": SchemaDirective,
    "imgspec-example": ExampleDirective,
    "imgspec-examples-link": ExamplesLinkDirective,
    "imgspec-examples-page": ExamplesPageDirective,
    "imgspec-field-matrix": FieldMatrixDirective,
    "imgspec-versions": VersionsDirective,
    "imgspec-mapping": MappingDirective,
    "imgspec-field-index": FieldIndexDirective,
    "imgspec-profile": ProfileDirective,
    "imgspec-beyond-json-schema": BeyondJsonSchemaDirective,
}
