"""Records drawn from a version's schema itself: hypothesis strategies for the JSON Schema subset the format uses.

Every keyword the record schemas use is in :data:`KEYWORDS`, each with the function that
narrows the strategy for it; a schema that uses any other assertion keyword is refused
(:class:`Unsupported`), so a proof never silently ignores a constraint.  The space drawn from
is the whole valid space, not realistic records: every optional member may be present or
absent, strings are any Unicode text (no lone surrogates: JSON text must be UTF-8) up to their
``maxLength``, integers reach their bounds (or beyond 2**63 where there is none), and
``date-time`` covers every RFC 3339 form (``t`` and ``z``, offsets, fractions, leap second).
Whatever is drawn is checked with the reference validator before use.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from imgspec.format.formats import date_time
from imgspec.format.validation import reference_errors
from imgspec.spec import Spec

ANNOTATIONS = {"description", "title", "default", "$schema", "$id", "$comment", "examples", "deprecated"}
TEXT_CAP = 300  # longest text drawn where maxLength allows more (the limits themselves are examples)
ITEMS_CAP = 5
EXTRA_KEYS_CAP = 4


class Unsupported(ValueError):
    """The schema uses a keyword the generator does not know: no proof can rest on it."""


def _st():
    from hypothesis import strategies as st
    return st


def _chars():
    return _st().characters(codec="utf-8", exclude_categories=("Cs",))


def _rfc3339():
    """Any RFC 3339 date-time (section 5.6), as Python's format checker accepts it."""
    st = _st()

    def text(parts) -> str:
        y, mo, d, h, mi, s, frac, t, zone = parts
        days = [31, 29 if (y % 4 == 0 and (y % 100 or y % 400 == 0)) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return f"{y:04d}-{mo:02d}-{min(d, days[mo - 1]):02d}{t}{h:02d}:{mi:02d}:{s:02d}{frac}{zone}"
    zone = st.one_of(st.sampled_from(["Z", "z"]),
                     st.tuples(st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59)).map(
                         lambda z: f"{z[0]}{z[1]:02d}:{z[2]:02d}"))
    frac = st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=9).map(lambda f: "." + f))
    return st.tuples(st.integers(0, 9999), st.integers(1, 12), st.integers(1, 31), st.integers(0, 23),
                     st.integers(0, 59), st.integers(0, 60), frac, st.sampled_from("Tt"), zone).map(text).filter(date_time)


FORMATS: dict[str, Callable[[], Any]] = {"date-time": _rfc3339}


class Generator:
    """Strategies for the schemas of one version of a spec (``$ref`` names a sibling schema file)."""

    def __init__(self, spec: Spec, version: str):
        self.spec, self.version = spec, version
        self._made: dict[str, Any] = {}
        self.rule_names, self.schema_names = (sorted(x) for x in names_of_note(spec))

    def record(self, kind: str = "image"):
        """Valid ``kind`` documents of the version: drawn from its schema, checked by the reference validator."""
        return self.for_schema(self.spec.schema(kind, self.version)).filter(
            lambda doc: not reference_errors(self.spec, doc, kind, self.version))

    def for_schema(self, node) -> Any:
        st = _st()
        if node is True or node == {}:
            return json_values()
        if node is False:
            return st.nothing()
        unknown = set(node) - ANNOTATIONS - set(KEYWORDS)
        if unknown:
            raise Unsupported(f"keyword {sorted(unknown)[0]!r} (in {json.dumps(node)[:80]}) has no generator")
        if "$ref" in node:
            return self.ref(node)
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(node["enum"])
        if "anyOf" in node:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return st.one_of(*[self.for_schema({**rest, **branch}) if set(rest) - ANNOTATIONS else self.for_schema(branch)
                               for branch in node["anyOf"]])
        types = node.get("type")
        if isinstance(types, list):
            return st.one_of(*[self.for_schema(dict(node, type=t)) for t in types])
        if types is None:
            raise Unsupported(f"a schema without type, const, enum or $ref: {json.dumps(node)[:80]}")
        strategy = TYPES[types](self, node)
        if "not" in node:
            from jsonschema import Draft202012Validator
            excluded = Draft202012Validator(node["not"])
            strategy = strategy.filter(lambda v: not excluded.is_valid(v))
        return strategy

    def ref(self, node: dict):
        name = node["$ref"]
        if "#" in name or "/" in name:
            raise Unsupported(f"$ref {name!r}: only sibling schema files are generated")
        kind = name.removesuffix(".json")
        if kind not in self._made:
            self._made[kind] = _st().deferred(lambda: self.for_schema(self.spec.schema(kind, self.version)))
        return self._made[kind]


