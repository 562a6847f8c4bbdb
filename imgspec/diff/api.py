"""What a change of the OpenAPI document means for clients: every change classified, as oasdiff's checks do.

``compare(old, new)`` walks two OpenAPI 3.1 documents (each first resolved into one:
``imgspec.api.document.resolve_local``) and reports each change with its class:

``breaking``                 a client written against the old document can fail: an operation, a response status,
                             a media type or a response field removed; a parameter or request field made required;
                             a request enum narrowed; a type changed
``needs-a-new-microversion`` a client can see a difference it did not ask for: an operation, a parameter or a
                             response field added, a response enum widened, a request enum widened
``compatible``               nothing a client sees: descriptions, examples, policies, a new error status or media type

A change that is breaking or needs a new microversion is announced when the new document's API version
(``info.version``) is newer than the old one's; ``unannounced(changes, old, new)`` lists the rest, which the
review gate refuses.  The checks, one function per part of the document, are in :data:`CHECKS`.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from imgspec.api.document import METHODS, resolve_local
from imgspec.spec import version_key

BREAKING, MICROVERSION, COMPATIBLE = "breaking", "needs-a-new-microversion", "compatible"
@dataclass(frozen=True)
class ApiChange:
    severity: str
    check: str  # the check's name, like oasdiff's ids: operation-removed, response-property-removed, ...
    where: str  # METHOD /path, then the place
    message: str

    def line(self) -> str:
        return f"{self.severity.upper():25} {self.check:34} {self.where}: {self.message}"



def _words(values: list) -> str:
    """Values as a reader reads them: JSON, comma-separated ("community", "all")."""
    return ", ".join(json.dumps(v, ensure_ascii=False) for v in values)

def operations_of(doc: dict) -> dict[str, dict]:
    return {f"{m.upper()} {p}": op for p, item in doc.get("paths", {}).items() for m, op in item.items()
            if m in METHODS and isinstance(op, dict)}


def _params(item_params: list, op: dict) -> dict[tuple[str, str], dict]:
    return {(p["in"], p["name"]): p for p in [*item_params, *op.get("parameters", [])]}


def _types(schema: dict) -> set[str]:
    t = schema.get("type")
    return set(t) if isinstance(t, list) else {t} if t else set()


def _flat(schema: dict) -> dict:
    """A schema with the members of its ``allOf`` merged in (properties and required added up)."""
    if not isinstance(schema, dict) or "allOf" not in schema:
        return schema
    out = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        part = _flat(part)
        if not isinstance(part, dict):
            continue
        out["properties"] = {**part.get("properties", {}), **out.get("properties", {})}
        out["required"] = sorted(set(out.get("required", [])) | set(part.get("required", [])))
        for key in ("type", "enum", "items"):
            if key in part and key not in out:
                out[key] = part[key]
    return out


def _schema_changes(old: dict, new: dict, where: str, direction: str, path: str = "") -> Iterator[ApiChange]:
    """Field by field, for a request (what clients send) or a response (what clients read)."""
    old, new = _flat(old), _flat(new)
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    here = f"{where} {direction} {path or '/'}"
    ot, nt = _types(old), _types(new)
    if ot and nt and ot != nt:
        narrowed = not (ot <= nt) if direction == "request" else not (nt <= ot)
        yield ApiChange(BREAKING if narrowed else MICROVERSION, f"{direction}-property-type-changed", here,
                     f"type {_words(sorted(ot))} -> {_words(sorted(nt))}")
    if "enum" in old or "enum" in new:
        oe, ne = old.get("enum"), new.get("enum")
        removed = [v for v in (oe or []) if ne is not None and v not in ne]
        added = [v for v in (ne or []) if oe is not None and v not in oe]
        if direction == "request" and removed or direction == "response" and added:
            yield ApiChange(BREAKING if direction == "request" else MICROVERSION, f"{direction}-enum-changed", here,
                         f"values {'removed' if direction == 'request' else 'added'}: {_words(removed or added)}")
        if direction == "request" and added or direction == "response" and removed:
            yield ApiChange(MICROVERSION if direction == "request" else COMPATIBLE, f"{direction}-enum-changed", here,
                         f"values {'added' if direction == 'request' else 'removed'}: {_words(added or removed)}")
    op_, np_ = old.get("properties", {}), new.get("properties", {})
    oreq, nreq = set(old.get("required", [])), set(new.get("required", []))
    for name in op_.keys() - np_.keys():
        yield ApiChange(BREAKING if direction == "response" else MICROVERSION, f"{direction}-property-removed",
                     f"{here.rstrip('/')}/{name}", "removed")
    for name in np_.keys() - op_.keys():
        required = direction == "request" and name in nreq
        yield ApiChange(BREAKING if required else MICROVERSION, f"{direction}-property-added",
                     f"{here.rstrip('/')}/{name}", "added" + (" as required" if required else ""))
    if direction == "request":
        for name in (nreq - oreq) & op_.keys():
            yield ApiChange(BREAKING, "request-property-became-required", f"{here.rstrip('/')}/{name}", "now required")
    for name in op_.keys() & np_.keys():
        yield from _schema_changes(op_[name], np_[name], where, direction, f"{path}/{name}")
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        yield from _schema_changes(old["items"], new["items"], where, direction, f"{path}/*")


def _check_parameters(where: str, old: dict, new: dict, old_item: dict, new_item: dict) -> Iterator[ApiChange]:
    op_, np_ = _params(old_item.get("parameters", []), old), _params(new_item.get("parameters", []), new)
    for key in op_.keys() - np_.keys():
        yield ApiChange(BREAKING, "request-parameter-removed", where, f"{key[0]} parameter {key[1]} removed")
    for key in np_.keys() - op_.keys():
        required = np_[key].get("required", False)
        yield ApiChange(BREAKING if required else MICROVERSION, "new-request-parameter", where,
                     f"{'required' if required else 'optional'} {key[0]} parameter {key[1]} added")
    for key in op_.keys() & np_.keys():
        if np_[key].get("required") and not op_[key].get("required"):
            yield ApiChange(BREAKING, "request-parameter-became-required", where, f"{key[0]} parameter {key[1]}")
        (old_one, old_many), (new_one, new_many) = _occurrence(op_[key]), _occurrence(np_[key])
        if new_many and not old_many:
            yield ApiChange(MICROVERSION, "request-parameter-repeatable", where, f"{key[0]} parameter {key[1]} may be repeated")
        elif old_many and not new_many:
            yield ApiChange(BREAKING, "request-parameter-not-repeatable", where,
                         f"{key[0]} parameter {key[1]} may no longer be repeated")
        yield from _schema_changes(old_one, new_one, where, "request", f"({key[0]} {key[1]})")


def _occurrence(param: dict) -> tuple[dict, bool]:
    """(the schema of one occurrence of a parameter, whether it may be repeated): a query array in form style,
    exploded (OpenAPI's default), is the parameter repeated (``?tag=a&tag=b``), so one ``?tag=a`` is still one."""
    schema = param.get("schema", {})
    if (param.get("in") == "query" and _types(schema) == {"array"} and param.get("style", "form") == "form"
            and param.get("explode", True) and isinstance(schema.get("items"), dict)):
        return schema["items"], True
    return schema, False


def _check_request_body(where: str, old: dict, new: dict, *_: dict) -> Iterator[ApiChange]:
    ob, nb = old.get("requestBody", {}).get("content", {}), new.get("requestBody", {}).get("content", {})
    for media in ob.keys() - nb.keys():
        yield ApiChange(BREAKING, "request-media-type-removed", where, f"{media} no longer accepted")
    for media in nb.keys() - ob.keys():
        yield ApiChange(COMPATIBLE if ob else BREAKING, "request-media-type-added", where, f"{media} accepted")
    for media in ob.keys() & nb.keys():
        yield from _schema_changes(ob[media].get("schema", {}), nb[media].get("schema", {}), where, "request")


def _keyed(old: dict, new: dict, check: str, where: str, severity: str, removed: str, added: str) -> Iterator[ApiChange]:
    """A change for each key of ``old`` that ``new`` lacks (``check``-removed) and each it adds (``check``-added)."""
    for key in sorted(old.keys() - new.keys()):
        yield ApiChange(severity, f"{check}-removed", where, removed.format(key=key))
    for key in sorted(new.keys() - old.keys()):
        yield ApiChange(severity, f"{check}-added", where, added.format(key=key))


def _check_responses(where: str, old: dict, new: dict, *_: dict) -> Iterator[ApiChange]:
    def severity(status: str) -> str:  # a success status or media type gone or new breaks clients; an error one not
        return BREAKING if status.startswith("2") else COMPATIBLE
    orr, nrr = old.get("responses", {}), new.get("responses", {})
    for status in orr.keys() - nrr.keys():
        yield ApiChange(severity(status), "response-status-removed", where, f"{status} no longer documented")
    for status in nrr.keys() - orr.keys():
        yield ApiChange(severity(status), "response-status-added", where, f"{status} documented")
    for status in orr.keys() & nrr.keys():
        oc, nc = orr[status].get("content", {}), nrr[status].get("content", {})
        yield from _keyed(oc, nc, "response-media-type", where, severity(status), status + " {key} no longer sent",
                          status + " {key} may be sent")
        for media in oc.keys() & nc.keys():
            yield from _schema_changes(oc[media].get("schema", {}), nc[media].get("schema", {}), f"{where} {status}",
                                       "response")


Check = Callable[[str, dict, dict, dict, dict], Iterator[ApiChange]]
CHECKS: dict[str, Check] = {"parameters": _check_parameters, "requestBody": _check_request_body,
                            "responses": _check_responses}


def compare(old: dict, new: dict) -> list[ApiChange]:
    """Every change from ``old`` to ``new`` (bundled documents: no ``$ref`` left to other files)."""
    old, new = resolve_local(old), resolve_local(new)
    out: list[ApiChange] = []
    oo, no = operations_of(old), operations_of(new)
    for key in sorted(oo.keys() - no.keys()):
        out.append(ApiChange(BREAKING, "operation-removed", key, "removed"))
    for key in sorted(no.keys() - oo.keys()):
        out.append(ApiChange(MICROVERSION, "operation-added", key, "added"))
    for key in sorted(oo.keys() & no.keys()):
        method, path = key.split(" ", 1)
        old_item, new_item = old["paths"][path], new["paths"][path]
        for check in CHECKS.values():
            out += check(key, oo[key], no[key], old_item, new_item)
    return out


def _version(doc: dict) -> tuple[int, ...]:
    return version_key(str(doc.get("info", {}).get("version", "")))


def unannounced(changes: list[ApiChange], old: dict, new: dict) -> list[ApiChange]:
    """The changes a client would notice while the document's API version stays the same."""
    if _version(new) > _version(old):
        return []
    return [c for c in changes if c.severity in (BREAKING, MICROVERSION)]


def markdown(changes: list[ApiChange], old: dict, new: dict) -> str:
    ov, nv = old.get("info", {}).get("version"), new.get("info", {}).get("version")
    rows = [f"| {c.severity} | `{c.check}` | `{c.where}` | {c.message} |" for c in changes]
    bad = unannounced(changes, old, new)
    verdict = (f"**{len(bad)} change(s) that clients notice without a new microversion** ({ov} -> {nv})" if bad else
               f"Nothing a client notices goes unannounced ({ov} -> {nv}).")
    return "\n".join([f"API {ov} -> {nv}: {len(changes)} change(s)", "", "| Class | Check | Where | What |",
                      "|---|---|---|---|", *rows, "", verdict, ""])
