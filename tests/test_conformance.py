"""The API spec against a real Glance server: every exchange of the scenario conforms."""
import json
import subprocess
import sys
import uuid

import pytest
from support import ROOT

from imgspec.api import conformance
from imgspec.spec import Spec

pytestmark = pytest.mark.glance


def test_real_glance_conforms_to_the_spec(glance, tmp_path):
    """Every operation of the document, as an admin, with the image cache enabled; the bodies recorded on the way
    (--record) are what examples/api/ holds, shape for shape."""
    from imgspec.api import document as api
    spec = Spec(ROOT)
    report = conformance.conform(glance.url, spec=spec, record=tmp_path / "recorded")
    assert report.mismatches == []
    assert report.operations == set(api.operations(spec)) and report.exchanges >= 170
    recorded = {p.relative_to(tmp_path / "recorded").as_posix() for p in (tmp_path / "recorded").rglob("*.json")}
    assert len(recorded) >= 60
    for rel in recorded:  # every recorded body validates against its operation (the examples were taken so)
        op_id, name = rel.split("/")
        m = api._NAME.match(name)
        body = json.loads((tmp_path / "recorded" / rel).read_text())
        assert api.body_errors(body, api.operations(spec)[op_id], m["part"], m["status"], m["media"], spec=spec) == [], rel


def test_without_the_image_cache_the_cache_api_is_404_and_the_versions_are_2_17(glance_delayed):
    """Glance 33 without image_cache_dir: 2.17 is CURRENT (the no-cache versions example) and every cache operation
    answers 404, as the document says."""
    checker = conformance.Checker(conformance.Client(glance_delayed.url, conformance.default_headers()), Spec(ROOT))
    conformance.versions(checker, checker.run("listVersionsOk", 200, "/versions"))
    conformance.versions(checker, checker.run("listVersions", 300, "/"), "listVersions/response-300")
    conformance.cache(checker)
    for op_id, path in (("clearCache", "/v2/cache"), ("cleanCache", "/v2/cache/clean"), ("pruneCache", "/v2/cache/prune"),
                        ("queueImageForCaching", f"/v2/cache/{uuid.uuid4()}")):
        checker.run(op_id, 404, path)
    assert checker.report.mismatches == [] and "listCachedImages" in checker.report.operations


def test_an_operation_that_takes_no_body_refuses_one_and_says_so(glance):
    """Every route Glance declares with body_reject answers 400 to a request with a body, and its operation documents
    400; the ids in the paths are of nothing, so an operation that ignored the body would change nothing."""
    import re
    import subprocess as sp

    from imgspec.api import document as api

    from glance_live import PYTHON
    done = sp.run([str(PYTHON), str(ROOT / "tests/glance/served_routes.py")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    norm = lambda p: re.sub(r"\{[^}]+\}", "{}", p)  # noqa: E731
    rejecting = {(m, norm(p)) for m, p, _, reject in json.loads(done.stdout) if reject}
    assert len(rejecting) >= 40
    client = conformance.Client(glance.url, conformance.default_headers())
    ops = [op for op in api.operations(Spec(ROOT)).values() if (op.method.upper(), norm(op.path)) in rejecting]
    assert len(ops) == len(rejecting)
    wrong = []
    for op in ops:
        path = re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()) if m.group(0) in ("{image_id}", "{task_id}")
                      else "imgspec-nothing", op.path)
        ex = client.call(op.method.upper(), path, b'{"unexpected": true}')
        if ex.status != 400 or b"A body is not expected" not in ex.body or "400" not in op.node["responses"]:
            wrong.append((op.operation_id, ex.status))
    assert wrong == []


def test_a_spec_that_disagrees_with_glance_is_caught(glance, spec_copy):
    path = spec_copy.schemas / "service" / "image.json"
    schema = json.loads(path.read_text())
    schema["properties"]["visibility"]["enum"].remove("shared")
    path.write_text(json.dumps(schema))
    report = conformance.conform(glance.url, spec=spec_copy)
    assert any(line.startswith("POST /v2/images: 201: /visibility: enum: 'shared' is not one of")
               for line in map(str, report.mismatches)), report.mismatches


def test_the_command_line(glance, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "imgspec", "conformance", "--endpoint", glance.url, "--record",
                         str(tmp_path / "bodies")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    assert "0 mismatch(es)" in ok.stderr
    assert (tmp_path / "bodies/createMetadefNamespace/request.json").is_file()
    assert (tmp_path / "bodies/updateImage/request.openstack-images-v2.1-json-patch.json").is_file()
    assert json.loads((tmp_path / "bodies/pruneCache/response-200.json").read_text()).keys() == {
        "total_files_pruned", "total_bytes_pruned"}
    wrong = subprocess.run([sys.executable, "-m", "imgspec", "conformance", "--endpoint", glance.url,
                            "--header", "X-Identity-Status: Invalid"], capture_output=True, text=True)
    assert wrong.returncode == 1
    # every operation that needs a token documents 401 (keystone), so a rejected token is a status mismatch only
    assert "GET /v2/schemas/image: 401: (root): status: expected 200, got 401" in wrong.stdout
    assert "is not a documented response" not in wrong.stdout


def test_an_unreachable_endpoint_is_one_line():
    from glance_live import free_port
    report = conformance.conform(f"http://127.0.0.1:{free_port()}", spec=Spec(ROOT))
    assert len(report.mismatches) == 1 and ": (root): unreachable: " in str(report.mismatches[0])


@pytest.mark.parametrize("accept, media", [(None, "text/plain"), ("application/json", "application/json"),
                                           ("text/html", "text/html")])
def test_error_bodies_are_plain_text_unless_the_client_asks(glance, spec, accept, media):
    """webob answers an error in the media type the client's Accept prefers: plain text by default, JSON or HTML
    when asked; the document lists all three for every 4xx, the JSON one as its Error schema."""
    import uuid

    from jsonschema import Draft202012Validator

    from imgspec.api import document as api
    client = conformance.Client(glance.url, conformance.default_headers())
    ex = client.call("GET", f"/v2/images/{uuid.uuid4()}", headers={"Accept": accept} if accept else None)
    assert ex.status == 404 and ex.headers["Content-Type"].split(";")[0] == media
    doc = api.bundled(spec)
    assert media in doc["paths"]["/v2/images/{image_id}"]["get"]["responses"]["404"]["content"]
    if media == "application/json":
        body = json.loads(ex.body)
        Draft202012Validator(doc["components"]["schemas"]["Error"]).validate(body)
        assert body["code"] == "404 Not Found" and body["title"] == "Not Found"


def test_an_error_media_type_the_document_does_not_list_is_caught(glance, spec_copy):
    path = spec_copy.schemas / "api" / "images-v2.openapi.json"
    doc = json.loads(path.read_text())
    del doc["paths"]["/v2/images/{image_id}"]["get"]["responses"]["404"]["content"]["text/plain"]
    path.write_text(json.dumps(doc))
    checker = conformance.Checker(conformance.Client(glance.url, conformance.default_headers()), spec_copy)
    checker.run("showImage", 404, f"/v2/images/{uuid.uuid4()}")  # the exchange of the run that meets it
    report = checker.report
    assert any(line.endswith(": 404: (root): content-type: text/plain where text/html, application/json is documented")
               and line.startswith("GET /v2/images/") for line in map(str, report.mismatches)), report.mismatches
