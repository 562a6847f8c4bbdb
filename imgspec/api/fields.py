"""The fields of an API operation as a reader of an API reference wants them: one row per parameter and per body
field, with its type in words, whether it is required, its description and the API version that introduced it.

Glance's api-ref gives each parameter a Name / In / Type / Description row; :func:`operation_fields` gives the
same rows from the document itself, following every ``$ref`` (into ``schemas/service/``, whose served schemas
are kept verbatim).  A field's description is its schema's ``description``; a field of a served schema (which
must stay as Glance serves it, mostly without descriptions) takes it from ``schemas/api/descriptions.json``,
the table of descriptions written for those fields, each with its source.  ``x-enum-since`` on a schema names
the API version that introduced each of its newer enum values (the community and shared visibilities came
with 2.5), so a value is tagged as any other element is.
"""
from __future__ import annotations

import fnmatch
import json
import posixpath
from dataclasses import dataclass, field

from imgspec.api import document as api
from imgspec.pointer import MISSING, get, parse, render
from imgspec.spec import Spec

DESCRIPTIONS = "schemas/api/descriptions.json"
_DEPTH = 6  # a body nests no deeper than this on a page (Glance's metadef property definitions nest 4 deep)


@dataclass(frozen=True)
class Value:
    text: str  # the enum value: a string as it is, anything else as JSON
    since: str | None = None


@dataclass(frozen=True)
class Field:
    name: str  # a parameter's name, or a body field's dotted path: locations[].url, properties.*.type
    where: str  # path, query, header or body
    type: str  # in words: "string (uuid)", "integer or null", "array of string"
    required: bool
    description: str
    since: str | None
    values: tuple[Value, ...] = ()
    location: str = ""  # file#pointer of the field's schema
    readonly: bool = False
    limits: str = ""  # "at most 255 characters", "0 to 1000", "matches ^[a-z]+$"


@dataclass
class Body:
    media: str
    fields: list[Field] = field(default_factory=list)
    root: str = ""  # the type of the body itself, in words


@dataclass
class OperationFields:
    parameters: list[Field]
    request: list[Body]
    responses: dict[str, list[Body]]  # status code -> bodies (JSON ones only)


def descriptions(spec: Spec) -> list[tuple[str, dict]]:
    """(location pattern, entry) of every description of the table for served schemas: a field's location is its
    place (a named list of ``file#pointer`` patterns, or a pattern itself) followed by ``/properties/NAME`` for
    each name of the entry's ``field`` (``items/type`` is the field ``type`` inside ``items``)."""
    def make():
        data = spec.load(DESCRIPTIONS)
        out = []
        for entry in data["descriptions"]:
            tail = "".join(render(["properties", name]) for name in entry["field"].split("/"))
            for place in data["places"].get(entry["in"], [entry["in"]]):
                out.append((place + tail, entry))
        return out
    return spec.once(("api-descriptions",), make)


def described(spec: Spec, location: str) -> dict | None:
    """The table's entry for a field's location, or None."""
    for pattern, entry in descriptions(spec):
        if fnmatch.fnmatchcase(location, pattern):
            return entry
    return None


def _value(v) -> str:
    """An enum value as a page shows it: a string as it is, anything else as JSON."""
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def type_words(node) -> str:
    """A schema's type as an api-ref says it: "string (uuid)", "string or null", "array of string", "any"."""
    if not isinstance(node, dict):
        return "any"
    if "const" in node:
        return f"constant {_value(node['const'])}"
    kinds = node.get("type")
    if kinds is None and "enum" in node:
        seen = []
        for v in node["enum"]:
            t = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null",
                 list: "array", dict: "object"}[type(v)]
            if t not in seen:
                seen.append(t)
        kinds = seen
    if kinds is None:
        for word in ("anyOf", "oneOf"):
            if word in node:
                parts = []
                for sub in node[word]:
                    t = type_words(sub)
                    if t not in parts:
                        parts.append(t)
                return " or ".join(parts)
        return "object" if "properties" in node else "any"
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    kinds = [k for k in kinds if k != "null"] + (["null"] if "null" in kinds else [])
    words = []
    for k in kinds:
        if k == "array" and isinstance(node.get("items"), dict) and node["items"]:
            words.append(f"array of {type_words(node['items'])}")
        elif k == "string" and "format" in node:
            words.append(f"string ({node['format']})")
        else:
            words.append(k)
    return " or ".join(words)


