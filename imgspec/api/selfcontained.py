"""The self-contained API document: one file every OpenAPI tool can take, generated from the modular one.

``schemas/bundled/api/images-v2.openapi.json`` is the modular document (``schemas/api/images-v2.openapi.json``)
with each served schema it references (``schemas/service/``) made a component of its own (``Served*`` and
``Metadef*``, :func:`component_name`), so that no ``$ref`` leaves the file and every component name is unique
however a generator folds case; a served schema's own ``#/definitions/...`` are inlined where they are used.
Two rewrites keep what a validator decides and make the file pass Redocly's recommended rules with no ignore
file, each stated in the file (``x-imgspec-bundle``):

* the keys Glance puts in its served schema objects (``name``, ``links``: glance/schema.py) become
  ``x-glance-name`` and ``x-glance-links``: annotations either way, no validator reads them;
* enum values a sibling ``type`` never lets through (the JSON null among a property's type names in Glance's
  metadef schemas, with ``"type": "string"``) are left out: no instance could match them;
* an array schema without ``items`` (the ``"enum": {"type": "array"}`` of Glance's metadef properties) says
  ``"items": {}``, which it meant: client generators refuse an array whose items are not stated.

Every example file of ``examples/api/`` is put where it belongs (``examples`` of its media type, summary the
file's path), so mocks and renderers show Glance's own bodies: the bodies stay in their files, the document
is regenerated from them.  :mod:`imgspec.release.api` stamps it with the API release whose locked files made it
(``x-imgspec-bundle.lock``), writes it (``imgspec bundle``) and checks it (``imgspec check``).
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

from imgspec import jsonfile
from imgspec import pointer as ptr
from imgspec.api import document as api
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec

FILE = "schemas/bundled/api/images-v2.openapi.json"
SERVICE = "schemas/service/"
GLANCE_KEYS = {"name": "x-glance-name", "links": "x-glance-links"}  # keys of Glance's schema objects, not keywords
# The keywords whose value is a schema, a map of schemas or a list of schemas (JSON Schema 2020-12 and draft 4's
# definitions): where a schema object can be found, so that only schema objects are rewritten.
ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
       "unevaluatedItems", "unevaluatedProperties", "additionalItems", "contentSchema")
MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
JSON_TYPES = {"null": type(None), "boolean": bool, "object": dict, "array": list, "string": str}


def component_name(rel: str) -> str:
    """The component of a served schema: ``schemas/service/image.json`` -> ``ServedImage``,
    ``schemas/service/metadefs/resource-types.json`` -> ``MetadefResourceTypes``."""
    parts = Path(rel[len(SERVICE):]).with_suffix("").parts
    words = re.split(r"[-_]", parts[-1])
    return ("Metadef" if parts[0] == "metadefs" else "Served") + "".join(w[:1].upper() + w[1:] for w in words)


def folded(name: str) -> str:
    """A name as the most folding generator sees it: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _matches(value, kind: str) -> bool:
    if kind in ("integer", "number"):
        return isinstance(value, int | float) and not isinstance(value, bool) and (
            kind == "number" or float(value).is_integer())
    return isinstance(value, JSON_TYPES[kind])


def _schema(node, rewrites: list[str], where: str):
    """A schema object with Glance's keys renamed and unreachable enum values dropped, its subschemas too."""
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in GLANCE_KEYS:
            rewrites.append(f"{where}/{key} -> {GLANCE_KEYS[key]}")
            out[GLANCE_KEYS[key]] = value
        elif key in ONE:
            out[key] = _schema(value, rewrites, f"{where}/{key}")
        elif key in MANY and isinstance(value, list):
            out[key] = [_schema(v, rewrites, f"{where}/{key}/{i}") for i, v in enumerate(value)]
        elif key in MAP and isinstance(value, dict):
            out[key] = {k: _schema(v, rewrites, f"{where}/{key}/{ptr.render([k])[1:]}") for k, v in value.items()}
        else:
            out[key] = value
    kinds = out.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if isinstance(kinds, list) and "array" in kinds and "items" not in out and "prefixItems" not in out:
        rewrites.append(f"{where}: items: {{}} (any items) stated")
        out["items"] = {}
    if isinstance(out.get("enum"), list) and isinstance(kinds, list) and all(k in JSON_TYPES or k in (
            "integer", "number") for k in kinds):
        kept = [v for v in out["enum"] if any(_matches(v, k) for k in kinds)]
        if kept != out["enum"]:
            rewrites.append(f"{where}/enum: {len(out['enum']) - len(kept)} value(s) its type never lets through left out")
            out["enum"] = kept
    return out


