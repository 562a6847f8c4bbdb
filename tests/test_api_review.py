"""imgspec diff --api: every change of the API document classified for clients, and the gate on its released state."""
from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from support import ROOT, SPEC

from imgspec.api import document as api
from imgspec.diff import api as apidiff
from imgspec.release import api as api_release
from imgspec.spec import Spec

BEFORE, AFTER = ROOT / "examples/api-diff/before.json", ROOT / "examples/api-diff/after.json"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "imgspec", "diff", "--api", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT)


def test_the_document_has_no_unannounced_change_since_its_last_release():
    version, released = api_release.released_document(SPEC)
    current = api.bundled(SPEC)
    changes = apidiff.compare(released, current)
    assert apidiff.unannounced(changes, released, current) == []
    out = cli()
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"API {version} -> {current['info']['version']}: {len(changes)} change(s)")
    files = json.loads((ROOT / api_release.RELEASES).read_text())["api"][-1]["files"]
    assert set(files) == set(api_release.document_files(SPEC))  # every file the document is made of is locked


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
    _, newer, later = mutate(change, version="2.19")
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


def committed_copy(tmp_path) -> tuple[Spec, list[str]]:
    """schemas/ in a git repository of its own (released files are found by hash in the history), and its git."""
    import shutil
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    return Spec(tmp_path), git


def test_a_correction_records_what_glance_already_did_without_a_new_version(tmp_path):
    """A change of the document that describes existing Glance behaviour is recorded as a correction of the last
    release (with the Glance files that show it); the gate then holds the tree to the corrected state."""
    from imgspec.problems import ProblemError
    spec, git = committed_copy(tmp_path)
    path = tmp_path / api.DOCUMENT
    doc = json.loads(path.read_text())
    doc["paths"]["/v2/images"]["get"].setdefault("parameters", []).append(
        {"name": "hw_disk_bus", "in": "query", "schema": {"type": "string"}, "x-since": "2.0",
         "description": "Glance parses it (an extra property filter)."})
    path.write_text(json.dumps(doc, indent=2) + "\n")

    def gate():
        old, new = api_release.released_document(spec)[1], api.bundled(spec)
        return apidiff.unannounced(apidiff.compare(old, new), old, new)
    assert [c.check for c in gate()] == ["new-request-parameter"]
    with pytest.raises(ProblemError, match="correction-refused"):
        api_release.record_correction(spec, "2.18-C9", "w", "y", ["somewhere.py"])
    correction, changes = api_release.record_correction(spec, "2.18-C9", "hw_disk_bus is a filter Glance parses",
                                                "the document omitted it", ["glance/api/v2/images.py"])
    assert [c.check for c in changes] == ["new-request-parameter"] and list(correction["files"]) == [api.DOCUMENT]
    assert gate() == []  # the corrected state is what the tree is held to
    with pytest.raises(ProblemError, match="exists already|nothing of the document changed"):
        api_release.record_correction(spec, "2.18-C9", "w", "y", ["glance/api/v2/images.py"])
    subprocess.run([*git, "commit", "-qam", "corrected"], check=True)
    del doc["paths"]["/v2/tasks"]
    path.write_text(json.dumps(doc, indent=2) + "\n")
    assert "operation-removed" in {c.check for c in gate()}  # a later change is gated again


@pytest.mark.parametrize("change, check, severity", [
    (lambda d: d["paths"][IMAGES]["get"]["parameters"].__setitem__(7, {**d["paths"][IMAGES]["get"]["parameters"][7],
                                                                       "schema": {"type": "string"}}),
     "request-parameter-not-repeatable", "breaking"),
])
def test_a_repeatable_query_parameter_is_compared_as_the_wire_sees_it(change, check, severity):
    """?tag=a&tag=b: an exploded form array is a repeated parameter, one occurrence of which is a plain value; making
    it a single value again breaks the clients that repeat it, while the value of one occurrence is compared as is."""
    assert api.bundled(SPEC)["paths"][IMAGES]["get"]["parameters"][7]["name"] == "tag"
    old, new, changes = mutate(change)
    assert [(c.severity, c.check) for c in changes] == [(severity, check)], [c.line() for c in changes]
    back = apidiff.compare(new, old)
    assert [(c.severity, c.check) for c in back] == [("needs-a-new-microversion", "request-parameter-repeatable")]


