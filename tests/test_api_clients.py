"""What users generate from the self-contained API document works: a typed Python client
(openapi-python-client, pinned in tools/openapi-python-client) driving a real Glance, and a mock server (Stoplight
Prism, pinned in tools/prism) answering every operation with the example the document carries."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from support import ROOT, SPEC

from imgspec import pointer as ptr
from imgspec.api import conformance, selfcontained
from imgspec.api import document as api

from glance_live import free_port

DOCUMENT = ROOT / selfcontained.FILE
OPC = ROOT / "_build" / "openapi-python-client" / "bin"
PRISM = ROOT / "_build" / "prism" / "node_modules" / ".bin" / "prism"
# mypy errors the generator (0.29.1) writes into its own code, each from a name of Glance's bodies it does not
# expect: ServedSchema has a property named additionalProperties (its generated attribute collides with the
# model's additional_properties); Versions holds one property named versions (its from_dict reuses the name for
# the list and the model); the raw data uploads are typed str where its template reads a File's payload.
GENERATOR_DEFECTS = {"models/served_schema.py", "models/versions.py", "api/image_data/upload_image_data.py",
                     "api/image_data/stage_image_data.py"}


def run(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    assert (OPC / "openapi-python-client").exists(), \
        f"{OPC} lacks openapi-python-client: `make openapi-python-client` (part of `make test`) installs it"
    out = tmp_path_factory.mktemp("generated")
    done = run(OPC / "openapi-python-client", "generate", "--path", DOCUMENT, "--meta", "none",
               "--config", ROOT / "tools/openapi-python-client/config.yaml", cwd=out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout + done.stderr


def test_the_generator_takes_every_schema_and_every_operation(client_package):
    out, said = client_package
    assert "Unable to process schema" not in said
    warned = re.findall(r"WARNING parsing (\S+ \S+)", said)
    assert warned == ["PATCH /v2/images/{image_id}"]  # its v2.0 media type only (tools/openapi-python-client/config.yaml)
    assert "Unsupported content type application/openstack-images-v2.0-json-patch" in said
    package = out / "glance_images_client"
    endpoints = [p for p in (package / "api").rglob("*.py") if p.name != "__init__.py"]
    doc = json.loads(DOCUMENT.read_text())
    operations = [o for item in doc["paths"].values() for o in item.values() if isinstance(o, dict) and "operationId" in o]
    assert len(endpoints) == len(operations) == 83
    models = {p.stem for p in (package / "models").glob("*.py")}
    assert {"image", "image_list", "member", "member_list", "task", "task_list", "metadef_namespace",
            "metadef_namespaces", "served_image", "patch_v21_item"} <= models
    show = (package / "api/images/show_image.py").read_text()
    assert re.search(r"def sync\([^)]*\) -> Image \| str \| None:", show, re.S)  # a typed Image, no bare string only


def test_the_generated_client_type_checks(client_package):
    out, _ = client_package
    env = dict(os.environ, MYPYPATH=str(out))
    script = ROOT / "tests/glance/use_generated_client.py"
    done = run(OPC / "mypy", "--strict", "--follow-imports=silent", "--no-incremental", "--cache-dir", os.devnull,
               script, env=env, cwd=out)
    assert done.returncode == 0, done.stdout[-3000:]
    done = run(OPC / "mypy", "--no-incremental", "--cache-dir", os.devnull, "glance_images_client", env=env, cwd=out)
    files = {line.split(":", 1)[0].removeprefix("glance_images_client/") for line in done.stdout.splitlines()
             if ": error:" in line}
    assert files == GENERATOR_DEFECTS, done.stdout[-3000:]


@pytest.mark.glance
def test_the_generated_client_drives_a_real_glance(client_package, glance):
    out, _ = client_package
    done = run(OPC / "python", ROOT / "tests/glance/use_generated_client.py", glance.url,
               json.dumps(conformance.default_headers()),
               json.dumps(conformance.default_headers(conformance.MEMBER, "member,reader")),
               env=dict(os.environ, PYTHONPATH=str(out)))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    seen = json.loads(done.stdout)
    assert seen["created"] == {"status": "queued", "visibility": "shared", "custom": "openapi-python-client"}
    assert seen["patched"] == {"min_ram": 128, "custom": "yes"} and seen["shown"]["min_ram"] == 64
    assert len(seen["listed"]) == 1
    assert seen["members"] == [[conformance.MEMBER, "accepted"]]
    assert seen["namespace"]["display_name"] == "Generated client" and seen["namespace_deleted"] == 204
    assert (seen["deleted"], seen["gone"]) == (204, 404)


@pytest.fixture(scope="module")
def prism(tmp_path_factory):
    assert PRISM.exists(), f"{PRISM} is missing: `make prism` (part of `make test`) installs it with npm ci"
    port = free_port()
    log = open(tmp_path_factory.mktemp("prism") / "prism.log", "w")
    proc = subprocess.Popen([str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(DOCUMENT)], stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            assert proc.poll() is None, f"prism exited with {proc.returncode}; see {log.name}"
            assert time.monotonic() < deadline, f"prism did not answer within 60 s; see {log.name}"
            try:
                urllib.request.urlopen(url + "/versions", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


PATH_VALUES = {"image_id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7", "task_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"}


def documented_examples():
    doc = json.loads(DOCUMENT.read_text())
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            for status, response in op.get("responses", {}).items():
                for media, node in response.get("content", {}).items():
                    for name, example in node.get("examples", {}).items():
                        yield op, path, method, status, media, name, example["value"]


def test_the_mock_answers_every_operation_with_its_documented_example(prism):
    doc = json.loads(DOCUMENT.read_text())
    answered, wrong = 0, []
    for op, path, method, status, media, name, value in documented_examples():
        url = prism + re.sub(r"\{([^}]+)\}", lambda m: PATH_VALUES.get(m[1], f"imgspec-{m[1]}"), path)
        headers = {"X-Auth-Token": "mock", "Accept": media, "Prefer": f"code={status}, example={name}"}
        data = None
        body = op.get("requestBody")
        if body:
            req_media, req_node = next(iter(body["content"].items()))
            examples = req_node.get("examples") or {}
            if examples:
                data = json.dumps(next(iter(examples.values()))["value"]).encode()
                headers["Content-Type"] = req_media
        for p in op.get("parameters", []) + doc["paths"][path].get("parameters", []):
            p = ptr.get(doc, ptr.parse(p["$ref"][1:])) if "$ref" in p else p
            if p.get("required") and p["in"] == "header":
                headers[p["name"]] = str(p["schema"].get("enum", ["x"])[0])
        request = urllib.request.Request(url, data=data, method=method.upper(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                got_status, got = r.status, r.read()
        except urllib.error.HTTPError as e:
            got_status, got = e.code, e.read()
        if str(got_status) != status or json.loads(got or b"null") != value:
            wrong.append(f"{op['operationId']} {status} {name}: {got_status} {got[:200]!r}")
        answered += 1
    assert wrong == []
    assert answered == sum(1 for e in api.api_examples(SPEC) if e.valid and e.part == "response") >= 50
