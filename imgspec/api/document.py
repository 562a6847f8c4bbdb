"""The Images API document: operations, their schemas, and validating bodies against them.

The OpenAPI 3.1 document (``schemas/api/images-v2.openapi.json``) references the
schemas the service serves (``schemas/service/``).  Its schemas are JSON Schema
2020-12; they are resolved through the same local registry as the record format,
so validating an API body never touches the network.

Example files (``examples/api/<operationId>/``) are named for what they show:
``request.json`` (or ``request--<variant>.json``), ``request.<media-type>.json`` for
an operation with several request media types, and ``response-<status>.json`` (or
``response-<status>--<variant>.json``).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing.jsonschema import DRAFT202012

from imgspec import jsonfile
from imgspec import pointer as ptr
from imgspec.format import registry as record_registry
from imgspec.format.validation import FORMAT_CHECKER
from imgspec.messages import problem
from imgspec.pointer import render
from imgspec.problems import Problem, ProblemError, mismatch
from imgspec.spec import BASE_URI, Spec

DOCUMENT = "schemas/api/images-v2.openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")  # OpenAPI 3.1 operations
_NAME = re.compile(r"^(?P<part>request|response)(-(?P<status>[1-5][0-9][0-9]))?"
                   r"(\.(?P<media>[a-z0-9.+]+(?:-[a-z0-9.+]+)*))?(--(?P<variant>[a-z0-9-]+))?\.json$")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    node: dict

    @property
    def pointer(self) -> str:
        return render(["paths", self.path, self.method])


def uri(spec: Spec) -> str:
    return BASE_URI + DOCUMENT


def document(spec: Spec) -> dict:
    return spec.load(DOCUMENT)


def operations(spec: Spec) -> dict[str, Operation]:
    doc = document(spec)
    out = {}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                out[op["operationId"]] = Operation(op["operationId"], method, path, op)
    return out


def registry(spec: Spec):
    """The record registry plus the OpenAPI document, built once."""
    return spec.once(("api-registry",), lambda: record_registry.of(spec).with_resource(
        uri(spec), DRAFT202012.create_resource(document(spec))).crawl())


def media_of(op: Operation, part: str, status: str | None, media: str | None) -> tuple[str, str]:
    """(JSON pointer of the schema in the document, media type) of an operation's body."""
    node = op.node.get("requestBody") if part == "request" else op.node.get("responses", {}).get(status or "")
    where = op.pointer + ("/requestBody" if part == "request" else f"/responses/{status}")
    if node is None:
        raise ProblemError(Problem(DOCUMENT, where, "no-such-body", f"{op.operation_id} has no {part} {status or ''}".strip()))
    content = node.get("content", {})
    if media is None:
        json_types = [m for m in content if m == "application/json" or m.endswith("json-patch")]
        if len(json_types) != 1:
            raise ProblemError(Problem(DOCUMENT, where, "ambiguous-media",
                                       f"{op.operation_id} {part}: name the media type ({', '.join(content)})"))
        media = json_types[0]
    elif media not in content:
        media = "application/" + media
    if media not in content:
        raise ProblemError(Problem(DOCUMENT, where, "no-such-media", f"{op.operation_id} {part} has no {media} body"))
    return f"{where}/content{render([media])}/schema", media


def validator(spec: Spec, pointer: str) -> Draft202012Validator:
    """The validator of the schema at ``pointer`` of the document, built once."""
    return spec.once(("api-validator", pointer), lambda: Draft202012Validator(
        {"$ref": f"{uri(spec)}#{pointer}"}, registry=registry(spec), format_checker=FORMAT_CHECKER))


def body_errors(body, op: Operation, part: str, status: str | None = None, media: str | None = None,
                source: str = "<body>", *, spec: Spec) -> list[Problem]:
    """Every problem of a request or response body against the operation's schema."""
    pointer, _ = media_of(op, part, status, media)
    v = validator(spec, pointer)
    return sorted(problem(e, source)
                  for e in v.iter_errors(body))


@dataclass(frozen=True)
class ApiExample:
    path: Path
    operation_id: str
    part: str
    status: str | None
    media: str | None
    valid: bool

    @property
    def expect_path(self) -> Path:
        return self.path.with_name(self.path.name[:-5] + ".expect.json")