def test_every_element_names_the_api_version_that_introduced_it():
    from imgspec.api import microversions as mv
    assert mv.problems(SPEC) == []
    ops = api.operations(SPEC)
    assert all("x-since" in op.node for op in ops.values())
    for op in ops.values():
        for prm in op.node.get("parameters", []):
            assert "$ref" in prm or "x-since" in prm, (op.operation_id, prm["name"])
    doc = api.document(SPEC)
    assert all("x-since" in p for p in doc["components"]["parameters"].values())
    found = mv.elements(SPEC)
    assert {e.kind for e in found} == {"operation", "parameter", "schema", "field", "value"} and len(found) >= 160
    assert len([e for e in found if e.kind == "schema"]) == len(doc["components"]["schemas"]) + 14
    by = {e.where: e.since for e in found}
    assert by["schemas/service/image.json: /os_hidden"] == "2.7" and by["GET /v2/images: query os_hidden"] == "2.7"
    assert by["POST /v2/cache/prune"] == "2.18" and by["GET /v2/images/{image_id}/tasks"] == "2.12"
    assert by["schemas/service/image.json: /visibility = community"] == "2.5"
    assert by["schemas/service/image.json: /status = importing"] == "2.6"
    assert doc["info"]["version"] == mv.versions(SPEC)[-1]["version"] == "2.18"


def test_an_enum_value_newer_than_its_field_is_a_change_of_its_version():
    """Community images (2.5) added values, not elements: x-enum-since tags them, so the API diff from 2.4 to 2.5
    sees the visibilities a 2.4 client never meets, and 2.5 is no longer a version of no element."""
    from imgspec.api import microversions as mv
    changes = apidiff.compare(mv.at_version(api.bundled(SPEC), "2.4"), mv.at_version(api.bundled(SPEC), "2.5"))
    found = {(c.check, c.where, c.message) for c in changes}
    assert ("response-enum-changed", "GET /v2/images/{image_id} 200 response /visibility",
            'values added: "community", "shared"') in found, found
    assert ("request-enum-changed", "GET /v2/images request (query visibility)",
            'values added: "community", "all"') in found, found
    assert not apidiff.compare(mv.at_version(api.bundled(SPEC), "2.5"), mv.at_version(api.bundled(SPEC), "2.5"))
    assert [e.where for v, found in mv.changelog(SPEC) if v["version"] == "2.5" for e in found]


def test_an_enum_since_naming_a_value_its_enum_lacks_is_a_problem(spec_copy):
    from imgspec.api import microversions as mv
    path = spec_copy.root / "schemas/service/image.json"
    doc = json.loads(path.read_text())
    doc["properties"]["visibility"]["x-enum-since"]["everyone"] = "2.5"
    path.write_text(json.dumps(doc))
    assert [(p.rule, p.message) for p in mv.problems(spec_copy)] == [
        ("x-enum-since", "'everyone' is not a value of its enum")]


def test_a_version_the_api_does_not_have_or_a_parameter_older_than_its_operation_is_a_problem(spec_copy):
    from imgspec.api import microversions as mv
    path = spec_copy.root / api.DOCUMENT
    doc = json.loads(path.read_text())
    doc["paths"]["/v2/cache/prune"]["post"]["x-since"] = "2.99"
    doc["paths"]["/v2/cache"]["delete"]["parameters"][0]["x-since"] = "2.3"
    doc["components"]["schemas"]["ImportRequest"]["properties"]["stores"]["x-since"] = "2.5"
    del doc["components"]["schemas"]["CacheState"]["x-since"]
    del doc["paths"]["/v2/tasks"]["get"]["x-since"]
    path.write_text(json.dumps(doc))
    found = {(p.pointer, p.message) for p in mv.problems(spec_copy)}
    assert ("POST /v2/cache/prune", "2.99: not an API version of schemas/api/microversions.json") in found
    assert ("DELETE /v2/cache: header x-image-cache-clear-target", "2.3 is older than its operation's 2.14") in found
    assert ("GET /v2/tasks", "no version: not an API version of schemas/api/microversions.json") in found
    assert ("components/schemas/ImportRequest: /stores", "2.5 is older than its schema's 2.6") in found
    assert ("components/schemas/CacheState", "no version: not an API version of schemas/api/microversions.json") in found


