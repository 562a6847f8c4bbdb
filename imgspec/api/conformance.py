"""Exercise a live Images API v2 endpoint and check every answer against the spec.

``imgspec conformance --endpoint URL`` runs one scenario (create, upload, show, list with
filters, both patch media types, tags, members, deactivate/reactivate, locations, schemas,
info, import and the image's tasks, the metadata definitions catalog, the image cache
where the service enables it, delete, and the documented errors) and checks, for each
exchange, that the
status code is one the operation documents, that it is the one the scenario expects,
and that a JSON body validates against the operation's response schema.  Every
mismatch is one line: ``METHOD PATH: STATUS: POINTER: RULE: MESSAGE``.

``--record DIR`` also writes the JSON body of each operation's first exchange per status
(and of its first request) as ``DIR/<operationId>/response-<status>.json`` and
``request.json``: the API examples are captured so from a real service.

Identity: by default the trusted headers of a Keystone-less deployment
(``X-Identity-Status``, ``X-Project-Id``, ``X-User-Id``, ``X-Roles``); ``--header``
adds or replaces any (e.g. ``X-Auth-Token: ...``).
"""
from __future__ import annotations

import hashlib
import http.client
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from imgspec import jsonfile, resources
from imgspec.api import document as api
from imgspec.api import selfcontained
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec

OWNER = "7d9e1a2f4b3c4e5f8a6b0c1d2e3f4a5b"
MEMBER = "2f1e0d9c8b7a46a5b4c3d2e1f0a9b8c7"
DATA = hashlib.sha256(b"imgspec").digest() * 512  # 16 KiB of bytes the format inspector reads as raw


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    headers: dict
    body: bytes


@dataclass
class Verdict:
    """One exchange of the run: the operation, the request, the status the scenario expects and the one answered,
    and what the exchange shows the service does unlike the spec (nothing: it conforms)."""
    number: int
    operation_id: str
    method: str
    path: str
    expected: int
    status: int
    seconds: float
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Report:
    exchanges: int = 0
    mismatches: list[Problem] = field(default_factory=list)  # every problem, in the order found
    operations: set[str] = field(default_factory=set)
    verdicts: list[Verdict] = field(default_factory=list)  # each exchange's
    stopped: list[Problem] = field(default_factory=list)  # why the run ended before its last step, if it did

    @property
    def ok(self) -> bool:
        return not self.mismatches


class Client:
    """HTTP exchanges bounded in time and size (:mod:`imgspec.resources`): a server that fails, stalls, trickles or
    floods is one problem naming the URL (``timeout``, ``unreachable``, ``bad-response``), raised as an error."""

    def __init__(self, endpoint: str, headers: dict[str, str], timeout: float = resources.HTTP_SECONDS):
        self.endpoint = endpoint.rstrip("/")
        self.headers = headers
        self.timeout = timeout

    def call(self, method: str, path: str, body=None, content_type: str | None = None,
             headers: dict | None = None) -> Exchange:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        h = dict(self.headers, **(headers or {}))
        if data is not None:
            h["Content-Type"] = content_type or "application/json"
        url = self.endpoint + path
        deadline = time.monotonic() + self.timeout
        try:
            req = urllib.request.Request(url, data=data, method=method, headers=h)
            with urllib.request.urlopen(req, timeout=self.timeout) as r:  # connect, and each read
                return Exchange(method, path, r.status, dict(r.headers), self._body(r, url, deadline))
        except urllib.error.HTTPError as e:
            return Exchange(method, path, e.code, dict(e.headers or {}), self._body(e, url, deadline))
        except ProblemError:
            raise
        except (OSError, ValueError, http.client.HTTPException) as exc:
            raise ProblemError(resources.http_problem(f"{method} {url}", exc)) from None

    def _body(self, response, url: str, deadline: float) -> bytes:
        """The body, read in pieces: refused once larger than the bound, or when the whole takes too long."""
        declared = response.headers.get("Content-Length") if response.headers else None
        if declared and declared.isdigit() and int(declared) > resources.HTTP_MAX_BODY:
            raise ProblemError(Problem(url, "", "bad-response", f"a body of {int(declared)} bytes is larger than "
                                       f"{resources.HTTP_MAX_BODY} (Content-Length)"))
        parts, size = [], 0
        read = getattr(response, "read1", response.read)  # what has come, not a full piece: a trickle is timed
        while chunk := read(65536):
            size += len(chunk)
            if size > resources.HTTP_MAX_BODY:
                raise ProblemError(Problem(url, "", "bad-response", f"a body larger than {resources.HTTP_MAX_BODY} "
                                           "bytes"))
            if time.monotonic() > deadline:
                raise ProblemError(Problem(url, "", "timeout", f"the response took longer than {self.timeout:g} s"))
            parts.append(chunk)
        return b"".join(parts)


