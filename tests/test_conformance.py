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
