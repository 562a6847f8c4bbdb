"""Glance's own api-ref samples against the OpenAPI document: each validates against its operation."""
from __future__ import annotations

import json
import re

import pytest
from apiref import api_ref, sections
from support import ROOT, SPEC

from imgspec.api import document as api


def norm(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def documented() -> dict[str, api.Operation]:
    return {f"{o.method.upper()} {norm(o.path)}": o for o in api.operations(SPEC).values()}


def cases():
    ops = documented()
    return [(s, kind, sample, ops[f"{s.method} {norm(s.path)}"]) for s in sections() for kind, sample in s.samples]


def test_every_sample_validates_against_its_operation():
    """All of api-ref's request and response samples (none has drifted from the code so far that it fails; one that
    did would be listed with its reason next to the response-code differences)."""
    found = cases()
    assert len(found) >= 75 and len({op.operation_id for *_, op in found}) >= 55
    problems = []
    for section, kind, sample, op in found:
        body = json.loads((api_ref() / sample).read_text())
        media = "application/openstack-images-v2.1-json-patch" if op.operation_id == "updateImage" and kind == "request" \
            else None
        status = section.normal[0] if kind == "response" else None
        if op.operation_id == "addImageLocation" and kind == "response":
            status = "202"
        problems += [f"{sample}: {p}" for p in api.body_errors(body, op, kind, status, media, spec=SPEC)]
    assert problems == []


def test_every_section_of_api_ref_is_an_operation_of_the_document():
    ops = documented()
    assert [(s.method, s.path) for s in sections() if f"{s.method} {norm(s.path)}" not in ops] == []
    assert len(sections()) >= 75


DIFFERENCES = ROOT / "schemas/api/api-ref-differences.json"


def differences() -> set[tuple[str, str, str]]:
    """(operationId, status, lists|omits) for every response code api-ref and the document disagree on."""
    ops = documented()
    out = set()
    for s in sections():
        op = ops[f"{s.method} {norm(s.path)}"]
        mine, theirs = set(op.node["responses"]), set(s.normal) | set(s.errors)
        out |= {(op.operation_id, code, "lists") for code in theirs - mine}
        out |= {(op.operation_id, code, "omits") for code in mine - theirs}
    return out


def test_every_response_code_difference_with_api_ref_is_explained_by_glances_code():
    """The code wins over api-ref: each difference is in schemas/api/api-ref-differences.json with its reason and the
    Glance files that show it, and nothing is listed there that is no difference (any more)."""
    data = json.loads(DIFFERENCES.read_text())
    listed = {(op, e["status"], e["api_ref"]) for e in data["differences"] for op in e["operations"]}
    assert listed == differences()
    source = api_ref().parent.parent.parent
    for entry in data["differences"]:
        assert entry["reason"] and entry["evidence"], entry
        for path in entry["evidence"]:
            assert (source / path).is_file(), path


def test_each_operation_is_as_old_as_api_ref_says():
    """x-since of an operation is the version api-ref's "(Since Image API v2.N)" states, where it states one."""
    ops = documented()
    stated = {ops[f"{s.method} {norm(s.path)}"].operation_id: s.since for s in sections() if s.since}
    assert len(stated) >= 65
    assert {op: ops_since for op, ops_since in ((o.operation_id, o.node["x-since"]) for o in ops.values())
            if op in stated and ops_since != stated[op]} == {}


@pytest.mark.parametrize("operation", ["showImage", "createImage", "listImages"])
def test_api_ref_sections_are_read(operation):
    op = api.operations(SPEC)[operation]
    section = next(s for s in sections() if s.method == op.method.upper() and norm(s.path) == norm(op.path))
    assert section.normal and section.errors and section.samples