def test_the_document_at_a_version_is_what_its_clients_see():
    from imgspec.api import microversions as mv
    whole = api.bundled(SPEC)
    at_26 = mv.at_version(whole, "2.6")
    assert at_26["info"]["version"] == "2.6"
    assert "/v2/info/stores" not in at_26["paths"] and "/v2/images/{image_id}/import" in at_26["paths"]
    image = apidiff._flat(
        at_26["paths"]["/v2/images/{image_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    assert "os_hidden" not in image["properties"] and "visibility" in image["properties"]
    assert "os_hidden" not in {p["name"] for p in at_26["paths"][IMAGES]["get"]["parameters"]}
    assert mv.at_version(whole, "2.18")["paths"].keys() == whole["paths"].keys()


def test_the_microversion_diff_on_the_command_line():
    out = cli("--microversions", "2.15", "2.18")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "API 2.15 -> 2.18: 7 change(s)"
    assert "GET /v2/images/{image_id}/file: optional query parameter prefer added" in out.stdout  # Glance 33's, at 2.17
    assert {line.split()[-2] for line in lines[1:] if "operation-added" in line} == {
        "/v2/cache/nodes/{image_id}:", "/v2/images/{image_id}/locations:", "/v2/cache/clean:", "/v2/cache/prune:"}
    back = cli("--microversions", "2.18", "2.15")
    assert back.returncode == 1 and "unannounced: POST /v2/cache/prune: operation-removed: breaking" in back.stderr
    bad = cli("--microversions", "2.15", "3.0")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "3.0: unknown API version" in bad.stderr
    assert cli("--microversions").returncode == 2


def test_the_versions_agree_with_glances_version_history():
    """microversions.json: each version first listed and first CURRENT in the releases Glance's api-ref names."""
    import re

    from apiref import api_ref
    text = (api_ref().parent / "versions" / "index.rst").read_text(encoding="utf-8")
    listed, current = {}, {}
    for release, body in reversed(re.findall(r"^\*\*([^*\n]+) changes\*\*\n(.*?)(?=^\*\*|\Z)", text, re.M | re.S)):
        for version, status in re.findall(r"^- version (2\.[0-9]+) is ([A-Z]+)", body, re.M):
            listed.setdefault(version, release)
            if status == "CURRENT":
                current.setdefault(version, release)
    mine = json.loads((ROOT / "schemas/api/microversions.json").read_text())["versions"]
    assert [v["version"] for v in mine] == sorted(listed, key=lambda v: tuple(map(int, v.split("."))))
    for v in mine:
        said = v.get("api_ref_says", {})  # where the api-ref names the wrong release: what it says, and why
        assert said.get("first_listed", v["first_listed"]) == listed[v["version"]], v["version"]
        assert said.get("first_current", v["first_current"]) == current.get(v["version"]), v["version"]
        if said:
            assert said["why"] and v["first_listed"] != said["first_listed"], v["version"]


def test_an_api_release_is_refused_unless_it_is_new_and_announced(tmp_path):
    from imgspec.api import microversions as mv
    from imgspec.problems import ProblemError
    spec_copy, _ = committed_copy(tmp_path)
    with pytest.raises(ProblemError, match="is not newer than the last release 2.18"):
        api_release.record_release(spec_copy, "again")
    path = spec_copy.root / api.DOCUMENT
    doc = json.loads(path.read_text())
    doc["info"]["version"] = "2.19"
    doc["paths"]["/v2/tasks"].pop("get")
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(ProblemError, match="not an API version"):
        api_release.record_release(spec_copy, "no such version yet")
    data = json.loads((spec_copy.root / mv.DATA).read_text())
    data["versions"].append({"version": "2.19", "first_listed": "-", "first_current": "-", "summary": "test"})
    (spec_copy.root / mv.DATA).write_text(json.dumps(data))
    release, changes = api_release.record_release(spec_copy, "a test release", date="2026-11-26")
    assert release["version"] == "2.19" and release["files"][api.DOCUMENT].startswith("sha256:")
    assert ("breaking", "operation-removed") in {(c.severity, c.check) for c in changes}
    assert json.loads((spec_copy.root / api_release.RELEASES).read_text())["api"][-1]["note"] == "a test release"