_LIMITS = (  # keyword, words (a table, in the order a reader wants them)
    ("minLength", lambda v: f"at least {v} character{'s' if v != 1 else ''}"),
    ("maxLength", lambda v: f"at most {v} character{'s' if v != 1 else ''}"),
    ("minimum", lambda v: f"at least {v}"),
    ("exclusiveMinimum", lambda v: f"more than {v}"),
    ("maximum", lambda v: f"at most {v}"),
    ("exclusiveMaximum", lambda v: f"less than {v}"),
    ("minItems", lambda v: f"at least {v} item{'s' if v != 1 else ''}"),
    ("maxItems", lambda v: f"at most {v} item{'s' if v != 1 else ''}"),
    ("uniqueItems", lambda v: "items distinct" if v else ""),
    ("pattern", lambda v: f"matches `{v}`"),
)


def limits(node) -> str:
    """A schema's limits in words: "at most 255 characters, matches `^[a-z]+$`"."""
    if not isinstance(node, dict):
        return ""
    return ", ".join(w for w in (words(node[k]) for k, words in _LIMITS if k in node) if w)


class _Walker:
    def __init__(self, spec: Spec):
        self.spec = spec

    def load(self, rel: str):
        return self.spec.load_once(rel)

    def resolve(self, rel: str, pointer: str, node):
        """Follow ``$ref``s: (file, pointer, schema) of what the node stands for."""
        hops = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and hops < 16:
            target, _, fragment = node["$ref"].partition("#")
            if target:
                rel = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
            pointer = fragment
            found = get(self.load(rel), parse(fragment))
            if found is MISSING:
                raise KeyError(f"{rel}#{fragment}")
            node, hops = found, hops + 1
        return rel, pointer, node

    def merged(self, rel: str, pointer: str, node) -> tuple[dict, dict, set]:
        """The properties (name -> (file, pointer, node)) and required names of a schema, its allOf merged in and
        the branches of its anyOf/oneOf united (a field of one branch is never required)."""
        props: dict = {}
        required: set = set(node.get("required", []) if isinstance(node.get("required"), list) else [])
        for name, sub in (node.get("properties") or {}).items():
            props[name] = (rel, pointer + render(["properties", name]), sub)
        for word in ("allOf", "anyOf", "oneOf"):
            for i, branch in enumerate(node.get(word) or []):
                brel, bptr, bnode = self.resolve(rel, pointer + render([word, i]), branch)
                if not isinstance(bnode, dict):
                    continue
                bprops, _, brequired = self.merged(brel, bptr, bnode)
                for name, where in bprops.items():
                    props.setdefault(name, where)
                if word == "allOf":
                    required |= brequired
        return props, {}, required

    def describe(self, rel: str, pointer: str, entry, node) -> str:
        for candidate in (entry, node):
            if isinstance(candidate, dict) and isinstance(candidate.get("description"), str) \
                    and candidate["description"].strip():
                return candidate["description"].strip()
        found = described(self.spec, f"{rel}#{pointer}")
        return found["description"] if found else ""

    def values(self, node) -> tuple[Value, ...]:
        if not isinstance(node, dict) or not isinstance(node.get("enum"), list):
            return ()
        since = node.get("x-enum-since") or {}
        return tuple(Value(_value(v), since.get(_value(v))) for v in node["enum"])

    def fields(self, rel: str, pointer: str, node, prefix: str, out: list, depth: int, trail: frozenset) -> None:
        if depth > _DEPTH or f"{rel}#{pointer}" in trail:
            return
        trail = trail | {f"{rel}#{pointer}"}
        props, _, required = self.merged(rel, pointer, node)
        for name, (prel, pptr, entry) in props.items():
            frel, fptr, sub = self.resolve(prel, pptr, entry)
            label = f"{prefix}{name}"
            sub = sub if isinstance(sub, dict) else {}
            since = (entry.get("x-since") if isinstance(entry, dict) else None) or sub.get("x-since")
            out.append(Field(label, "body", type_words(sub), name in required,
                             self.describe(prel, pptr, entry, sub), since, self.values(sub), f"{prel}#{pptr}",
                             bool(sub.get("readOnly") or (isinstance(entry, dict) and entry.get("readOnly"))),
                             limits(sub)))
            self.children(frel, fptr, sub, label, out, depth + 1, trail)

    def children(self, rel: str, pointer: str, node: dict, label: str, out: list, depth: int, trail) -> None:
        """The fields inside a field: its properties, its items' (``name[].x``), its map values' (``name.*.x``)."""
        self.fields(rel, pointer, node, f"{label}." if label else "", out, depth, trail)
        items = node.get("items")
        if isinstance(items, dict):
            irel, iptr, inode = self.resolve(rel, pointer + "/items", items)
            if isinstance(inode, dict):
                self.fields(irel, iptr, inode, f"{label}[].", out, depth, trail)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            arel, aptr, anode = self.resolve(rel, pointer + "/additionalProperties", extra)
            if isinstance(anode, dict) and (anode.get("properties") or anode.get("items")):
                self.fields(arel, aptr, anode, f"{label}.*.", out, depth, trail)

    def body(self, media: str, rel: str, pointer: str, schema) -> Body:
        brel, bptr, node = self.resolve(rel, pointer, schema)
        body = Body(media, root=type_words(node) if isinstance(node, dict) else "any")
        if isinstance(node, dict):
            items = node.get("items") if node.get("type") == "array" else None
            if isinstance(items, dict) and not node.get("properties"):
                irel, iptr, inode = self.resolve(brel, bptr + "/items", items)
                if isinstance(inode, dict):
                    self.fields(irel, iptr, inode, "[].", body.fields, 0, frozenset())
            else:
                self.children(brel, bptr, node, "", body.fields, 0, frozenset())
        if body.root == "any" and body.fields:  # an allOf of references: its fields say it is an object
            body.root = "object"
        return body