def _refs_to_components(node, base: str, queue: list[str]):
    """``node`` with every reference to a served schema file made a reference to its component; ``base`` is the
    file ``node`` is in (relative), to resolve relative references."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        out = {k: _refs_to_components(v, base, queue) for k, v in node.items()}
        if isinstance(ref, str) and not ref.startswith("#"):
            target, _, fragment = (Path(base).parent / ref).as_posix().partition("#")
            target = _normal(target)
            if not target.startswith(SERVICE):
                raise ProblemError(Problem(base, "", "unresolvable-ref", f"{ref} names no served schema"))
            queue.append(target)
            out["$ref"] = f"#/components/schemas/{component_name(target)}" + fragment
        return out
    if isinstance(node, list):
        return [_refs_to_components(v, base, queue) for v in node]
    return node


def _normal(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


def _served_component(spec: Spec, rel: str, rewrites: list[str]) -> dict:
    """A served schema as a component: its own references inlined, its dialect, $id and definitions left out."""
    inlined = api.resolve_local(copy.deepcopy(spec.load_once(rel)), rel)
    body = {k: v for k, v in inlined.items() if k not in ("$schema", "$id", "definitions")}
    body["x-imgspec-source"] = rel
    return _schema(body, rewrites, f"#/components/schemas/{component_name(rel)}")


def _examples(spec: Spec, doc: dict) -> int:
    """Put every valid example file where it belongs in ``doc``; the number put."""
    ops = api.operations(spec)
    placed = 0
    for example in api.api_examples(spec):
        if not example.valid:
            continue
        op = ops[example.operation_id]
        node = doc["paths"][op.path][op.method]
        if example.part == "response":
            response = node["responses"][example.status]
            if "$ref" in response:  # a shared response: this operation's copy carries the example
                name = response["$ref"].rsplit("/", 1)[1]
                node["responses"][example.status] = response = copy.deepcopy(doc["components"]["responses"][name])
        where, media = api.media_of(op, example.part, example.status, example.media)
        media_node = ptr.get(doc, ptr.parse(where)[:-1])
        name = (example.path.name[:-5].split("--", 1) + ["glance"])[1]
        media_node.setdefault("examples", {})[name] = {
            "summary": spec.rel(example.path), "value": jsonfile.load(example.path, display=spec.rel(example.path))}
        placed += 1
    return placed


def self_contained(spec: Spec, lock: dict) -> dict:
    """The self-contained document (see the module's description), stamped with ``lock``."""
    doc = copy.deepcopy(api.document(spec))
    rewrites: list[str] = []
    queue: list[str] = []
    doc = _refs_to_components(doc, api.DOCUMENT, queue)
    components: dict[str, dict] = {}
    while queue:
        rel = queue.pop(0)
        name = component_name(rel)
        if name in components:
            continue
        components[name] = _refs_to_components(_served_component(spec, rel, rewrites), rel, queue)
    schemas = doc["components"]["schemas"]
    taken = {folded(n): n for section in ("schemas", "responses", "requestBodies") for n in doc["components"].get(section, {})}
    for name in sorted(components):
        if folded(name) in taken:
            raise ProblemError(Problem(api.DOCUMENT, f"/components/schemas/{name}", "name-taken",
                                       f"the served schema's component {name} folds to the name of {taken[folded(name)]}"))
        taken[folded(name)] = name
        schemas[name] = components[name]
    placed = _examples(spec, doc)
    doc["x-imgspec-bundle"] = {
        "description": f"Generated by `imgspec bundle` from {api.DOCUMENT} and the served schemas it references "
                       f"({len(components)} components named Served* and Metadef*), with {placed} examples from "
                       "examples/api/: no $ref leaves this file. Do not edit. Rewrites that change no validation "
                       "outcome, listed in `rewrites`: the keys Glance puts in its served schema objects (name, "
                       "links) are x-glance-name and x-glance-links here, and enum values the sibling type never lets "
                       "through are left out, and an array schema without items states items: {} (any).",
        "lock": lock,
        "lint": "Redocly's recommended rules find no error; the warnings left are the places of the modular "
                "document's x-lint-exceptions, each with its reason.",
        "rewrites": rewrites,
    }
    return doc


def text(doc: dict) -> str:
    return jsonfile.dumps(doc)
