"""The API versions of the document: what each element was introduced by (``x-since``), and the document as one
version of the API offers it.

Every operation of ``schemas/api/images-v2.openapi.json`` carries ``x-since``, the API version that
introduced it, and so does every parameter and every schema (of the document's components, and each served
schema of ``schemas/service/``); a field (a property of a schema) carries one where it is newer than its
schema, and is otherwise as old as it.  ``x-since-note`` says why where Glance added an element without a
version of its own (the version is then the one the first Glance release that served it reported).

* :func:`elements` lists every element that states its version, for the generated changelog;
* :func:`at_version` gives the (bundled) document as a client of one version sees it, so that
  ``imgspec diff --api --microversions OLD NEW`` classifies what a client moving from OLD to NEW meets;
* :func:`problems` are the rules the versions follow (an element no older than its container, no version
  the API does not have).
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

from imgspec.api import document as api
from imgspec.problems import Problem
from imgspec.spec import Spec, version_key

DATA = "schemas/api/microversions.json"


def versions(spec: Spec) -> list[dict]:
    """The versions of microversions.json, oldest first."""
    return spec.load(DATA)["versions"]


@dataclass(frozen=True)
class Element:
    kind: str  # operation, parameter, schema, field, value (an enum value newer than its field)
    where: str
    since: str
    note: str | None = None


def _values(schema, where: str, path: str) -> Iterator[Element]:
    """The enum values a newer version added (``x-enum-since``: value -> version)."""
    if isinstance(schema, dict) and isinstance(schema.get("x-enum-since"), dict):
        for value, since in schema["x-enum-since"].items():
            yield Element("value", f"{where}: {path or '(root)'} = {value}", since)


def _fields(schema, where: str, path: str = "") -> Iterator[Element]:
    if isinstance(schema, dict):
        yield from _values(schema, where, path)
        for name, sub in (schema.get("properties") or {}).items():
            here = f"{path}/{name}"
            if isinstance(sub, dict) and "x-since" in sub:
                yield Element("field", f"{where}: {here}", sub["x-since"], sub.get("x-since-note"))
            yield from _fields(sub, where, here)
        for word in ("items", "additionalProperties"):
            if isinstance(schema.get(word), dict):
                yield from _fields(schema[word], where, f"{path}/*")


def elements(spec: Spec) -> list[Element]:
    """Every element that states the version that introduced it: operations, parameters, fields."""
    doc = api.document(spec)
    out = []
    for op in api.operations(spec).values():
        label = f"{op.method.upper()} {op.path}"
        out.append(Element("operation", label, op.node.get("x-since", ""), op.node.get("x-since-note")))
        for prm in op.node.get("parameters", []):
            if "$ref" not in prm and "x-since" in prm:
                out.append(Element("parameter", f"{label}: {prm['in']} {prm['name']}", prm["x-since"],
                                   prm.get("x-since-note")))
            if "$ref" not in prm:
                out += _values(prm.get("schema"), label, f"{prm['in']} {prm.get('name')}")
    for name, prm in doc["components"].get("parameters", {}).items():
        out.append(Element("parameter", f"components/parameters/{name} ({prm['in']} {prm['name']})",
                           prm.get("x-since", ""), prm.get("x-since-note")))
    schemas = [(f"components/schemas/{name}", schema) for name, schema in doc["components"].get("schemas", {}).items()]
    schemas += [(spec.rel(p), spec.load(spec.rel(p))) for p in sorted((spec.schemas / "service").rglob("*.json"))]
    for where, schema in schemas:
        out.append(Element("schema", where, schema.get("x-since", ""), schema.get("x-since-note")))
        out += _fields(schema, where)
    return out


def changelog(spec: Spec) -> list[tuple[dict, list[Element]]]:
    """Newest first: each version of microversions.json with the elements it introduced."""
    found = elements(spec)
    return [(v, [e for e in found if e.since == v["version"]]) for v in reversed(versions(spec))]


def problems(spec: Spec) -> list[Problem]:
    """An operation or schema without x-since, a version the API does not have, a parameter older than its operation,
    a field older than its schema."""
    known = {v["version"] for v in versions(spec)}
    newest = api.document(spec)["info"]["version"]
    out = []
    if newest not in known:
        out.append(Problem(api.DOCUMENT, "/info/version", "x-since", f"{newest}: not an API version of {DATA}"))
    for e in elements(spec):
        if e.since not in known:
            out.append(Problem(api.DOCUMENT, e.where, "x-since", f"{e.since or 'no version'}: not an API version "
                                                               f"of {DATA}"))
        elif version_key(e.since) > version_key(newest):
            out.append(Problem(api.DOCUMENT, e.where, "x-since", f"{e.since} is newer than info.version {newest}"))
    found = elements(spec)
    roots = {e.where: e.since for e in found if e.kind == "schema"}
    for e in found:
        root = roots.get(e.where.split(": ", 1)[0]) if e.kind == "field" else None
        if root is not None and root in known and e.since in known and version_key(e.since) < version_key(root):
            out.append(Problem(api.DOCUMENT, e.where, "x-since", f"{e.since} is older than its schema's {root}"))
    out += _unknown_values(spec)
    for op in api.operations(spec).values():
        for prm in op.node.get("parameters", []):
            if "x-since" in prm and op.node.get("x-since") in known and prm["x-since"] in known and \
                    version_key(prm["x-since"]) < version_key(op.node["x-since"]):
                out.append(Problem(api.DOCUMENT, f"{op.method.upper()} {op.path}: {prm['in']} {prm['name']}",
                                   "x-since", f"{prm['x-since']} is older than its operation's {op.node['x-since']}"))
    return out


def _unknown_values(spec: Spec) -> list[Problem]:
    """An x-enum-since naming a value its enum does not have."""
    out = []

    def walk(node, where):
        if isinstance(node, dict):
            tagged = node.get("x-enum-since")
            if isinstance(tagged, dict):
                for value in tagged:
                    if value not in (node.get("enum") or []):
                        out.append(Problem(where, "", "x-enum-since", f"{value!r} is not a value of its enum"))
            for v in node.values():
                walk(v, where)
        elif isinstance(node, list):
            for v in node:
                walk(v, where)
    walk(api.document(spec), api.DOCUMENT)
    for p in sorted((spec.schemas / "service").rglob("*.json")):
        walk(spec.load(p), spec.rel(p))
    return out


def _newer(node, version: tuple[int, ...]) -> bool:
    return isinstance(node, dict) and isinstance(node.get("x-since"), str) and version_key(node["x-since"]) > version


def _prune(node, version: tuple[int, ...]):
    if isinstance(node, dict):
        out: dict = {}
        for k, v in node.items():
            if k == "properties" and isinstance(v, dict):
                out[k] = {name: _prune(sub, version) for name, sub in v.items() if not _newer(sub, version)}
            elif k == "parameters" and isinstance(v, list):
                out[k] = [_prune(p, version) for p in v if not _newer(p, version)]
            elif k == "enum" and isinstance(v, list) and isinstance(node.get("x-enum-since"), dict):
                newer = {value for value, since in node["x-enum-since"].items() if version_key(since) > version}
                out[k] = [value for value in v if not (isinstance(value, str) and value in newer)]
            else:
                out[k] = _prune(v, version)
        return out
    if isinstance(node, list):
        return [_prune(v, version) for v in node]
    return node


def at_version(doc: dict, version: str) -> dict:
    """The bundled document as a client of API ``version`` sees it: without the operations, parameters and fields
    a newer version introduced, and with info.version set to it."""
    v = version_key(version)
    out = api.resolve_local(copy.deepcopy(doc))
    paths = {}
    for path, item in out["paths"].items():
        kept = {m: op for m, op in item.items() if m not in api.METHODS or not _newer(op, v)}
        if any(m in api.METHODS for m in kept):
            paths[path] = kept
    out["paths"] = paths
    out = _prune(out, v)
    out["info"]["version"] = version
    return out