class Checker:
    def __init__(self, client: Client, spec: Spec | None = None, record: Path | None = None):
        self.client = client
        self.spec = spec or Spec.default()
        self.ops = api.operations(self.spec)
        # the self-contained document as the spec tree gives it (what schemas/bundled/api/ publishes, held equal by
        # `imgspec check`): its statuses, media types and shared responses are what an exchange is held to; bodies
        # are validated against the same schemas (its rewrites change no verdict), through the modular files
        self.published = self.spec.once(("api-published",), lambda: selfcontained.self_contained(self.spec, {}))
        self.report = Report()
        self.record = record

    def keep(self, operation_id: str, name: str, data: bytes | None) -> None:
        """--record: the first JSON body of its kind, as the service sent it (pretty-printed)."""
        if self.record is None or not data:
            return
        try:
            doc = jsonfile.loads(data, operation_id)
        except ProblemError:
            return
        path = self.record / operation_id / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(jsonfile.dumps(doc), encoding="utf-8")

    def mismatch(self, ex: Exchange, pointer: str, rule: str, message: str) -> None:
        """What an exchange shows the service does unlike the spec: a problem of ``METHOD PATH: STATUS``."""
        self.found(f"{ex.method} {ex.path}: {ex.status}", pointer, rule, message)

    def found(self, where: str, pointer: str, rule: str, message: str) -> None:
        """A problem the run found; it belongs to the last exchange (the one the step read it from)."""
        problem = Problem(where, pointer, rule, message)
        self.report.mismatches.append(problem)
        if self.report.verdicts:
            self.report.verdicts[-1].problems.append(problem)
        else:
            self.report.stopped.append(problem)

    def stop(self, problems: list[Problem]) -> None:
        """The run cannot go on (the server failed, or a body of another shape): the report says why."""
        self.report.mismatches += problems
        self.report.stopped += problems

    def run(self, operation_id: str, expect: int, path: str, body=None, content_type: str | None = None,
            headers: dict | None = None, as_member: bool = False) -> Exchange:
        op = self.ops[operation_id]
        if as_member:
            headers = dict(headers or {}, **{"X-Project-Id": MEMBER, "X-Roles": "member,reader"})
        started = time.monotonic()
        ex = self.client.call(op.method.upper(), path, body, content_type, headers)
        self.report.verdicts.append(Verdict(len(self.report.verdicts) + 1, operation_id, ex.method, path, expect,
                                            ex.status, round(time.monotonic() - started, 3)))
        if not isinstance(body, (bytes, type(None))) and 200 <= ex.status < 300:
            media = (content_type or "application/json").removeprefix("application/")
            self.keep(operation_id, "request.json" if media == "json" else f"request.{media}.json",
                      json.dumps(body).encode())
        if ex.status < 400:
            self.keep(operation_id, f"response-{ex.status}.json", ex.body)
        self.report.exchanges += 1
        self.report.operations.add(operation_id)
        documented = self.published["paths"][op.path][op.method].get("responses", {})
        if str(ex.status) not in documented:
            self.mismatch(ex, "", "status", f"{ex.status} is not a documented response of {operation_id} "
                              f"({', '.join(documented)})")
        elif ex.status != expect:
            self.mismatch(ex, "", "status", f"expected {expect}, got {ex.status}")
        response = documented.get(str(ex.status), {})
        if "$ref" in response:  # a shared response (components/responses), such as Keystone's 401
            response = self.published["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        ctype = ex.headers.get("Content-Type", "").split(";")[0].strip()
        media = response.get("content", {})
        if media and ex.body and ctype not in media:
            self.mismatch(ex, "", "content-type", f"{ctype or 'none'} where {', '.join(media)} is documented")
        elif ctype == "application/json" and "application/json" in media and ex.body:
            try:  # strictly, bounded in depth: a body nested too deep is a mismatch, never a recursion error
                doc = jsonfile.loads(ex.body, f"{ex.method} {ex.path}")
            except ProblemError as exc:
                self.mismatch(ex, exc.problems[0].pointer, exc.problems[0].rule, exc.problems[0].message)
            else:
                for p in api.body_errors(doc, op, "response", str(ex.status), "application/json", spec=self.spec):
                    self.mismatch(ex, p.pointer, p.rule, p.message)
        for name in response.get("headers", {}):
            if name not in ex.headers and name.lower() not in {k.lower() for k in ex.headers}:
                if name in ("Location", "Accept-Patch", "Content-MD5", "Content-Range"):
                    self.mismatch(ex, "", "header", f"{name} is documented but missing")
        return ex

    def json(self, ex: Exchange, expect: type = dict):
        """The body as JSON of the type the step expects (an object, or a list), else an empty one: a body of
        another shape is found by the body's schema, and the steps that follow read nothing from it."""
        try:
            doc = jsonfile.loads(ex.body, f"{ex.method} {ex.path}")
        except ProblemError:
            return expect()
        return doc if isinstance(doc, expect) else expect()


def scenario(check: Checker) -> Report:
    """The conformance run: each step is an operation with the status the spec says."""
    run = check.run
    versions(check, run("listVersions", 300, "/"), "listVersions/response-300")
    listed = run("listVersionsOk", 200, "/versions")
    if not check.json(listed).get("versions"):  # not an Images API: every later step would wait for nothing
        raise ProblemError(Problem(f"GET {check.client.endpoint}/versions", "", "bad-response",
                                   f"not an Images API: answered {listed.status} "
                                   f"{listed.headers.get('Content-Type', 'without a Content-Type')} without a "
                                   "versions list"))
    versions(check, listed)
    for name, op in (("image", "showImageSchema"), ("images", "showImagesSchema"), ("member", "showMemberSchema"),
                     ("members", "showMembersSchema"), ("task", "showTaskSchema"), ("tasks", "showTasksSchema")):
        ex = run(op, 200, f"/v2/schemas/{name}")
        served = check.json(ex)
        if name in ("image", "member"):
            mine = check.spec.load(f"schemas/service/{name}.json")
            missing = sorted(set(served.get("properties", {})) - set(mine["properties"]))
            if missing:
                check.mismatch(ex, "/properties", "served-schema", "properties the spec's "
                                   f"schemas/service/{name}.json lacks: {missing}")
            if name == "image" and served.get("additionalProperties") != mine["additionalProperties"]:
                check.mismatch(ex, "/additionalProperties", "served-schema", "differs from schemas/service/image.json")
    created = check.json(run("createImage", 201, "/v2/images", {
        "name": "imgspec-conformance", "disk_format": "raw", "container_format": "bare", "tags": ["imgspec"],
        "min_ram": 64, "os_distro": "cirros"}))
    image_id = created.get("id") or str(uuid.uuid4())
    base = f"/v2/images/{image_id}"
    if created.get("visibility") != "shared":
        check.found("POST /v2/images: 201", "/visibility", "default", f"the spec says new images are "
                                       f"shared, got {created.get('visibility')!r}")
    run("createImage", 403, "/v2/images", {"name": "x", "status": "active"})
    run("createImage", 400, "/v2/images", {"name": "x", "hw_cpu_cores": 4})
    run("createImage", 409, "/v2/images", {"id": image_id, "name": "again"})
    run("uploadImageData", 415, f"{base}/file", DATA, "application/json")
    run("uploadImageData", 204, f"{base}/file", DATA, "application/octet-stream")
    shown = check.json(run("showImage", 200, base))
    if shown.get("status") != "active" or shown.get("size") != len(DATA):
        check.found(f"GET {base}: 200", "/status", "upload", f"expected active with size {len(DATA)}, "
                                       f"got {shown.get('status')!r} with {shown.get('size')!r}")
    if shown.get("checksum") != hashlib.md5(DATA).hexdigest() or shown.get("os_hash_value") != hashlib.sha512(DATA).hexdigest():
        check.found(f"GET {base}: 200", "/checksum", "upload", "hashes do not match the uploaded data")
    ex = run("downloadImageData", 200, f"{base}/file")
    if ex.body != DATA:
        check.mismatch(ex, "", "body", "the downloaded data differs from the upload")
    ex = run("downloadImageData", 206, f"{base}/file", headers={"Range": "bytes=0-99"})
    if ex.body != DATA[:100]:
        check.mismatch(ex, "", "body", "the range differs from the uploaded bytes 0-99")
    run("listImages", 200, "/v2/images?limit=2&sort=name:asc")
    run("listImages", 400, "/v2/images?sort_key=nonexistent_key")
    run("updateImage", 200, base, [{"op": "replace", "path": "/name", "value": "imgspec-conformance-2"},
                                   {"op": "add", "path": "/hw_disk_bus", "value": "virtio"}],
        "application/openstack-images-v2.1-json-patch")
    run("updateImage", 200, base, [{"replace": "/min_disk", "value": 1}], "application/openstack-images-v2.0-json-patch")
    run("updateImage", 415, base, [{"op": "replace", "path": "/name", "value": "x"}], "application/json")
    run("updateImage", 409, base, [{"op": "replace", "path": "/no_such_property", "value": "x"}],
        "application/openstack-images-v2.1-json-patch")
    run("updateImage", 403, base, [{"op": "remove", "path": "/name"}], "application/openstack-images-v2.1-json-patch")
    run("addImageTag", 204, f"{base}/tags/conformance")
    run("deleteImageTag", 204, f"{base}/tags/conformance")
    run("deleteImageTag", 404, f"{base}/tags/conformance")
    run("createImageMember", 200, f"{base}/members", {"member": MEMBER})
    run("createImageMember", 409, f"{base}/members", {"member": MEMBER})
    run("listImageMembers", 200, f"{base}/members")
    run("showImageMember", 200, f"{base}/members/{MEMBER}")
    run("updateImageMember", 200, f"{base}/members/{MEMBER}", {"status": "accepted"}, as_member=True)
    run("listImageLocations", 200, f"{base}/locations")
    run("deactivateImage", 204, f"{base}/actions/deactivate")
    run("reactivateImage", 204, f"{base}/actions/reactivate")
    run("showImportInfo", 200, "/v2/info/import")
    run("listStores", 200, "/v2/info/stores")
    run("showUsage", 200, "/v2/info/usage")
    run("listTasks", 200, "/v2/tasks")
    run("deleteImageMember", 204, f"{base}/members/{MEMBER}")
    run("updateImage", 200, base, [{"op": "replace", "path": "/protected", "value": True}],
        "application/openstack-images-v2.1-json-patch")
    run("deleteImage", 403, base)
    run("updateImage", 200, base, [{"op": "replace", "path": "/protected", "value": False}],
        "application/openstack-images-v2.1-json-patch")
    run("deleteImage", 204, base)
    run("showImage", 404, base)
    staged = check.json(run("createImage", 201, "/v2/images", {"name": "imgspec-import", "disk_format": "raw",
                                                              "container_format": "bare"}))
    sbase = f"/v2/images/{staged.get('id', image_id)}"
    run("stageImageData", 204, f"{sbase}/stage", DATA, "application/octet-stream")
    run("importImage", 202, f"{sbase}/import", {"method": {"name": "glance-direct"}})
    imported = imports_done(check, sbase)  # before anything else: the service runs the import meanwhile
    run("listImageTasks", 200, f"{sbase}/tasks")
    tasks = check.json(run("listTasks", 200, "/v2/tasks")).get("tasks") or [{"id": str(uuid.uuid4())}]
    run("showTask", 200, f"/v2/tasks/{tasks[0]['id']}")
    run("showTask", 404, f"/v2/tasks/{uuid.uuid4()}")
    run("deleteTask", 405, f"/v2/tasks/{tasks[0]['id']}")
    run("createTask", 400, "/v2/tasks", {"type": "no-such-type", "input": {}})
    run("createTask", 403, "/v2/tasks", {"type": "import", "input": {}}, as_member=True)
    if imported:
        stores(check, sbase)
    run("listStoresDetail", 200, "/v2/info/stores/detail")
    run("listStoresDetail", 403, "/v2/info/stores/detail", as_member=True)
    list_filters(check)
    refusals(check)
    add_location_constraints(check)
    metadefs(check)
    cache(check)
    return check.report


def versions(check: Checker, ex: Exchange, example_of: str = "listVersionsOk/response-200") -> None:
    """The versions a service lists are those of the spec's example: 2.18 CURRENT with the image cache, else 2.17
    (examples/api/listVersionsOk/response-200.json and response-200--no-cache.json, and those of GET /;
    glance/api/versions.py)."""
    listed = [(v.get("id"), v.get("status")) for v in check.json(ex).get("versions", [])]
    name = f"{example_of}.json" if ("v2.18", "CURRENT") in listed else f"{example_of}--no-cache.json"
    example = check.spec.load(f"examples/api/{name}")
    shown = [(v["id"], v["status"]) for v in example["versions"]]
    if sorted(listed) != sorted(shown):
        def words(pairs) -> str:
            return ", ".join(f"{i} ({s})" for i, s in sorted(pairs, key=str)) or "nothing more"
        check.mismatch(ex, "/versions", "versions", f"the service lists {words(set(listed) - set(shown))} and not "
                           f"{words(set(shown) - set(listed))} of examples/api/{name}")


IMPORT_SECONDS = 90  # how long an import or a copy may take on a busy machine before it counts as a failure


def wait_for(check: Checker, path: str, done, seconds: float = 30) -> dict:
    """Poll GET path (not an exchange of the run) until done(body) or the time is up; the last body."""
    deadline = time.monotonic() + seconds
    while True:
        ex = check.client.call("GET", path)
        body = check.json(ex)
        if ex.status != 200 or done(body) or time.monotonic() > deadline:  # an error answer will not change
            return body
        time.sleep(0.5)


def imports_done(check: Checker, base: str) -> bool:
    """Wait until the image's import is done: the image active and the task's import lock (os_glance_import_task)
    given up.  False, with a mismatch, when that takes longer than IMPORT_SECONDS."""
    imported = wait_for(check, base, lambda b: b.get("status") == "active" and not b.get("os_glance_import_task"),
                        IMPORT_SECONDS)
    if imported.get("status") == "active" and not imported.get("os_glance_import_task"):
        return True
    check.found(f"GET {base}: 200", "/status", "import", f"not active (or still locked) after "
                                   f"{IMPORT_SECONDS} s: {imported.get('status')!r}")
    return False


def stores(check: Checker, base: str) -> None:
    """An imported image copied to a second store (copy-image) and removed from it; the last store is kept."""
    run = check.run
    image_id = base.rsplit("/", 1)[1]
    names = [s.get("id") for s in check.json(run("listStores", 200, "/v2/info/stores")).get("stores", [])]
    if len(names) < 2:
        check.found("GET /v2/info/stores: 200", "/stores", "scenario", "two stores are needed")
        return
    run("importImage", 202, f"{base}/import", {"method": {"name": "copy-image"}, "stores": [names[1]]})
    shown = wait_for(check, base, lambda b: names[1] in (b.get("stores") or "").split(",")
                     and not b.get("os_glance_import_task") and not b.get("os_glance_importing_to_stores"),
                     IMPORT_SECONDS)
    if names[1] not in (shown.get("stores") or "").split(",") or shown.get("os_glance_import_task"):
        check.found(f"GET {base}: 200", "/stores", "copy-image", f"not copied to {names[1]} (or still "
                                       f"locked) after {IMPORT_SECONDS} s")
        return
    run("deleteImageFromStore", 204, f"/v2/stores/{names[1]}/{image_id}")
    run("deleteImageFromStore", 403, f"/v2/stores/{names[0]}/{image_id}")  # the only store left
    run("deleteImageFromStore", 409, f"/v2/stores/no-such-store/{image_id}")
    run("deleteImageFromStore", 404, f"/v2/stores/{names[0]}/{uuid.uuid4()}")


def list_filters(check: Checker) -> None:
    """GET /v2/images with the filters Glance parses, each checked for what it selects."""
    run = check.run
    image = check.json(run("createImage", 201, "/v2/images", {
        "name": "imgspec-filters", "disk_format": "raw", "container_format": "bare", "tags": ["imgspec", "filters"],
        "os_distro": "imgspec-os"}))
    image_id = image.get("id", "")

    def ids(query: str, expect: int = 200) -> set:
        got = check.json(run("listImages", expect, "/v2/images?" + query))
        return {i.get("id") for i in got.get("images", [])} if expect == 200 else set()

    selects = {"name=in:imgspec-filters,%22a,b%22": True, f"id=in:{image_id}": True, "name=eq:imgspec-filters": True,
               "tag=imgspec&tag=filters": True, "tag=imgspec&tag=no-such-tag": False, "size_max=0": False,
               "created_at=gte:2000-01-01T00:00:00Z": True, "created_at=lt:2000-01-01T00:00:00Z": False,
               "updated_at=neq:2000-01-01T00:00:00Z": True, "os_hidden=false": True, "os_hidden=true": False,
               "protected=false": True, "os_distro=imgspec-os": True, "os_distro=other": False,
               "status=in:queued,active": True, "disk_format=raw&container_format=bare": True,
               "sort_key=name&sort_dir=asc&sort_key=created_at&sort_dir=desc": True, "sort=name:asc,size": True,
               "visibility=all&member_status=all": True}
    for query, listed in selects.items():
        if (image_id in ids(query)) != listed:
            check.found(f"GET /v2/images?{query}: 200", "", "filter", f"the image is "
                                           f"{'missing' if listed else 'listed'}")
    for query in ("created_at=bogus", "changes-since=2000-01-01T00:00:00Z", "size_min=x", "name=gt:x",
                  "sort=name:asc&sort_key=name", "sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc&sort_dir=asc",
                  "sort_dir=sideways", "limit=-1", "member_status=maybe", "visibility=everyone"):
        ids(query, 400)
    run("deleteImage", 204, f"/v2/images/{image_id}")


def refusals(check: Checker) -> None:
    """The 4xx Glance answers that the main run does not meet: callers without the roles, ids of nothing."""
    run = check.run
    nobody = {"X-Roles": ""}
    reader = {"X-Roles": "reader"}
    nothing = f"/v2/images/{uuid.uuid4()}"
    image = check.json(run("createImage", 201, "/v2/images", {"name": "imgspec-refusals", "disk_format": "raw",
                                                              "container_format": "bare"}))
    base = f"/v2/images/{image.get('id', uuid.uuid4())}"
    run("listImages", 403, "/v2/images", headers=nobody)
    run("addImageTag", 403, f"{base}/tags/refused", headers=reader)
    run("deleteImageTag", 403, f"{base}/tags/refused", headers=reader)
    run("uploadImageData", 403, f"{base}/file", DATA, "application/octet-stream", headers=reader)
    run("uploadImageData", 404, f"{nothing}/file", DATA, "application/octet-stream")
    run("stageImageData", 403, f"{base}/stage", DATA, "application/octet-stream", headers=reader)
    run("stageImageData", 404, f"{nothing}/stage", DATA, "application/octet-stream")
    run("importImage", 404, f"{nothing}/import", {"method": {"name": "glance-direct"}})
    run("addImageLocation", 404, f"{nothing}/locations", {"url": "http://glance.example/imgspec.raw"})
    run("createImageMember", 400, f"{base}/members", {})
    run("createImageMember", 200, f"{base}/members", {"member": MEMBER})
    run("updateImageMember", 400, f"{base}/members/{MEMBER}", {"status": "maybe"}, as_member=True)
    run("listTasks", 403, "/v2/tasks", as_member=True)
    run("showTask", 403, f"/v2/tasks/{uuid.uuid4()}", as_member=True)
    run("listMetadefNamespaces", 404, "/v2/metadefs/namespaces", headers=nobody)
    run("listMetadefResourceTypes", 404, "/v2/metadefs/resource_types", headers=nobody)
    run("deleteImage", 204, base)


def add_location_constraints(check: Checker) -> None:
    """POST /v2/images/{id}/locations: the validation data Glance refuses."""
    run = check.run
    image = check.json(run("createImage", 201, "/v2/images", {"name": "imgspec-location", "disk_format": "raw",
                                                              "container_format": "bare"}))
    base = f"/v2/images/{image.get('id', uuid.uuid4())}/locations"
    service = {"X-Roles": "admin,member,reader,service"}
    url = "http://glance.example/imgspec.raw"
    run("addImageLocation", 400, base, {"url": url, "validation_data": {"os_hash_algo": "sha512"}}, headers=service)
    run("addImageLocation", 400, base, {"url": url, "validation_data": {"checksum": "0" * 32}}, headers=service)
    run("addImageLocation", 400, base, {"url": url, "validation_data": {"os_hash_algo": "sha3", "os_hash_value": "00"}},
        headers=service)
    run("addImageLocation", 400, base, {"url": url, "validation_data": {"os_hash_algo": "sha256", "os_hash_value": "ab"}},
        headers=service)
    run("addImageLocation", 403, base, {"url": url})  # without the service role only the http store may be added to
    run("deleteImage", 204, base.rsplit("/", 1)[0])


def metadefs(check: Checker) -> None:
    """The metadata definitions catalog, as an admin: every operation, the served schemas held to the spec's."""
    run = check.run
    for op in check.ops.values():  # every operation that serves a schema the spec keeps (x-served-schema)
        found = api.served_schema(check.spec, op)
        if found is not None:
            rel, mine = found
            ex = run(op.operation_id, 200, op.path)
            if ex.status == 200 and check.json(ex) != mine:
                check.mismatch(ex, "", "served-schema", f"differs from {rel}")
    ns = "imgspec-conformance"
    base = f"/v2/metadefs/namespaces/{ns}"
    run("createMetadefNamespace", 201, "/v2/metadefs/namespaces", {
        "namespace": ns, "display_name": "imgspec conformance", "description": "Definitions the conformance run makes.",
        "visibility": "public", "protected": False,
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "imgspec_"}],
        "properties": {"cpu_policy": {"title": "CPU policy", "type": "string", "enum": ["shared", "dedicated"]}},
        "objects": [{"name": "Memory", "description": "Memory settings", "required": ["pages"],
                     "properties": {"pages": {"title": "Page size", "type": "integer", "minimum": 4}}}],
        "tags": [{"name": "imgspec"}]})
    run("createMetadefNamespace", 409, "/v2/metadefs/namespaces", {"namespace": ns})
    run("createMetadefNamespace", 400, "/v2/metadefs/namespaces", {"namespace": "x", "visibility": "everyone"})
    run("createMetadefNamespace", 403, "/v2/metadefs/namespaces", {"namespace": "x"}, as_member=True)
    run("listMetadefNamespaces", 200, "/v2/metadefs/namespaces?limit=1&sort_key=namespace&sort_dir=asc&visibility=public")
    run("listMetadefNamespaces", 400, "/v2/metadefs/namespaces?sort_dir=sideways")
    run("showMetadefNamespace", 200, base)
    shown = check.json(run("showMetadefNamespace", 200, f"{base}?resource_type=OS::Glance::Image"))
    if "imgspec_cpu_policy" not in shown.get("properties", {}):
        check.found(f"GET {base}?resource_type=OS::Glance::Image: 200", "/properties", "prefix",
                    "the association's prefix is not applied")
    run("updateMetadefNamespace", 200, base, {"namespace": ns, "display_name": "imgspec conformance (updated)",
                                              "visibility": "public", "protected": False})
    objects = f"{base}/objects"
    run("listMetadefObjects", 200, objects)
    run("createMetadefObject", 201, objects, {"name": "CPU", "properties": {
        "threads": {"title": "Threads", "type": "integer", "minimum": 1}}})
    run("createMetadefObject", 409, objects, {"name": "CPU"})
    run("showMetadefObject", 200, f"{objects}/CPU")
    run("updateMetadefObject", 200, f"{objects}/CPU", {"name": "CPU", "description": "CPU topology", "properties": {}})
    run("deleteMetadefObject", 204, f"{objects}/CPU")
    run("showMetadefObject", 404, f"{objects}/CPU")
    properties = f"{base}/properties"
    run("listMetadefProperties", 200, properties)
    run("createMetadefProperty", 201, properties, {"name": "watchdog", "title": "Watchdog", "type": "string",
                                                   "enum": ["disabled", "reset", "poweroff"]})
    run("createMetadefProperty", 400, properties, {"name": "untyped", "title": "No type"})
    run("createMetadefProperty", 409, properties, {"name": "watchdog", "title": "Again", "type": "string"})
    run("showMetadefProperty", 200, f"{properties}/watchdog")
    run("updateMetadefProperty", 200, f"{properties}/watchdog", {"name": "watchdog", "title": "Watchdog action",
                                                                 "type": "string", "default": "disabled"})
    run("deleteMetadefProperty", 204, f"{properties}/watchdog")
    tags = f"{base}/tags"
    run("listMetadefTags", 200, f"{tags}?limit=10&sort_key=name&sort_dir=asc")
    run("listMetadefTags", 400, f"{tags}?sort_dir=sideways")
    run("createMetadefTags", 201, tags, {"tags": [{"name": "gpu"}, {"name": "ssd"}]})
    run("createMetadefTags", 201, tags, {"tags": [{"name": "nvme"}]}, headers={"X-Openstack-Append": "true"})
    kept = {t.get("name") for t in check.json(run("listMetadefTags", 200, tags)).get("tags", [])}
    if kept != {"gpu", "ssd", "nvme"}:
        check.found(f"GET {tags}: 200", "/tags", "append", f"expected gpu, ssd and nvme, got {sorted(kept)}")
    run("createMetadefTags", 409, tags, {"tags": [{"name": "dup"}, {"name": "dup"}]})
    run("createMetadefTag", 201, f"{tags}/hdd")
    run("createMetadefTag", 409, f"{tags}/hdd")
    run("showMetadefTag", 200, f"{tags}/hdd")
    run("updateMetadefTag", 200, f"{tags}/hdd", {"name": "spinning"})
    run("deleteMetadefTag", 204, f"{tags}/spinning")
    run("showMetadefTag", 404, f"{tags}/spinning")
    run("deleteMetadefTags", 204, tags)
    run("listMetadefResourceTypes", 200, "/v2/metadefs/resource_types")
    associations = f"{base}/resource_types"
    run("listMetadefResourceTypeAssociations", 200, associations)
    run("createMetadefResourceTypeAssociation", 201, associations, {"name": "OS::Nova::Flavor", "prefix": "imgspec:"})
    run("createMetadefResourceTypeAssociation", 409, associations, {"name": "OS::Nova::Flavor", "prefix": "imgspec:"})
    run("deleteMetadefResourceTypeAssociation", 204, f"{associations}/OS::Nova::Flavor")
    run("deleteMetadefObjects", 204, objects)
    run("deleteMetadefProperties", 204, properties)
    run("updateMetadefNamespace", 200, base, {"namespace": ns, "protected": True})
    run("deleteMetadefNamespace", 403, base)
    run("updateMetadefNamespace", 200, base, {"namespace": ns, "protected": False})
    run("deleteMetadefNamespace", 204, base)
    run("showMetadefNamespace", 404, base)
    run("listMetadefObjects", 404, objects)