def api_examples(spec: Spec) -> list[ApiExample]:
    out = []
    for path in sorted((spec.examples / "api").rglob("*.json")):
        if path.name.endswith(".expect.json"):
            continue
        valid = path.parent.name != "invalid"
        op_dir = path.parent if valid else path.parent.parent
        m = _NAME.match(path.name)
        if not m:
            raise ProblemError(Problem(spec.rel(path), "", "example-name",
                                       "name API examples request[.<media>][--variant].json or "
                                       "response-<status>[--variant].json"))
        out.append(ApiExample(path, op_dir.name, m["part"], m["status"], m["media"], valid))
    return out


SERVED_ONLY = ("$schema", "$id", "$comment", "x-since")  # what a kept served schema adds to what the service serves


def served_schema(spec: Spec, op: Operation) -> tuple[str, dict] | None:
    """(file, body) of an operation that serves a schema the spec keeps as a file (``x-served-schema``): the file is
    its response example, without the keys the spec adds (SERVED_ONLY); None for the others."""
    rel = op.node.get("x-served-schema")
    if rel is None:
        return None
    return rel, {k: v for k, v in spec.load(rel).items() if k not in SERVED_ONLY}


def example_verdict(spec: Spec, example: ApiExample) -> list[str]:
    """Why an API example does not show what its place says (empty when it does)."""
    name = spec.rel(example.path)
    ops = operations(spec)
    if example.operation_id not in ops:
        return [f"{name}: (root): unknown-operation: no operationId {example.operation_id!r} in {DOCUMENT}"]
    try:
        body = jsonfile.load(example.path, display=name)
        found = body_errors(body, ops[example.operation_id], example.part, example.status, example.media, name, spec=spec)
    except ProblemError as exc:
        found = exc.problems
    if example.valid:
        return [str(p) for p in found]
    exp = jsonfile.load(example.expect_path, display=spec.rel(example.expect_path))
    return mismatch(name, exp, found)


MAX_INLINED = 200_000  # values a document with its references inlined may hold (Images API v2 inlined: some twenty thousand)


def _inlined(doc, follow, where, source: str = DOCUMENT):
    """``doc`` with each ``$ref`` that ``follow(ref, where)`` resolves, to ``(target, where inside it)``, replaced by
    its target (the reference's siblings kept), and every reference inside what was inlined followed in turn; a
    reference ``follow`` gives None for stays.  The one reference inliner of the API document."""
    made = [0]

    def walk(node, where, depth):
        if depth > 50:
            raise ProblemError(Problem(source, "", "ref-depth", "references nest deeper than 50"))
        made[0] += 1
        if made[0] > MAX_INLINED:  # references that fan out (each naming several that name several...) end here
            raise ProblemError(Problem(source, "", "max-size", f"inlining its references makes more than "
                                       f"{MAX_INLINED:,} values: they fan out"))
        if isinstance(node, dict):
            ref = node.get("$ref")
            found = follow(ref, where) if isinstance(ref, str) else None
            if found is not None:
                target, inner = found
                return {**{k: v for k, v in node.items() if k != "$ref"}, **walk(target, inner, depth + 1)}
            return {k: walk(v, where, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, where, depth) for v in node]
        return node
    return walk(doc, where, 0)


def bundled(spec: Spec) -> dict:
    """The document with every reference to another file inlined (for tools that would fetch them), through the
    local registry: a served schema's own ``#/definitions/...`` means its file, not the document it lands in."""
    def follow(ref: str, where):
        resolver, elsewhere = where
        if not (elsewhere or not ref.startswith("#")):
            return None
        resolved = resolver.lookup(ref)
        target = copy.deepcopy(resolved.contents)
        if isinstance(target, dict):
            for key in ("$id", "$schema", "$comment"):
                target.pop(key, None)
        return target, (resolved.resolver, True)
    return _inlined(copy.deepcopy(document(spec)), follow, (registry(spec).resolver(base_uri=uri(spec)), False))


def resolve_local(doc: dict, source: str = DOCUMENT) -> dict:
    """``doc`` with every reference inside it (``#/...``) replaced by what it points at (for comparing documents)."""
    def follow(ref: str, where):
        if not ref.startswith("#"):
            return None
        target = ptr.get(doc, ptr.parse(ref[1:]), None)
        if target is None:
            raise ProblemError(Problem(source, ref[1:], "broken-ref", f"{ref} points at nothing"))
        return copy.deepcopy(target), None
    return _inlined(doc, follow, None, source)
