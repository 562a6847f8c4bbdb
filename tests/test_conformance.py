"""The API spec against a real Glance server: every exchange of the scenario conforms."""
import json
import subprocess
import sys

import pytest

from imgspec import conformance
from imgspec.spec import Spec

from conftest import ROOT

pytestmark = pytest.mark.glance


def test_real_glance_conforms_to_the_spec(glance):
    report = conformance.conform(glance.url, spec=Spec(ROOT))
    assert report.mismatches == []
    assert report.exchanges >= 45 and len(report.operations) >= 30


def test_a_spec_that_disagrees_with_glance_is_caught(glance, spec_copy):
    path = spec_copy.schemas / "service" / "image.json"
    schema = json.loads(path.read_text())
    schema["properties"]["visibility"]["enum"].remove("shared")
    path.write_text(json.dumps(schema))
    report = conformance.conform(glance.url, spec=spec_copy)
    assert any(line.startswith("POST /v2/images: 201: /visibility: enum: 'shared' is not one of")
               for line in report.mismatches), report.mismatches


def test_the_command_line(glance):
    ok = subprocess.run([sys.executable, "-m", "imgspec", "conformance", "--endpoint", glance.url],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    assert "0 mismatch(es)" in ok.stderr
    wrong = subprocess.run([sys.executable, "-m", "imgspec", "conformance", "--endpoint", glance.url,
                            "--header", "X-Identity-Status: Invalid"], capture_output=True, text=True)
    assert wrong.returncode == 1
    # every operation that needs a token documents 401 (keystone), so a rejected token is a status mismatch only
    assert "GET /v2/schemas/image: 401: (root): status: expected 200, got 401" in wrong.stdout
    assert "is not a documented response" not in wrong.stdout


def test_an_unreachable_endpoint_is_one_line():
    from glance_live import free_port
    report = conformance.conform(f"http://127.0.0.1:{free_port()}", spec=Spec(ROOT))
    assert len(report.mismatches) == 1 and ": (root): unreachable: " in report.mismatches[0]


@pytest.mark.parametrize("accept, media", [(None, "text/plain"), ("application/json", "application/json"),
                                           ("text/html", "text/html")])
def test_error_bodies_are_plain_text_unless_the_client_asks(glance, spec, accept, media):
    """webob answers an error in the media type the client's Accept prefers: plain text by default, JSON or HTML
    when asked; the document lists all three for every 4xx, the JSON one as its Error schema."""
    import uuid

    from jsonschema import Draft202012Validator

    from imgspec import api
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
    report = conformance.conform(glance.url, spec=spec_copy)
    assert any(line.endswith(": 404: (root): content-type: text/plain where text/html, application/json is documented")
               and line.startswith("GET /v2/images/") for line in report.mismatches), report.mismatches