def cache(check: Checker) -> None:
    """The image cache API: served (version 2.18 is CURRENT) or not (every cache operation answers 404)."""
    run = check.run
    versions = check.json(check.client.call("GET", "/versions")).get("versions", [])
    if not any(v.get("id") == "v2.18" for v in versions):
        run("listCachedImages", 404, "/v2/cache")
        return
    image = check.json(run("createImage", 201, "/v2/images", {"name": "imgspec-cache", "disk_format": "raw",
                                                              "container_format": "bare"}))
    base = f"/v2/cache/{image.get('id', uuid.uuid4())}"
    run("queueImageForCaching", 400, base)  # not active yet
    run("uploadImageData", 204, f"/v2/images/{image.get('id')}/file", DATA, "application/octet-stream")
    run("queueImageForCaching", 202, base)
    run("queueImageForCaching", 404, f"/v2/cache/{uuid.uuid4()}")
    run("listCachedImages", 200, "/v2/cache")
    # a worker thread of the node caches it
    wait_for(check, "/v2/cache", lambda b: any(c.get("image_id") == image.get("id") for c in b.get("cached_images", [])))
    nodes = check.json(run("listCachedNodes", 200, f"/v2/cache/nodes/{image.get('id')}"), list)
    if not nodes:
        check.found(f"GET /v2/cache/nodes/{image.get('id')}: 200", "", "cache", "the image was "
                                       "never cached")
    run("listCachedImages", 403, "/v2/cache", as_member=True)
    run("cleanCache", 200, "/v2/cache/clean")
    run("pruneCache", 200, "/v2/cache/prune")
    run("deleteCachedImage", 204, base)
    run("clearCache", 400, "/v2/cache", headers={"x-image-cache-clear-target": "everything"})
    run("clearCache", 204, "/v2/cache", headers={"x-image-cache-clear-target": "queue"})
    run("clearCache", 204, "/v2/cache")
    run("deleteImage", 204, f"/v2/images/{image.get('id')}")


def default_headers(project: str = OWNER, roles: str = "admin,member,reader") -> dict[str, str]:
    return {"X-Identity-Status": "Confirmed", "X-Project-Id": project, "X-User-Id": "imgspec-conformance",
            "X-Roles": roles}


def conform(endpoint: str, headers: dict[str, str] | None = None, spec: Spec | None = None,
            record: Path | None = None, timeout: float = resources.HTTP_SECONDS) -> Report:
    checker = Checker(Client(endpoint, headers or default_headers(), timeout), spec, record)
    try:
        return scenario(checker)
    except ProblemError as exc:  # a server that failed (timeout, unreachable, bad-response), or a broken spec file
        checker.stop(exc.problems)
        return checker.report
    except (AttributeError, TypeError, KeyError, IndexError) as exc:  # a body whose inside is of another shape
        checker.stop([Problem(endpoint, "", "bad-response", f"a body is not of the shape the spec gives, so the run "
                              f"cannot go on ({type(exc).__name__}: {exc}); the mismatches above say where")])
        return checker.report
