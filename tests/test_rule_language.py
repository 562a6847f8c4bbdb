"""The upgrade rule language: definitions live in step.schema.json, every one has worked examples, all of them hold."""
from __future__ import annotations

import json

import pytest
from support import SPEC

from imgspec.problems import ProblemError
from imgspec.upgrade import language, load_steps
from imgspec.upgrade.operations import OPERATIONS

FILES = language.example_files(SPEC)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_worked_example_does_what_its_file_says(path):
    assert len(FILES) >= 20
    assert language.check(SPEC, path) == []


def test_a_wrong_after_or_refusal_is_drift(spec_copy):
    path = spec_copy.root / language.EXAMPLES / "add-default.json"
    data = json.loads(path.read_text())
    data["after"]["virtual_size"] = 0
    path.write_text(json.dumps(data))
    assert [p.rule for p in language.check(spec_copy, path)] == ["example-drift"]
    path = spec_copy.root / language.EXAMPLES / "rename-onto-a-value.json"
    data = json.loads(path.read_text())
    data["refused"]["rule"] = "other"
    path.write_text(json.dumps(data))
    assert "rename-conflict" in language.check(spec_copy, path)[0].message


def test_every_term_is_defined_in_the_schema_and_has_an_example():
    terms = language.terms(SPEC)
    assert {"step", "pointer", "condition", "at", *OPERATIONS} <= {t.term for t in terms}
    defined = {d for p in FILES for d in json.loads(p.read_text())["defines"]}
    assert {t.term for t in terms} == defined
    for t in terms:
        assert "MUST" in t.text or t.term not in ("step", "pointer"), t.term


def test_the_examples_use_every_operand_of_the_language():
    text = "\n".join(p.read_text() for p in FILES)
    for operand in ['"op": "add"', '"op": "map"', '"op": "wrap"', '"op": "rename"', '"consumes"', '"inverse"',
                    '"otherwise"', '"$from"', '"$at"', '/*/', '"./', '"equals"', '"in"', '"contains"', '"matches"',
                    '"when"', '"conflict"', '"leave"', '"refused"', '"step"']:
        assert operand in text, operand


def test_each_rule_is_a_valid_rule_of_the_step_schema():
    from jsonschema import Draft202012Validator
    schema = SPEC.load(language.STEP_SCHEMA)
    rule_schema = {"$defs": schema["$defs"], "$ref": "#/$defs/rule"}
    check = Draft202012Validator(rule_schema)
    for path in FILES:
        data = json.loads(path.read_text())
        if "rule" in data:
            assert list(check.iter_errors(data["rule"])) == [], path.name
        else:
            assert data["step"] in {SPEC.rel(s.path) for s in load_steps(SPEC).values()}


def test_a_term_pointing_at_no_description_is_one_clear_problem(spec_copy):
    path = spec_copy.root / language.STEP_SCHEMA
    data = json.loads(path.read_text())
    data["x-imgspec-language"].append({"term": "ghost", "pointer": "/$defs/nothing"})
    path.write_text(json.dumps(data))
    with pytest.raises(ProblemError) as exc:
        language.terms(spec_copy)
    assert str(exc.value) == ("schemas/upgrades/step.schema.json: /$defs/nothing: undefined-term: "
                              "the term 'ghost' points at no description")
