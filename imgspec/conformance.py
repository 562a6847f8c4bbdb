"""Exercise a live Images API v2 endpoint and check every answer against the spec.

``imgspec conformance --endpoint URL`` runs one scenario (create, upload, show, list,
both patch media types, tags, members, deactivate/reactivate, locations, schemas,
info, delete, and the documented errors) and checks, for each exchange, that the
status code is one the operation documents, that it is the one the scenario expects,
and that a JSON body validates against the operation's response schema.  Every
mismatch is one line: ``METHOD PATH: STATUS: POINTER: RULE: MESSAGE``.

Identity: by default the trusted headers of a Keystone-less deployment
(``X-Identity-Status``, ``X-Project-Id``, ``X-User-Id``, ``X-Roles``); ``--header``
adds or replaces any (e.g. ``X-Auth-Token: ...``).
"""
from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

from . import api
from .problems import ProblemError
from .spec import Spec

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
class Report:
    exchanges: int = 0
    mismatches: list[str] = field(default_factory=list)
    operations: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.mismatches


class Client:
    def __init__(self, endpoint: str, headers: dict[str, str], timeout: float = 30):
        self.endpoint = endpoint.rstrip("/")
        self.headers = headers
        self.timeout = timeout

    def call(self, method: str, path: str, body=None, content_type: str | None = None,
             headers: dict | None = None) -> Exchange:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        h = dict(self.headers, **(headers or {}))
        if data is not None:
            h["Content-Type"] = content_type or "application/json"
        req = urllib.request.Request(self.endpoint + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return Exchange(method, path, r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Exchange(method, path, e.code, dict(e.headers), e.read())


class Checker:
    def __init__(self, client: Client, spec: Spec | None = None):
        self.client = client
        self.spec = spec or Spec.default()
        self.ops = api.operations(self.spec)
        self.report = Report()

    def mismatch(self, ex: Exchange, text: str):
        self.report.mismatches.append(f"{ex.method} {ex.path}: {ex.status}: {text}")

    def run(self, operation_id: str, expect: int, path: str, body=None, content_type: str | None = None,
            headers: dict | None = None, as_member: bool = False) -> Exchange:
        op = self.ops[operation_id]
        if as_member:
            headers = dict(headers or {}, **{"X-Project-Id": MEMBER, "X-Roles": "member,reader"})
        ex = self.client.call(op.method.upper(), path, body, content_type, headers)
        self.report.exchanges += 1
        self.report.operations.add(operation_id)
        documented = op.node.get("responses", {})
        if str(ex.status) not in documented:
            self.mismatch(ex, f"(root): status: {ex.status} is not a documented response of {operation_id} "
                              f"({', '.join(documented)})")
        elif ex.status != expect:
            self.mismatch(ex, f"(root): status: expected {expect}, got {ex.status}")
        response = documented.get(str(ex.status), {})
        if "$ref" in response:  # a shared response (components/responses), such as Keystone's 401
            response = api.bundled(self.spec)["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        ctype = ex.headers.get("Content-Type", "").split(";")[0].strip()
        media = response.get("content", {})
        if media and ex.body and ctype not in media:
            self.mismatch(ex, f"(root): content-type: {ctype or 'none'} where {', '.join(media)} is documented")
        elif ctype == "application/json" and "application/json" in media and ex.body:
            try:
                doc = json.loads(ex.body)
            except ValueError as exc:
                self.mismatch(ex, f"(root): malformed-json: {exc}")
            else:
                for p in api.body_errors(doc, op, "response", str(ex.status), "application/json", spec=self.spec):
                    self.mismatch(ex, f"{p.pointer or '(root)'}: {p.rule}: {p.message}")
        for name in response.get("headers", {}):
            if name not in ex.headers and name.lower() not in {k.lower() for k in ex.headers}:
                if name in ("Location", "Accept-Patch", "Content-MD5", "Content-Range"):
                    self.mismatch(ex, f"(root): header: {name} is documented but missing")
        return ex

    def json(self, ex: Exchange):
        try:
            return json.loads(ex.body)
        except ValueError:
            return {}


def scenario(check: Checker) -> Report:
    """The conformance run: each step is an operation with the status the spec says."""
    run = check.run
    run("listVersions", 300, "/")
    run("listVersionsOk", 200, "/versions")
    for name, op in (("image", "showImageSchema"), ("images", "showImagesSchema"), ("member", "showMemberSchema"),
                     ("members", "showMembersSchema"), ("task", "showTaskSchema"), ("tasks", "showTasksSchema")):
        ex = run(op, 200, f"/v2/schemas/{name}")
        served = check.json(ex)
        if name in ("image", "member"):
            mine = check.spec.load(f"schemas/service/{name}.json")
            missing = sorted(set(served.get("properties", {})) - set(mine["properties"]))
            if missing:
                check.mismatch(ex, "/properties: served-schema: properties the spec's "
                                   f"schemas/service/{name}.json lacks: {missing}")
            if name == "image" and served.get("additionalProperties") != mine["additionalProperties"]:
                check.mismatch(ex, "/additionalProperties: served-schema: differs from schemas/service/image.json")
    created = check.json(run("createImage", 201, "/v2/images", {
        "name": "imgspec-conformance", "disk_format": "raw", "container_format": "bare", "tags": ["imgspec"],
        "min_ram": 64, "os_distro": "cirros"}))
    image_id = created.get("id") or str(uuid.uuid4())
    base = f"/v2/images/{image_id}"
    if created.get("visibility") != "shared":
        check.report.mismatches.append(f"POST /v2/images: 201: /visibility: default: the spec says new images are "
                                       f"shared, got {created.get('visibility')!r}")
    run("createImage", 403, "/v2/images", {"name": "x", "status": "active"})
    run("createImage", 400, "/v2/images", {"name": "x", "hw_cpu_cores": 4})
    run("createImage", 409, "/v2/images", {"id": image_id, "name": "again"})
    run("uploadImageData", 415, f"{base}/file", DATA, "application/json")
    run("uploadImageData", 204, f"{base}/file", DATA, "application/octet-stream")
    shown = check.json(run("showImage", 200, base))
    if shown.get("status") != "active" or shown.get("size") != len(DATA):
        check.report.mismatches.append(f"GET {base}: 200: /status: upload: expected active with size {len(DATA)}, "
                                       f"got {shown.get('status')!r} with {shown.get('size')!r}")
    if shown.get("checksum") != hashlib.md5(DATA).hexdigest() or shown.get("os_hash_value") != hashlib.sha512(DATA).hexdigest():
        check.report.mismatches.append(f"GET {base}: 200: /checksum: hashes do not match the uploaded data")
    ex = run("downloadImageData", 200, f"{base}/file")
    if ex.body != DATA:
        check.mismatch(ex, "(root): body: the downloaded data differs from the upload")
    ex = run("downloadImageData", 206, f"{base}/file", headers={"Range": "bytes=0-99"})
    if ex.body != DATA[:100]:
        check.mismatch(ex, "(root): body: the range differs from the uploaded bytes 0-99")
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
    return check.report


def default_headers(project: str = OWNER, roles: str = "admin,member,reader") -> dict[str, str]:
    return {"X-Identity-Status": "Confirmed", "X-Project-Id": project, "X-User-Id": "imgspec-conformance",
            "X-Roles": roles}


def conform(endpoint: str, headers: dict[str, str] | None = None, spec: Spec | None = None) -> Report:
    checker = Checker(Client(endpoint, headers or default_headers()), spec)
    try:
        return scenario(checker)
    except (urllib.error.URLError, OSError) as exc:
        checker.report.mismatches.append(f"{endpoint}: (root): unreachable: {exc}")
        return checker.report
    except ProblemError as exc:  # a broken spec file
        checker.report.mismatches += [str(p) for p in exc.problems]
        return checker.report
