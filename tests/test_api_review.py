"""imgspec diff --api: every change of the API document classified for clients, and the gate on its released state."""
from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from imgspec import api, apidiff
from imgspec.spec import Spec

from conftest import ROOT

SPEC = Spec(ROOT)
BEFORE, AFTER = ROOT / "examples/api-diff/before.json", ROOT / "examples/api-diff/after.json"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "imgspec", "diff", "--api", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT)


def test_the_document_has_no_unannounced_change_since_its_last_release():
    version, released = api.released_document(SPEC)
    current = api.bundled(SPEC)
    changes = apidiff.compare(released, current)
    assert apidiff.unannounced(changes, released, current) == []
    out = cli()
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"API {version} -> {current['info']['version']}: {len(changes)} change(s)")
    files = json.loads((ROOT / api.RELEASES).read_text())["api"][-1]["files"]
    assert set(files) == set(api.document_files(SPEC))  # every file the document is made of is locked


def test_the_example_report_classifies_each_change():
    old, new = (json.loads(p.read_text()) for p in (BEFORE, AFTER))
    got = [(c.severity, c.check, c.where) for c in apidiff.compare(old, new)]
    assert got == [
        ("breaking", "operation-removed", "PUT /v2/images/{image_id}/file"),
        ("needs-a-new-microversion", "operation-added", "PUT /v2/images/{image_id}/stage"),
        ("needs-a-new-microversion", "new-request-parameter", "GET /v2/images"),
        ("compatible", "response-status-added", "GET /v2/images"),
        ("breaking", "response-property-removed", "GET /v2/images 200 response /images/*/checksum"),
        ("needs-a-new-microversion", "response-enum-changed", "GET /v2/images 200 response /images/*/status"),
    ]
    out = cli(BEFORE, AFTER)
    assert out.returncode == 1
    assert "unannounced: PUT /v2/images/{image_id}/file: operation-removed: breaking" in out.stderr
    md = cli(BEFORE, AFTER, "--markdown").stdout
    assert "| breaking | `operation-removed` | `PUT /v2/images/{image_id}/file` | removed |" in md
    assert "**5 change(s) that clients notice without a new microversion** (2.15 -> 2.15)" in md


def mutate(fn, version: str | None = None):
    old = api.bundled(SPEC)
    new = copy.deepcopy(old)
    fn(new)
    if version:
        new["info"]["version"] = version
    return old, new, apidiff.compare(old, new)


IMAGES = "/v2/images"


def _request(doc):
    return doc["components"]["schemas"]["ImageCreate"]  # the request body of POST /v2/images


@pytest.mark.parametrize("change, check, severity", [
    (lambda d: d["paths"].pop("/v2/tasks"), "operation-removed", "breaking"),
    (lambda d: d["paths"][IMAGES]["get"]["responses"].pop("200"), "response-status-removed", "breaking"),
    (lambda d: d["paths"][IMAGES]["get"].setdefault("parameters", []).append(
        {"name": "x", "in": "query", "required": True, "schema": {"type": "string"}}), "new-request-parameter", "breaking"),
    (lambda d: d["paths"][IMAGES]["get"].setdefault("parameters", []).append(
        {"name": "x", "in": "query", "schema": {"type": "string"}}), "new-request-parameter", "needs-a-new-microversion"),
    (lambda d: _request(d)["properties"]["visibility"]["enum"].remove("community"), "request-enum-changed", "breaking"),
    (lambda d: _request(d)["properties"]["visibility"]["enum"].append("galactic"), "request-enum-changed",
     "needs-a-new-microversion"),
    (lambda d: _request(d).setdefault("required", []).append("name"), "request-property-became-required", "breaking"),
    (lambda d: d["paths"][IMAGES]["get"]["responses"]["200"]["content"].pop("application/json"),
     "response-media-type-removed", "breaking"),
    (lambda d: d["paths"]["/v2/images/{image_id}"]["get"]["responses"]["404"]["content"].pop("text/html"),
     "response-media-type-removed", "compatible"),
])
def test_each_check_classifies_and_the_gate_wants_a_new_version(change, check, severity):
    old, new, changes = mutate(change)
    assert (severity, check) in {(c.severity, c.check) for c in changes}, [c.line() for c in changes]
    bad = apidiff.unannounced(changes, old, new)
    assert bool(bad) == (severity != "compatible")
    _, newer, later = mutate(change, version="2.16")
    assert apidiff.unannounced(later, old, newer) == []  # announced by a newer API version


def test_descriptions_and_policies_are_no_change_for_clients():
    def edit(d):
        op = d["paths"][IMAGES]["get"]
        op["description"] = "another text"
        op["x-glance-policy"] = {"rules": [], "source": "x"}
    _, _, changes = mutate(edit)
    assert changes == []


def test_a_git_revision_is_a_document_too():
    out = cli("HEAD", ROOT / api.DOCUMENT)
    assert out.returncode in (0, 1) and out.stdout.startswith("API ")
    bad = cli("no-such-revision", ROOT / api.DOCUMENT)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "no-such-revision: (root): unreadable: neither a file nor a git revision of this tree"
    assert cli(BEFORE).returncode == 2  # one document alone is a usage error


def test_a_response_field_under_allof_is_compared():
    """The image the API shows is allOf(the served schema, what every response holds): its fields are compared."""
    old, new, changes = mutate(lambda d: d["components"]["schemas"]["Image"]["allOf"][1]["properties"].pop("id", None)
                               or d["components"]["schemas"]["Image"]["allOf"][0]["properties"].pop("checksum"))
    assert any(c.check == "response-property-removed" and c.severity == "breaking" for c in changes), changes


def test_a_correction_records_what_glance_already_did_without_a_new_version(tmp_path):
    """A change of the document that describes existing Glance behaviour is recorded as a correction of the last
    release (with the Glance files that show it); the gate then holds the tree to the corrected state."""
    import shutil

    from imgspec.problems import ProblemError
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    spec = Spec(tmp_path)
    path = tmp_path / api.DOCUMENT
    doc = json.loads(path.read_text())
    doc["paths"]["/v2/images"]["get"].setdefault("parameters", []).append(
        {"name": "size_min", "in": "query", "schema": {"type": "integer"}, "description": "Glance parses it."})
    path.write_text(json.dumps(doc, indent=2) + "\n")

    def gate():
        old, new = api.released_document(spec)[1], api.bundled(spec)
        return apidiff.unannounced(apidiff.compare(old, new), old, new)
    assert [c.check for c in gate()] == ["new-request-parameter"]
    with pytest.raises(ProblemError, match="correction-refused"):
        api.record_correction(spec, "2.15-C1", "w", "y", ["somewhere.py"])
    correction, changes = api.record_correction(spec, "2.15-C1", "size_min is a filter Glance parses",
                                                "the document omitted it", ["glance/api/v2/images.py"])
    assert [c.check for c in changes] == ["new-request-parameter"] and list(correction["files"]) == [api.DOCUMENT]
    assert gate() == []  # the corrected state is what the tree is held to
    with pytest.raises(ProblemError, match="exists already|nothing of the document changed"):
        api.record_correction(spec, "2.15-C1", "w", "y", ["glance/api/v2/images.py"])
    subprocess.run([*git, "commit", "-qam", "corrected"], check=True)
    del doc["paths"]["/v2/tasks"]
    path.write_text(json.dumps(doc, indent=2) + "\n")
    assert "operation-removed" in {c.check for c in gate()}  # a later change is gated again
