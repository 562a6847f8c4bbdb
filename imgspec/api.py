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

from . import jsonfile
from . import registry as record_registry
from .messages import error_path, message
from .pointer import render
from .problems import Problem, ProblemError, mismatch, pointer_from_parts
from .spec import BASE_URI, Spec
from .validation import FORMAT_CHECKER

DOCUMENT = "schemas/api/images-v2.openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
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
    return sorted(Problem(source, pointer_from_parts(error_path(e)), str(e.validator), message(e))
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


def served_schema(op: Operation, spec: Spec) -> tuple[str, dict] | None:
    """(file, body) of an operation that serves a schema the spec keeps as a file (``x-served-schema``): the file is
    its response example, without the keys the spec adds (SERVED_ONLY); None for the others."""
    rel = op.node.get("x-served-schema")
    if rel is None:
        return None
    return rel, {k: v for k, v in spec.load(rel).items() if k not in SERVED_ONLY}


def example_verdict(example: ApiExample, spec: Spec) -> list[str]:
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


def bundled(spec: Spec) -> dict:
    """The document with every reference to another file inlined (for tools that would fetch them)."""
    reg = registry(spec)
    doc = copy.deepcopy(document(spec))
    resolver = reg.resolver(base_uri=uri(spec))

    def inline(node, resolver, depth=0, elsewhere=False):
        # a reference to another file is inlined, and so is every reference inside what was inlined (a served
        # schema's own "#/definitions/..." means its file, not the document it lands in)
        if depth > 50:
            raise ProblemError(Problem(DOCUMENT, "", "ref-depth", "references nest deeper than 50"))
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and (elsewhere or not ref.startswith("#")):
                resolved = resolver.lookup(ref)
                target = copy.deepcopy(resolved.contents)
                if isinstance(target, dict):
                    target.pop("$id", None)
                    target.pop("$schema", None)
                    target.pop("$comment", None)
                merged = {**{k: v for k, v in node.items() if k != "$ref"},
                          **inline(target, resolved.resolver, depth + 1, True)}
                return merged
            return {k: inline(v, resolver, depth, elsewhere) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v, resolver, depth, elsewhere) for v in node]
        return node

    return inline(doc, resolver)


def resolve_local(doc: dict) -> dict:
    """``doc`` with every reference inside it (``#/...``) replaced by what it points at (for comparing documents)."""
    from . import pointer as ptr

    def inline(node, depth=0):
        if depth > 50:
            raise ProblemError(Problem(DOCUMENT, "", "ref-depth", "references nest deeper than 50"))
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                target = ptr.get(doc, ptr.parse(ref[1:]), None)
                if target is None:
                    raise ProblemError(Problem(DOCUMENT, ref[1:], "broken-ref", f"{ref} points at nothing"))
                return {**{k: v for k, v in node.items() if k != "$ref"}, **inline(copy.deepcopy(target), depth + 1)}
            return {k: inline(v, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v, depth) for v in node]
        return node
    return inline(doc)


RELEASES = "schemas/api/releases.json"


def document_files(spec: Spec) -> list[str]:
    """The files the document is made of: itself and the served schemas it references."""
    return [DOCUMENT, *sorted(spec.rel(p) for p in (spec.schemas / "service").rglob("*.json"))]


def locked_files(release: dict) -> dict[str, str]:
    """The content hash of each file of an API release, as its corrections (in order) left it."""
    files = dict(release["files"])
    for correction in release.get("corrections", []):
        files.update(correction["files"])
    return files


def released_document(spec: Spec) -> tuple[str, dict]:
    """(version, the bundled document) of the last API release recorded in schemas/api/releases.json,
    with its corrections.  Each file is taken from the git history by the content hash recorded for it.
    """
    import shutil
    import tempfile

    from .errata import content_hash, previous_content
    last = spec.load(RELEASES)["api"][-1]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(spec.schemas, Path(tmp) / "schemas")
        for rel, want in locked_files(last).items():
            path = spec.root / rel
            data = path.read_bytes() if path.is_file() and content_hash(path.read_bytes()) == want else \
                previous_content(spec, rel, want)
            (Path(tmp) / rel).write_bytes(data)
        return last["version"], bundled(Spec(Path(tmp)))


def record_release(spec: Spec, note: str, date: str | None = None) -> tuple[dict, list]:
    """Record the document as it is as a new API release (its info.version), locking the content hash of each file
    it is made of.  Refused (nothing written) when info.version is not newer than the last release, when nothing
    changed, when a change clients would notice is not behind the new version, or when the x-since of an element
    names a version the API does not have.  Returns the release and the changes since the last one."""
    from . import apidiff, atomic
    from . import microversions as mv
    from .errata import content_hash
    from .text import now
    data = spec.load(RELEASES)
    last = data["api"][-1]
    version = document(spec)["info"]["version"]
    files = {rel: content_hash((spec.root / rel).read_bytes()) for rel in document_files(spec)}
    old = released_document(spec)[1]
    new = bundled(spec)
    changes = apidiff.compare(old, new)
    problems = mv.problems(spec)  # first: a version the API does not have is no version to compare
    why_not = ("; ".join(str(p) for p in problems) if problems else
               f"info.version {version} is not newer than the last release {last['version']}"
               if mv.key(version) <= mv.key(last["version"]) else
               "nothing of the document changed since its last release" if files == locked_files(last) else
               "; ".join(f"{c.where}: {c.check}" for c in apidiff.unannounced(changes, old, new)))
    if why_not:
        raise ProblemError(Problem(RELEASES, "/api", "release-refused", why_not))
    release = {"version": version, "date": date or now()[:10], "note": note, "files": files}
    data["api"].append(release)
    atomic.write_text(spec.root / RELEASES, jsonfile.dumps(data))
    return release, changes


def record_correction(spec: Spec, correction_id: str, what: str, why: str, evidence: list[str],
                      date: str | None = None) -> tuple[dict, list]:
    """Record the document's changed files as a correction of the last API release: the document now says what
    Glance already did (``evidence``: the Glance files that show it), so the change is no API change and needs
    no newer version.  Returns the correction and the changes it covers (``imgspec.apidiff``), for the review.
    Refused (nothing written) when nothing changed, the id is taken, or no evidence is named.
    """
    from . import apidiff, atomic
    from .errata import content_hash
    from .text import now
    data = spec.load(RELEASES)
    last = data["api"][-1]
    taken = {c["id"] for r in data["api"] for c in r.get("corrections", [])}
    locked = locked_files(last)
    changed = {rel: content_hash((spec.root / rel).read_bytes()) for rel in document_files(spec)
               if content_hash((spec.root / rel).read_bytes()) != locked.get(rel)}
    if correction_id in taken or not changed or not evidence or not all(e.startswith("glance/") for e in evidence):
        why_not = (f"a correction {correction_id!r} exists already" if correction_id in taken else
                   "nothing of the document changed since its last recorded state" if not changed else
                   "name the Glance files that show the behaviour (--evidence glance/...)")
        raise ProblemError(Problem(RELEASES, "/api", "correction-refused", why_not))
    old = released_document(spec)[1]
    changes = apidiff.compare(old, bundled(spec))
    correction = {"id": correction_id, "date": date or now()[:10], "what": what, "why": why, "evidence": evidence,
                  "files": changed}
    last.setdefault("corrections", []).append(correction)
    atomic.write_text(spec.root / RELEASES, jsonfile.dumps(data))
    return correction, changes
