"""The Glance enforcement behind every constraint of the record schemas (``schemas/evidence/record-constraints.json``).

A *constraint site* is one constraint keyword (``type``, ``maxLength``, ``pattern`` ...) at one place of one
record schema of one version: ``(kind, path, keyword, version)``, the path naming record fields as the field
index does (``/properties`` for ``properties``, ``*`` for every item).  Each site is covered by exactly one
entry of the data file, which names what in Glance states the constraint: a column, an API schema, a
controller check, a domain rule, or imgspec's own definition for the objects Glance does not have.  A
constraint without evidence, or evidence for a constraint that no longer exists, is a problem
(:func:`problems`); the pages show an entry beside its field (:func:`for_field`).
"""
from __future__ import annotations

from dataclasses import dataclass

from imgspec.problems import Problem
from imgspec.spec import Spec

FILE = "schemas/evidence/record-constraints.json"
KEYWORDS = frozenset({"type", "enum", "const", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
                      "exclusiveMaximum", "pattern", "format", "required", "not", "propertyNames",
                      "additionalProperties", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
                      "dependentRequired", "anyOf", "oneOf", "allOf"})
# keywords whose value is a schema (walked into) and how the path names what they apply to
_CHILD = {"additionalProperties": "/additionalProperties", "propertyNames": "/propertyNames", "not": "/not",
          "items": "/*", "contains": "/contains"}


@dataclass(frozen=True)
class Site:
    kind: str
    path: str
    keyword: str
    version: str


def sites(schema: dict, kind: str, version: str, path: str = "") -> list[Site]:
    """Every constraint site of one schema (iteratively: a schema may nest deeply)."""
    out: list[Site] = []
    stack = [(schema, path)]
    while stack:
        node, at = stack.pop()
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key in KEYWORDS and not (key == "additionalProperties" and value is True):
                out.append(Site(kind, at, key, version))
            if key in ("properties", "patternProperties", "$defs") and isinstance(value, dict):
                stack += [(sub, f"{at}/{name}") for name, sub in value.items()]
            elif key in _CHILD:
                stack.append((value, at + _CHILD[key]))
            elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
                stack += [(sub, f"{at}/{key}{i}") for i, sub in enumerate(value)]
    return sorted(out, key=lambda s: (s.path, s.keyword))


def all_sites(spec: Spec) -> list[Site]:
    return [s for v in spec.versions for k in spec.kinds(v) for s in sites(spec.schema(k, v), k, v)]


def entries(spec: Spec) -> list[dict]:
    return spec.load(FILE)["constraints"]


def covers(entry: dict, site: Site) -> bool:
    return (entry["kind"] == site.kind and entry["path"] == site.path and site.keyword in entry["keywords"]
            and site.version in entry.get("versions", [site.version]))


def problems(spec: Spec) -> list[Problem]:
    """Constraints without evidence, covered twice, and entries that cover nothing."""
    found = all_sites(spec)
    listed = entries(spec)
    out = []
    used = [0] * len(listed)
    for site in found:
        which = [i for i, e in enumerate(listed) if covers(e, site)]
        for i in which:
            used[i] += 1
        where = f"schemas/record/{site.version}/{site.kind}.json"
        if not which:
            out.append(Problem(where, site.path or "/", "constraint-without-evidence",
                               f"{site.keyword} states no Glance check: name the column, API schema, controller or "
                               f"domain rule that enforces it in {FILE}, or widen the schema (an erratum)"))
        elif len(which) > 1:
            out.append(Problem(where, site.path or "/", "evidence-twice",
                               f"{site.keyword} is covered by entries {', '.join(f'/constraints/{i}' for i in which)}"))
    for i, entry in enumerate(listed):
        keywords = {s.keyword for s in found if covers(entry, s)}
        for keyword in sorted(set(entry["keywords"]) - keywords):
            out.append(Problem(FILE, f"/constraints/{i}", "evidence-for-nothing",
                               f"{entry['kind']} {entry['path'] or '(root)'}: no schema has {keyword} there "
                               f"{'at ' + ', '.join(entry['versions']) if 'versions' in entry else 'at any version'}"))
    return out


def for_field(spec: Spec, kind: str, name: str, version: str) -> list[dict]:
    """The entries covering the constraints of one field (dotted name, as the field tables give it)."""
    path = "" if name == "(value)" else "/" + name.replace(".", "/")
    return [e for e in entries(spec) if e["kind"] == kind and e["path"] == path
            and version in e.get("versions", [version])]


def text(entry: dict) -> str:
    """One line: the keywords, and what in Glance enforces them."""
    parts = []
    for by in entry["enforced_by"]:
        where = f" ({by['glance']})" if "glance" in by else ""
        era = f" [{by['era']}]" if "era" in by else ""
        parts.append(f"{by['by']}: {by['what']}{where}{era}")
    return f"{', '.join(entry['keywords'])}: " + "; ".join(parts)
