"""The OpenAPI document under Redocly CLI's recommended ruleset: zero errors, zero warnings, every exception with why."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support import ROOT

from imgspec.api import lint as apilint
from imgspec.api import selfcontained

REDOCLY = ROOT / "_build" / "redocly" / "node_modules" / ".bin" / "redocly"
ENV = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true", NO_COLOR="1")


def lint(cwd, *args: str) -> dict:
    assert REDOCLY.exists(), f"{REDOCLY} is missing: `make redocly` (part of `make test`) installs it with npm ci"
    done = subprocess.run([str(REDOCLY), "lint", "--format=json", *args], capture_output=True, text=True, cwd=cwd,
                          env=ENV, timeout=120)
    start = done.stdout.find("{")
    assert start >= 0, done.stderr[-2000:]
    report = json.loads(done.stdout[start:])
    report["returncode"] = done.returncode
    return report


def test_the_document_passes_the_recommended_ruleset_with_no_error_and_no_warning():
    report = lint(ROOT)
    problems = [(p["ruleId"], p["severity"], p["message"], [loc.get("pointer") for loc in p["location"]])
                for p in report["problems"] if not p.get("ignored")]
    assert problems == []
    assert report["totals"]["errors"] == 0 and report["totals"]["warnings"] == 0
    assert report["returncode"] == 0
    assert report["totals"]["ignored"] == ignored_places() >= 40  # the exceptions of .redocly.lint-ignore.yaml, no more


def ignored_places() -> int:
    return sum(1 for line in (ROOT / ".redocly.lint-ignore.yaml").read_text().splitlines() if line.strip().startswith("- "))


def test_no_rule_is_changed_and_every_ignored_place_says_why_in_the_document():
    config = (ROOT / "redocly.yaml").read_text()
    assert re.search(r"^extends:\n  - recommended$", config, re.M)
    assert re.search(r"^rules: \{\}$", config, re.M)  # a rule changed here would need its own reason
    doc = json.loads((ROOT / "schemas/api/images-v2.openapi.json").read_text())
    for exception in doc["x-lint-exceptions"]:
        assert len(exception["reason"]) > 40 and exception["places"], exception
    # the ignore file is generated from the document's reasons (imgspec bundle), nothing more
    assert (ROOT / apilint.IGNORE_FILE).read_text() == apilint.ignore_file(doc)
    assert ignored_places() == sum(1 for f, _, _ in apilint.places(doc) if f != selfcontained.FILE) >= 40


def test_the_self_contained_document_as_users_run_it_no_config_no_ignore_file(tmp_path):
    """Linted where a user would: a folder with the file alone. No error; the warnings left are exactly the places
    x-lint-exceptions states for it, each with its reason in the file."""
    shutil.copy(ROOT / selfcontained.FILE, tmp_path / "images-v2.openapi.json")
    report = lint(tmp_path, "images-v2.openapi.json")
    assert report["totals"]["errors"] == 0 and report["returncode"] == 0
    found = {(p["ruleId"], loc["pointer"]) for p in report["problems"] for loc in p["location"]}
    doc = json.loads((ROOT / selfcontained.FILE).read_text())
    stated = {(rule, pointer) for file, rule, pointer in apilint.places(doc) if file == selfcontained.FILE}
    assert found == stated and len(stated) >= 10
    assert {p["severity"] for p in report["problems"]} == {"warn"}


def test_the_linter_finds_a_missing_security_scheme(tmp_path):
    """The test can fail: a document that drops Keystone's token scheme gets the errors Redocly gives."""
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    shutil.copy(ROOT / "redocly.yaml", tmp_path)
    shutil.copy(ROOT / ".redocly.lint-ignore.yaml", tmp_path)
    doc_path = tmp_path / "schemas" / "api" / "images-v2.openapi.json"
    doc = json.loads(doc_path.read_text())
    del doc["security"], doc["components"]["securitySchemes"]
    doc_path.write_text(json.dumps(doc))
    report = lint(tmp_path)
    rules = {p["ruleId"] for p in report["problems"] if not p.get("ignored")}
    assert "security-defined" in rules and report["returncode"] != 0