def names_of_note(spec: Spec) -> tuple[set[str], set[str]]:
    """(member names the upgrade rules' paths and conditions name, member names some record schema defines)."""
    rules: set[str] = set()
    schemas: set[str] = set()

    def walk(node, out: set[str]) -> None:
        if isinstance(node, dict):
            out.update(node.get("properties", {}) if isinstance(node.get("properties"), dict) else ())
            out.update(node.get("required", []) if isinstance(node.get("required"), list) else ())
            for key, value in node.items():
                if key in ("from", "to", "path", "at", "conflict") and isinstance(value, str) and value.startswith(("/", "./")):
                    out.update(t for t in value.split("/")[1:] if t and t != "*" and not t.isdigit() and t != ".")
                walk(value, out)
        elif isinstance(node, list):
            for x in node:
                walk(x, out)
    for path in spec.upgrade_files():
        walk(spec.load_once(path).get("rules", []), rules)
        walk(spec.load_once(path).get("store_rules", []), rules)
    for path in spec.schema_files():
        if "/record/" in str(path):
            walk(spec.load_once(path), schemas)
    return rules, schemas


def _name_check(names: dict) -> Callable[[str], bool]:
    if not names:
        return lambda k: True
    from jsonschema import Draft202012Validator
    return Draft202012Validator({"type": "string", **names}).is_valid


def json_values():
    st = _st()
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(_chars(), max_size=12))
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(_chars(), max_size=8), inner, max_size=3)),
                        max_leaves=6)


def _string(gen: Generator, node: dict):
    st = _st()
    lo, hi = node.get("minLength", 0), node.get("maxLength")
    if "format" in node:  # a format's own space (a pattern beside it narrows it further)
        if node["format"] not in FORMATS:
            raise Unsupported(f"format {node['format']!r} has no generator")
        s = FORMATS[node["format"]]()
        if "pattern" in node:
            import re
            rx = re.compile(node["pattern"])
            s = s.filter(lambda v: rx.search(v) is not None)
    elif "pattern" in node:
        s = st.from_regex(node["pattern"], fullmatch=True)
    else:
        return st.text(_chars(), min_size=lo, max_size=min(hi, max(TEXT_CAP, lo)) if hi is not None else TEXT_CAP)
    return s.filter(lambda v: lo <= len(v) and (hi is None or len(v) <= hi))


def _integer(gen: Generator, node: dict):
    lo, hi = node.get("minimum"), node.get("maximum")
    return _st().integers(min_value=lo, max_value=hi)


def _array(gen: Generator, node: dict):
    lo = node.get("minItems", 0)
    hi = min(node.get("maxItems", ITEMS_CAP), max(ITEMS_CAP, lo))
    items = gen.for_schema(node.get("items", True))
    unique = (lambda v: json.dumps(v, sort_keys=True)) if node.get("uniqueItems") else None
    return _st().lists(items, min_size=lo, max_size=hi, unique_by=unique)


def _object(gen: Generator, node: dict):
    st = _st()
    props = node.get("properties", {})
    required = set(node.get("required", []))
    fixed = {k: gen.for_schema(v) for k, v in props.items() if k in required}
    optional = {k: gen.for_schema(v) for k, v in props.items() if k not in required}
    extra_schema = node.get("additionalProperties", True)
    names = node.get("propertyNames", {})
    order = list(props)

    def arrange(pair):
        known, extra = pair
        return {**{k: known[k] for k in order if k in known}, **extra}
    known = st.fixed_dictionaries(fixed, optional=optional)
    if extra_schema is False:
        return known.map(lambda d: arrange((d, {})))
    # member names of an open object: any text, and as often the names any version or rule gives meaning to
    # (each list twice: hypothesis all but never draws a sampled_from's first choice outside its simplest example)
    keys = st.one_of(st.sampled_from(gen.rule_names * 2), st.sampled_from(gen.schema_names * 2),
                     gen.for_schema({"type": "string", **names}))
    check = _name_check(names)
    keys = keys.filter(lambda k: k not in props and check(k))
    extra = st.dictionaries(keys, gen.for_schema(extra_schema), max_size=EXTRA_KEYS_CAP)
    return st.tuples(known, extra).map(arrange)


TYPES: dict[str, Callable[[Generator, dict], Any]] = {
    "null": lambda gen, node: _st().none(),
    "boolean": lambda gen, node: _st().booleans(),
    "integer": _integer,
    "string": _string,
    "array": _array,
    "object": _object,
}

# Every assertion keyword the generator honours, and where: the table the docstring promises.
KEYWORDS: dict[str, str] = {
    "$ref": "Generator.ref", "const": "for_schema", "enum": "for_schema", "anyOf": "for_schema",
    "type": "TYPES", "not": "for_schema (a filter)",
    "minLength": "_string", "maxLength": "_string", "pattern": "_string", "format": "_string (FORMATS)",
    "minimum": "_integer", "maximum": "_integer",
    "items": "_array", "minItems": "_array", "maxItems": "_array", "uniqueItems": "_array",
    "properties": "_object", "required": "_object", "additionalProperties": "_object", "propertyNames": "_object",
}
