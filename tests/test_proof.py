"""Every version step proven on records drawn from the old schema itself (imgspec.format.generate, imgspec.upgrade.proof)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT, SPEC

from imgspec.format import formats, generate, validation
from imgspec.upgrade import load_steps, proof

STEPS = list(load_steps(SPEC).values())


@pytest.mark.parametrize("kind", proof.KINDS)
@pytest.mark.parametrize("step", STEPS, ids=lambda s: f"{s.source}-{s.target}")
def test_every_step_is_proven_on_documents_drawn_from_its_old_schema(step, kind):
    assert len(STEPS) >= 5
    assert proof.prove(step, kind) == []


def test_a_step_that_lacks_a_rule_is_not_proven(spec_copy):
    """The 2.2 -> 2.3 rule that moves a non-conforming `backend`/`store` aside (erratum 2.3-E2), taken away."""
    path = spec_copy.schemas / "upgrades" / "2.2-2.3.json"
    data = json.loads(path.read_text())
    assert data["rules"][0]["to"].endswith("metadata_before_2_3")
    del data["rules"][0]
    path.write_text(json.dumps(data))
    found = proof.prove(load_steps(spec_copy)["2.2"], "image")
    assert len(found) == 1 and found[0].rule == "not-proven-valid"
    assert found[0].file == "schemas/upgrades/2.2-2.3.json"
    assert "/metadata/store: type: " in found[0].message and "counterexample: {" in found[0].message


def test_a_step_that_loses_a_value_is_not_proven(spec_copy):
    path = spec_copy.schemas / "upgrades" / "1.0-2.0.json"
    data = json.loads(path.read_text())
    visibility = next(r for r in data["rules"] if r.get("path") == "/visibility")
    del visibility["inverse"]  # is_public can no longer be given back
    path.write_text(json.dumps(data))
    found = proof.prove(load_steps(spec_copy)["1.0"], "image")
    assert [p.rule for p in found] == ["not-proven-lossless"] and "/is_public" in found[0].message


def test_the_generator_refuses_a_keyword_it_does_not_know():
    gen = generate.Generator(SPEC, "2.3")
    with pytest.raises(generate.Unsupported, match="'if'"):
        gen.for_schema({"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}})
    with pytest.raises(generate.Unsupported, match="format 'uri'"):
        gen.for_schema({"type": "string", "format": "uri"})


def test_every_keyword_the_record_schemas_use_has_a_generator():
    used = set()

    def walk(node):
        if isinstance(node, dict):
            used.update(node)  # every key of a schema object is a keyword
            for k, v in node.items():
                if k == "properties":
                    for sub in v.values():
                        walk(sub)
                elif k not in ("const", "enum", "default"):
                    walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)
    for path in SPEC.schema_files():
        if "/record/" in str(path):
            walk(SPEC.load_once(path))
    assert used - generate.ANNOTATIONS - set(generate.KEYWORDS) == set()
    assert {"pattern", "format", "anyOf", "uniqueItems"} <= used


@settings(max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(generate._rfc3339())
def test_drawn_timestamps_are_rfc_3339_as_every_validator_here_reads_them(value):
    assert formats.date_time(value)
    assert validation.FORMAT_CHECKER.conforms(value, "date-time")


def test_the_drawn_space_reaches_the_boundaries():
    """Not realistic records: the names rules act on, any JSON in open objects, every timestamp form, absent members.

    Each boundary is searched for (``find``), not counted in one draw: how far a fixed number of draws reaches
    depends on the process (a worker under load, a hash seed), a search for an example does not."""
    from hypothesis import find
    gen = generate.Generator(SPEC, "2.2")
    budget = settings(max_examples=3000, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
    metadata = gen.for_schema(SPEC.schema("location", "2.2")["properties"]["metadata"])
    for boundary in (lambda m: "backend" in m, lambda m: not isinstance(m.get("backend", ""), str),
                     lambda m: "store" in m and "backend" not in m):
        assert boundary(find(metadata, boundary, settings=budget))
    stamp = generate._rfc3339()
    assert find(stamp, lambda s: s[-6] in "+-", settings=budget)[-6] in "+-"
    assert "t" in find(stamp, lambda s: "t" in s, settings=budget)
    absent = []

    @settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(generate.Generator(SPEC, "2.0").record())
    def draw_2_0(doc):  # a member the schema leaves optional is sometimes there, sometimes not
        absent.extend("status" not in loc for loc in doc["locations"])
    draw_2_0()
    assert True in absent and False in absent


@pytest.mark.parametrize("value,ok", [
    ("2024-03-05T09:12:44Z", True), ("2024-03-05t09:12:44.5z", True), ("0000-02-29T00:00:00Z", True),
    ("1998-12-31T15:59:60.123-08:00", True), ("2024-03-05 09:12:44Z", False), ("2024-03-05T09:12:44+0000", False),
    ("1900-02-29T00:00:00Z", False), ("1998-12-31T23:58:60Z", False), ("2024-03-05T24:00:00Z", False),
])
def test_one_date_time_verdict_for_the_reference_and_the_fast_validator(value, ok):
    schema = validation.validator("member", "2.3", SPEC)
    doc = {"member": "p", "can_share": False, "status": "pending", "created_at": value, "updated_at": None,
           "deleted": False, "deleted_at": None}
    assert schema.is_valid(doc) == ok
    assert validation.is_valid(SPEC, doc, "member", "2.3") == ok
    assert validation.schema_errors(doc, "member", "2.3", spec=SPEC) == [] if ok else validation.schema_errors(
        doc, "member", "2.3", spec=SPEC)[0].rule == "format"
    fast = validation.fast_validator(SPEC, "member", "2.3").is_valid(doc)
    assert fast <= ok  # the fast verdict is "certainly valid" or "ask the reference": never valid where it is not
    assert fast == (ok and value[5:10] != "02-29" and value[17:19] != "60")  # and sure of every other valid value


@settings(max_examples=500, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.one_of(generate._rfc3339(), st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}"
                                                    r"(\.[0-9]{1,3})?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z")))
def test_what_the_fast_pattern_accepts_is_a_date_time(value):
    """The fast validator's stand-in for the date-time format (imgspec.format.formats.SURELY_DATE_TIME) accepts
    only date-times, and every date-time but a Feb 29 and a leap second."""
    import regress
    surely = regress.Regex(formats.SURELY_DATE_TIME).find(value) is not None
    if surely:
        assert formats.date_time(value), value
    elif formats.date_time(value):
        assert value[5:10] == "02-29" or value[17:19] == "60", value


def test_imgspec_diff_proves_the_step_it_reviews():
    ran = subprocess.run([sys.executable, "-m", "imgspec", "diff", "2.2", "2.3"], capture_output=True, text=True,
                         cwd=ROOT)
    assert ran.returncode == 0, ran.stderr
    assert "proven: 2.2 -> 2.3 on 120 image and 120 store documents drawn from the 2.2 schemas" in ran.stdout
