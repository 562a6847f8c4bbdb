"""The API spec against a real Glance server: every exchange of the scenario conforms."""
import json
import re
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


def test_the_report_a_deployment_can_publish(glance, tmp_path):
    """--junit and --html: what ran (endpoint, imgspec, the API document and its release) and every exchange's
    verdict; a failing run names each failing exchange with its problems."""
    import xml.etree.ElementTree as ET

    from imgspec import __version__
    from imgspec.api import document as api
    spec = Spec(ROOT)
    lock = json.loads((ROOT / "schemas/bundled/api/images-v2.openapi.json").read_text())["x-imgspec-bundle"]["lock"]
    runs = {}
    for name, extra in (("ok", []), ("refused", ["--header", "X-Identity-Status: Invalid"])):
        done = subprocess.run([sys.executable, "-m", "imgspec", "conformance", "--endpoint", glance.url,
                               "--junit", str(tmp_path / f"{name}.xml"), "--html", str(tmp_path / f"{name}.html"),
                               *extra], capture_output=True, text=True)
        runs[name] = done, ET.parse(tmp_path / f"{name}.xml").getroot(), (tmp_path / f"{name}.html").read_text()
    done, suite, page = runs["ok"]
    assert done.returncode == 0, done.stdout
    exchanges = int(re.search(r"conformance: (\d+) exchanges", done.stderr)[1])
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["endpoint"] == glance.url and props["imgspec"] == __version__
    assert props["api document"] == api.document(spec)["info"]["version"]
    assert props["api release"] == f"{lock['api_release']} (correction {lock['correction']})"
    cases = suite.findall("testcase")
    assert (suite.get("tests"), suite.get("failures")) == (str(exchanges), "0") and len(cases) == exchanges >= 170
    assert {c.get("classname") for c in cases} == set(api.operations(spec))
    assert cases[0].get("name") == "001 GET /: expect 300" and not any(c.find("failure") is not None for c in cases)
    assert "<strong class=\"pass\">conforms</strong>" in page and f"{exchanges} of {exchanges} exchanges pass" in page
    assert page.count("<tr class=\"row-pass\">") == exchanges and "<script" not in page and "href=" not in page
    assert glance.url in page and props["api release"] in page

    done, suite, page = runs["refused"]
    assert done.returncode == 1
    failed = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failed) >= 100
    assert sum(len(c.find("failure").text.splitlines()) for c in failed) == done.stdout.count("\n")  # every problem
    first = next(c for c in failed if c.get("classname") == "showImageSchema")
    assert first.find("failure").get("type") == "status"
    assert "GET /v2/schemas/image: 401: (root): status: expected 200, got 401" in first.find("failure").text
    assert "does not conform" in page and page.count("<tr class=\"row-fail\">") == len(failed)


def test_a_run_that_stops_is_reported_and_a_report_file_that_cannot_be_written_is_refused_first(tmp_path):
    import xml.etree.ElementTree as ET

    from glance_live import free_port
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run([sys.executable, "-m", "imgspec", "conformance", "--endpoint", url, "--junit",
                           str(tmp_path / "r.xml"), "--html", str(tmp_path / "r.html")], capture_output=True, text=True)
    assert done.returncode == 2
    suite = ET.parse(tmp_path / "r.xml").getroot()
    run = suite.find("testcase[@name='run']")
    assert run is not None and run.find("failure").get("type") == "unreachable"
    assert "The run stopped" in (tmp_path / "r.html").read_text()
    for bad, why in ((tmp_path, "is a folder, not a file"), (tmp_path / "none" / "r.xml", "does not exist")):
        refused = subprocess.run([sys.executable, "-m", "imgspec", "conformance", "--endpoint", url, "--junit",
                                  str(bad)], capture_output=True, text=True)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert refused.stderr.strip().splitlines() == [f"{bad}: (root): unwritable: {why}"] or \
            why in refused.stderr, refused.stderr