def _bodies(walker: _Walker, content: dict, pointer: str) -> list[Body]:
    return [walker.body(media, api.DOCUMENT, pointer + render(["content", media, "schema"]), c.get("schema", {}))
            for media, c in content.items() if "json" in media]


def operation_fields(spec: Spec, op: api.Operation) -> OperationFields:
    """The parameters, request bodies and JSON response bodies of an operation, as rows."""
    walker = _Walker(spec)
    doc = api.document(spec)
    params = []
    item = doc["paths"][op.path]
    for prm in list(item.get("parameters", [])) + list(op.node.get("parameters", [])):
        _, _, node = walker.resolve(api.DOCUMENT, "", prm)
        schema = node.get("schema", {})
        _, _, schema = walker.resolve(api.DOCUMENT, "", schema)
        params.append(Field(node["name"], node["in"], type_words(schema), bool(node.get("required")),
                            (node.get("description") or "").strip(), node.get("x-since"), walker.values(schema),
                            limits=limits(schema)))
    request = []
    if "requestBody" in op.node:
        rptr = op.pointer + "/requestBody"
        _, _, body = walker.resolve(api.DOCUMENT, rptr, op.node["requestBody"])
        request = _bodies(walker, body.get("content", {}), rptr)
    responses = {}
    for code, response in op.node.get("responses", {}).items():
        rptr = op.pointer + render(["responses", code])
        _, _, node = walker.resolve(api.DOCUMENT, rptr, response)
        found = _bodies(walker, node.get("content", {}), rptr) if code.startswith("2") else []
        if found:
            responses[code] = found
    return OperationFields(params, request, responses)


def schema_fields(spec: Spec, rel: str) -> Body:
    """The fields of a served schema file (``schemas/service/...``), as the API pages show a body's."""
    return _Walker(spec).body("application/json", rel, "", spec.load_once(rel))


def undocumented(spec: Spec) -> list[tuple[str, str, str]]:
    """(operation, field, location) of every parameter and body field shown without a description."""
    out = []
    for op_id, op in api.operations(spec).items():
        found = operation_fields(spec, op)
        rows = [(f, "") for f in found.parameters]
        rows += [(f, b.media) for b in found.request for f in b.fields]
        rows += [(f, b.media) for bodies in found.responses.values() for b in bodies for f in b.fields]
        out += [(op_id, f.name, f.location) for f, _ in rows if not f.description]
    return out