@pytest.mark.parametrize("operation", ["showImageSchema", "listTasks", "showUsage"])
def test_every_operation_needing_a_token_declares_it_and_can_answer_401(operation):
    doc = json.loads((ROOT / "schemas/api/images-v2.openapi.json").read_text())
    assert doc["security"] == [{"keystoneToken": []}]
    assert doc["components"]["securitySchemes"]["keystoneToken"] == {
        **doc["components"]["securitySchemes"]["keystoneToken"], "type": "apiKey", "in": "header", "name": "X-Auth-Token"}
    ops = {o["operationId"]: o for item in doc["paths"].values() for o in item.values()
           if isinstance(o, dict) and "operationId" in o}
    for op in ops.values():
        if op["tags"] == ["Versions"]:
            assert op["security"] == []  # the version document needs no token
        else:
            assert "security" not in op and op["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}
    assert "401" in ops[operation]["responses"]
    error = doc["components"]["responses"]["Unauthorized"]["content"]
    assert set(error) == {"text/plain", "text/html", "application/json"}


def test_every_4xx_of_every_operation_has_the_three_bodies_webob_gives():
    """Plain text by default, HTML or JSON (webob's {code, title, message}) when Accept asks (checked live by
    tests/test_conformance.py); the document lists all three for every error of every operation."""
    from imgspec.api import document as api
    from imgspec.spec import Spec
    doc = api.resolve_local(api.bundled(Spec(ROOT)))
    errors = [(o["operationId"], status, set(r.get("content", {}))) for item in doc["paths"].values()
              for m, o in item.items() if m in api.METHODS for status, r in o["responses"].items() if status[0] == "4"]
    assert len(errors) >= 290
    assert [(op, status) for op, status, media in errors if media != {"text/plain", "text/html", "application/json"}] == []


def operations() -> dict[str, tuple[str, str, dict]]:
    doc = json.loads((ROOT / "schemas/api/images-v2.openapi.json").read_text())
    return {o["operationId"]: (m.upper(), p, o) for p, item in doc["paths"].items() for m, o in item.items()
            if isinstance(o, dict) and "operationId" in o}


def test_every_operation_names_its_default_policy():
    for op_id, (_, _, op) in operations().items():
        policy = op["x-glance-policy"]
        assert policy["source"], op_id
        for rule in policy["rules"]:
            assert rule["name"] and isinstance(rule["check_str"], str) and isinstance(rule["roles"], list), op_id
    assert operations()["showImage"][2]["x-glance-policy"]["rules"][0]["name"] == "get_image"


@pytest.mark.glance
def test_the_policies_are_glance_33s_own():
    """Each operation's rules are those Glance 33 documents for it (oslo.policy operations), with their check
    strings; an operation no rule documents names the rules its controller enforces, in the file it cites."""
    from glance_live import PYTHON
    done = subprocess.run([str(PYTHON), str(ROOT / "tests/glance/policies.py")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1000:]
    glance = json.loads(done.stdout)
    site = Path(subprocess.run([str(PYTHON), "-c", "import glance, os; print(os.path.dirname(glance.__file__))"],
                               capture_output=True, text=True, check=True).stdout.strip()).parent
    def norm(key: str) -> str:  # Glance's policy docs name path parameters their own way ({namespace_name}, {name})
        return re.sub(r"\{[^}]+\}", "{}", key)

    glance["operations"] = {norm(k): v for k, v in glance["operations"].items()}
    documented = set()
    for op_id, (method, path, op) in operations().items():
        policy = op["x-glance-policy"]
        names = [r["name"] for r in policy["rules"]]
        for rule in policy["rules"]:
            assert rule["check_str"] == glance["rules"][rule["name"]], (op_id, rule["name"])
        key = norm(f"{method} {path}")
        if key in glance["operations"]:
            assert names == glance["operations"][key], op_id
            documented.add(key)
        elif names:
            assert (site / policy["source"]).is_file(), (op_id, policy["source"])
        else:
            assert policy["source"] in ("no token needed", "any authenticated user: the controller enforces no policy rule")
    # every operation Glance documents a rule for, that the document has, carries it
    mine = {norm(f"{m} {p}") for m, p, _ in operations().values()}
    assert {k for k in glance["operations"] if k in mine} == documented
