"""Every field of every record kind, with its whole story: versions, upgrade rules, SQL column, examples.

Computed from the files (schemas, upgrade steps, the SQL binding, the examples); the
field index page (``docs/format/fields.md``) shows it, and nothing here restates a schema.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from imgspec.diff.schemas import kind_prefix
from imgspec.format import examples as ex
from imgspec.problems import ProblemError
from imgspec.spec import RECORD_KINDS, Spec
from imgspec.sql.binding import load as load_binding
from imgspec.upgrade.operations import operation
from imgspec.upgrade.rules import load_steps

STORE_KINDS = ("store", "placement")  # upgraded by a step's store rules; not in the SQL layout


def anchor(kind: str, name: str) -> str:
    """The id of a field's row on a version page (``field-location-metadata-store``)."""
    return "field-" + "-".join(part for part in f"{kind}.{name}".replace("_", "-").split(".")).lower()


@dataclass
class Field:
    kind: str
    name: str                                                   # dotted for nested fields
    versions: dict[str, dict] = field(default_factory=dict)     # version -> schema node
    required: dict[str, bool] = field(default_factory=dict)
    rules: list[tuple[str, str, int, str]] = field(default_factory=list)  # (from, to, number, op)
    columns: dict[str, str] = field(default_factory=dict)       # version -> where the SQL binding keeps it
    examples: dict[str, list[str]] = field(default_factory=dict)  # version -> valid examples showing a value


def rows(schema: dict):
    """(name, node, required) for each field of a schema; nested object fields as dotted names."""
    if "properties" not in schema:
        yield "(value)", schema, True
        return
    required = set(schema.get("required", []))
    for name, node in schema["properties"].items():
        yield name, node, name in required
        sub = node.get("properties")
        if isinstance(sub, dict):
            sub_required = set(node.get("required", []))
            for sname, snode in sub.items():
                yield f"{name}.{sname}", snode, sname in sub_required


def _touches(path: str, pattern: str) -> bool:
    return path == pattern or path.startswith(pattern + "/") or pattern.startswith(path + "/")


def _column(spec: Spec, kind: str, name: str, version: str) -> str | None:
    binding = load_binding(spec)
    if kind not in binding.data["objects"] or version not in binding.bindings:
        return None
    native = binding.native(version)
    for f in binding.fields(kind, native):
        if f["field"] != name.split(".")[0]:
            continue
        if "computed" in f:
            return "(not stored: always the version)"
        if "column" in f:
            return f"{binding.table_of(kind)}.{f['column']}"
        if f.get("absent"):
            return "(not stored: only an upgrade rule writes it)"
        if "rows" not in f:
            return "(no column: derived by upgrade rules)"
        r = f["rows"]
        return f"rows of {r['table']}" + (f" ({r['key']} → {r['value']})" if "key" in r else
                                          f".{r['value']}" if "value" in r else "")
    return None


def _shown(doc, name: str) -> bool:
    node = doc
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return node not in (None, [], {})


def index(spec: Spec) -> dict[str, list[Field]]:
    """{kind: [Field, ...]} in the order the fields first appear, oldest version first."""
    out: dict[str, dict[str, Field]] = {k: {} for k in RECORD_KINDS}
    for version in spec.versions:
        docs = {k: spec.schema(k, version) for k in spec.kinds(version)}
        for kind, schema in docs.items():
            for name, node, required in rows(schema):
                f = out[kind].setdefault(name, Field(kind, name))
                f.versions[version] = node
                f.required[version] = required
                column = _column(spec, kind, name, version)
                if column:
                    f.columns[version] = column
    steps = load_steps(spec)
    for step in steps.values():
        try:
            docs = {k: spec.schema(k, step.target) for k in spec.kinds(step.target)}
        except ProblemError:
            continue
        for kind, fields in out.items():
            if kind not in docs:
                continue
            prefix = kind_prefix(docs, kind)
            rules = step.store_rules if kind in STORE_KINDS else step.rules
            for f in fields.values():
                if step.source not in f.versions and step.target not in f.versions:
                    continue  # a rule of a step the field takes no part in
                if f.name == "(value)":
                    pattern = prefix
                else:
                    pattern = prefix + "/" + f.name.replace(".", "/")
                for number, rule in enumerate(rules, 1):
                    if any(_touches(p, pattern) for p in operation(rule).paths(rule)):
                        f.rules.append((step.source, step.target, number, rule["op"]))
    for e in ex.record_examples(spec):
        if not e.valid:
            continue
        try:
            doc = spec.load_once(e.path)
        except ProblemError:
            continue
        for f in out[e.kind].values():
            if f.name == "(value)" or _shown(doc, f.name):
                f.examples.setdefault(e.version, []).append(e.slug)
    return {k: list(v.values()) for k, v in out.items() if v}
