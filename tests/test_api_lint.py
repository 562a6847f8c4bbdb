"""The OpenAPI document under Redocly CLI's recommended ruleset: zero errors, zero warnings, every exception with why."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

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
    assert report["totals"]["ignored"] == 10  # the exceptions of .redocly.lint-ignore.yaml, no more


def test_no_rule_is_changed_and_every_ignored_place_says_why():
    config = (ROOT / "redocly.yaml").read_text()
    assert re.search(r"^extends:\n  - recommended$", config, re.M)
    assert re.search(r"^rules: \{\}$", config, re.M)  # a rule changed here would need its own reason
    # a comment gives the reason of every ignored place below it, up to the next blank line
    reason, places = False, 0
    for line in (ROOT / ".redocly.lint-ignore.yaml").read_text().splitlines():
        if not line.strip():
            reason = False
        elif line.lstrip().startswith("#"):
            reason = True
        elif line.strip().startswith("- "):
            assert reason, f"an ignored place without a reason: {line.strip()}"
            places += 1
    assert places == 10


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
