"""Examples as data: valid ones pass, invalid ones fail with exactly the error they declare."""
import json

import pytest
from support import ROOT, SPEC

from imgspec.format import examples, validation

ALL = examples.record_examples(SPEC)
VALID = [e for e in ALL if e.valid]
INVALID = [e for e in ALL if not e.valid]


def ident(e):
    return SPEC.rel(e.path)


def test_there_are_enough_examples():
    assert len(VALID) >= 70 and len(INVALID) >= 110
    for v in SPEC.versions:
        for kind in SPEC.kinds(v):
            here = [e for e in ALL if e.version == v and e.kind == kind]
            assert sum(e.valid for e in here) >= 2, (v, kind)
            assert sum(not e.valid for e in here) >= 2, (v, kind)
        assert sum(e.valid for e in ALL if e.version == v and e.kind == "image") >= 5


@pytest.mark.parametrize("example", VALID, ids=ident)
def test_valid_example_passes(example):
    assert examples.verdict(SPEC, example) == []
    assert examples.problems_of(SPEC, example) == []


@pytest.mark.parametrize("example", INVALID, ids=ident)
def test_invalid_example_fails_with_its_declared_error(example):
    exp = examples.expectation(SPEC, example)
    found = examples.problems_of(SPEC, example)
    assert [(p.pointer, p.rule) for p in found] == [(exp["pointer"], exp["rule"])]
    assert examples.verdict(SPEC, example) == []


def test_every_expectation_belongs_to_an_invalid_example():
    stray = [p for p in (ROOT / "examples" / "record").rglob("*.expect.json")
             if not p.with_name(p.name.replace(".expect.json", ".json")).exists() or p.parent.name != "invalid"]
    assert stray == []


def test_examples_sit_only_where_their_place_means_something():
    for path in (ROOT / "examples" / "record").rglob("*.json"):
        version, kind, validity = path.parts[-4:-1]
        assert version in SPEC.versions and kind in SPEC.kinds(version) and validity in ("valid", "invalid"), path


def test_every_image_field_is_shown_in_some_valid_example():
    for v in SPEC.versions:
        schema = SPEC.schema("image", v)
        seen_non_null = set()
        for e in VALID:
            if e.version == v and e.kind == "image":
                doc = json.loads(e.path.read_text())
                seen_non_null |= {k for k, val in doc.items() if val not in (None, [], {})}
        missing = set(schema["properties"]) - seen_non_null
        assert missing <= {"deleted_at"} or not missing, (v, missing)


@pytest.mark.parametrize("example", [e for e in VALID if e.kind == "image"], ids=ident)
def test_breaking_a_valid_image_example_is_caught_at_its_pointer(example):
    doc = json.loads(example.path.read_text())
    doc["name"] = "x" * 256
    problems = validation.errors(doc, "image", example.version, "e.json", SPEC)
    assert [(p.pointer, p.rule) for p in problems] == [("/name", "maxLength")]
    assert str(problems[0]) == "e.json: /name: maxLength: longer than 255 characters (256)"


def test_a_wrong_expectation_is_a_failure(spec_copy):
    case = next(e for e in examples.record_examples(spec_copy) if not e.valid and e.slug == "name-too-long")
    exp = json.loads(case.expect_path.read_text())
    case.expect_path.write_text(json.dumps(dict(exp, pointer="/owner")))
    (msg,) = examples.verdict(spec_copy, case)
    assert "expected only /owner: maxLength, got: /name: maxLength" in msg


def test_an_invalid_example_that_validates_is_a_failure(spec_copy):
    case = next(e for e in examples.record_examples(spec_copy) if not e.valid and e.slug == "name-too-long"
                and e.version == "2.2")
    doc = json.loads(case.path.read_text())
    doc["name"] = "ok"
    case.path.write_text(json.dumps(doc))
    assert examples.verdict(spec_copy, case) == [
        "examples/record/2.2/image/invalid/name-too-long.json: /name: maxLength: expected this error, but the example is valid"]
