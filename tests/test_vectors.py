"""Conformance vectors: imgspec agrees with every one, they cover every rule, locked ones never change."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support import ROOT, SPEC

from imgspec.release import vectorlock
from imgspec.upgrade import load_steps, vectors

FILES = vectors.files(SPEC)


def reference(data, to):
    return vectors.run_reference(SPEC, data, to)


def test_the_reference_implementation_agrees_with_every_vector():
    assert len(FILES) >= 70
    assert vectors.verdicts(SPEC, reference) == []


@pytest.mark.parametrize("case", vectors.cases(SPEC), ids=lambda c: c.name)
def test_each_vector_is_what_the_reference_makes_of_its_case(case):
    rel, vec = vectors.make(SPEC, case)
    assert json.loads((ROOT / rel).read_text()) == vec


def test_the_vectors_cover_every_rule_of_every_released_step_and_the_reader_rules():
    covers = {c for p in FILES for c in json.loads(p.read_text())["covers"]}
    released = SPEC.released
    for step in load_steps(SPEC).values():
        if step.target in released:
            for i in range(len(step.rules)):
                assert f"{step.source}-{step.target}#/rules/{i}" in covers
    for rule in ("duplicate-key", "non-finite-number", "malformed-json", "not-utf8", "unknown-version", "max-depth",
                 "format"):
        assert f"reader: {rule}" in covers, rule


def test_the_boundaries_found_by_the_issues_and_the_proofs_are_vectors():
    def load(rel):
        return json.loads((ROOT / vectors.FOLDER / rel).read_text())
    for name in ("store-5", "backend-null", "backend-empty", "backend-7"):
        vec = load(f"2.2-2.3/metadata-{name}.json")
        assert vec["readings"]["2.3"]["locations"][0]["metadata"] == {}
        assert vec["readings"]["2.3"]["locations"][0]["metadata_before_2_3"] == vec["input"]["locations"][0]["metadata"]
    assert load("2.2-2.3/metadata-store-only.json")["readings"]["2.3"]["locations"][0]["metadata"]["store"] == "fs"
    assert load("2.2-2.3/location-pending-delete.json")["readings"]["2.3"]["locations"][0]["status"] == "pending_delete"
    for name in ("time-with-a-space", "time-offset-without-colon", "time-february-30"):
        assert load(f"2.3-2.4/{name}.json")["refused"] == {"pointer": "/created_at", "rule": "format", "exit": 1}
    assert "readings" in load("2.3-2.4/time-forms.json")


def test_a_command_under_the_runner_contract_is_held_to_the_vectors():
    """imgspec read --to {to} - itself, as another implementation would be run (a sample, for time)."""
    sample = {rel: None for rel in ("reader/duplicate-key.json", "reader/not-utf8.json", "reader/too-deep.json",
                                    "1.0-2.0/upper-case-id.json", "2.2-2.3/metadata-backend-null.json",
                                    "2.3-2.4/time-with-a-space.json", "2.0-2.1/location-without-status.json")}
    command = f"{sys.executable} -m imgspec read --to {{to}} -"
    for rel in sample:
        vec = json.loads((ROOT / vectors.FOLDER / rel).read_text())
        data = vectors.input_bytes(vec)
        for to in vectors.targets(SPEC, f"{vectors.FOLDER}/{rel}"):
            got = vectors.run_command(command, data, to)
            want = reference(data, to)
            assert (got.status, got.reading) == (want.status, want.reading), (rel, to, got.stderr)
            if "refused" in vec:
                assert f": {vec['refused']['pointer'] or '(root)'}: {vec['refused']['rule']}: " in got.stderr


def test_an_implementation_that_disagrees_is_named_vector_by_vector(tmp_path):
    wrong = tmp_path / "wrong.py"  # reads every record as itself, and never refuses
    wrong.write_text("import sys; sys.stdout.write(sys.stdin.read())\n")
    ran = subprocess.run([sys.executable, "-m", "imgspec", "vectors", "--command", f"{sys.executable} {wrong}"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert ran.returncode == 1
    lines = ran.stdout.splitlines()
    assert "examples/vectors/reader/duplicate-key.json: /refused: vector-disagrees: at 1.0: want exit 2" in "\n".join(lines)
    assert any(x.startswith("examples/vectors/1.0-2.0/example-active-public.json: /readings/2.0: vector-disagrees")
               for x in lines)
    assert "disagreement(s)" in ran.stderr


def test_a_locked_vector_cannot_change_but_a_new_one_may_be_added(spec_copy):
    path = spec_copy.root / vectors.FOLDER / "2.1-2.2" / "example-active-public.json"
    vec = json.loads(path.read_text())
    extra = spec_copy.root / vectors.FOLDER / "2.1-2.2" / "new-case.json"
    extra.write_text(json.dumps(vec))
    assert vectorlock.problems(spec_copy) == []
    vec["readings"]["2.2"]["name"] = "changed"
    path.write_text(json.dumps(vec))
    lines = [str(p) for p in vectorlock.problems(spec_copy)]
    assert ("examples/vectors/2.1-2.2/example-active-public.json: (root): frozen-vector-changed: locked with 2.2: its "
            "input, refusal or readings up to 2.2 changed") in lines
    checked = subprocess.run([sys.executable, "-m", "imgspec", "check", "--root", str(spec_copy.root)],
                             capture_output=True, text=True, cwd=ROOT)
    assert checked.returncode == 1 and lines[0] in checked.stdout
