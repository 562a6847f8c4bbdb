"""The reader contract (schemas/reader/contract.json, docs/format/reader-contract.md), held against the code, the
vectors and a second reader in another language (tests/reader-js/reader.mjs, JavaScript with ajv), as the
JSON-Schema-Test-Suite holds its implementations: a vector no independent reader can pass is caught here."""
from __future__ import annotations

import ast
import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, SPEC

from imgspec import jsonfile
from imgspec.format import contract
from imgspec.problems import Problem, exit_status
from imgspec.spec import Spec
from imgspec.upgrade import vectors

DATA = contract.load(SPEC)
AJV_HOME = ROOT / "_build" / "ajv"
READER = ROOT / "tests" / "reader-js" / "reader.mjs"
NODE = shutil.which("node")
# rules raised while checking the spec's own files (step files), never by a reader on its input
SPEC_TREE_RULES = {"file-name", "mode-impossible"}
READ_PATH = ["imgspec/jsonfile.py", "imgspec/format/validation.py", "imgspec/upgrade/__init__.py", "imgspec/upgrade/rules.py",
             "imgspec/upgrade/operations.py", "imgspec/pointer.py"]
DYNAMIC = {"rule": {"max-depth", "duplicate-key", "non-finite-number"}}  # jsonfile._walk's result


def raised(path: str, function: str | None = None) -> set[str]:
    """The rule names of every Problem(...) a module (or one function of it) builds."""
    tree = ast.parse((ROOT / path).read_text())
    tops = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function] if function else [tree]
    out: set[str] = set()
    for top in tops:
        for node in ast.walk(top):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Problem" and len(node.args) >= 3:
                arg = node.args[2]
                values = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
                for v in values:
                    if isinstance(v, ast.Constant):
                        out.add(v.value)
                    elif isinstance(v, ast.Name) and v.id in DYNAMIC:
                        out |= DYNAMIC[v.id]
                    else:
                        out.add(f"<{ast.unparse(v)}>")
    return out


def test_every_refusal_the_reader_can_raise_is_in_the_contract():
    rules = set().union(*(raised(p) for p in READ_PATH), raised("imgspec/cli.py", "cmd_read"))
    keyword_rules = {"<str(e.validator)>", "<p.rule>"}  # JSON Schema keywords; problems passed on unchanged
    listed = set(contract.refusals(SPEC))
    assert rules - keyword_rules - SPEC_TREE_RULES <= listed, sorted(rules - keyword_rules - SPEC_TREE_RULES - listed)
    assert listed - {contract.SCHEMA_KEYWORD} <= rules, "a row names a rule no code raises"


@pytest.mark.parametrize("row", DATA["refusals"], ids=lambda r: r["rule"])
def test_each_row_has_its_exit_status_and_its_vectors(row):
    if row["rule"] != contract.SCHEMA_KEYWORD:
        assert exit_status([Problem("x", "", row["rule"], "")]) == row["exit"]
    assert row.get("vectors") or row.get("worked_examples") or row.get("no_vector"), row["rule"]
    for name in row.get("vectors", []):
        vec = json.loads((ROOT / vectors.FOLDER / f"{name}.json").read_text())
        if "refused" in vec:
            got = vec["refused"]
            if row["rule"] == contract.SCHEMA_KEYWORD:
                assert got["rule"] not in contract.refusals(SPEC), name
            else:
                assert got["rule"] == row["rule"], name
            assert got["exit"] == row["exit"], name
    for name in row.get("worked_examples", []):
        example = json.loads((ROOT / "examples" / "rules" / f"{name}.json").read_text())
        assert example["refused"]["rule"] == row["rule"]


def test_the_limits_are_the_code_s():
    assert contract.limit(SPEC, "max_size") == jsonfile.MAX_BYTES
    assert contract.limit(SPEC, "max_depth") == jsonfile.MAX_DEPTH


def test_the_implementers_page_states_no_count_that_can_go_stale():
    page = (ROOT / "docs" / "implementers.md").read_text()
    assert "75 vectors" not in page and "76 vectors" not in page


def test_a_missing_step_and_a_rule_that_makes_an_invalid_record_are_refused(spec_copy):
    from imgspec.upgrade import upgrade
    doc = json.loads((ROOT / "examples/record/2.1/image/valid/active-public.json").read_text())
    step = spec_copy.schemas / "upgrades" / "2.1-2.2.json"
    data = json.loads(step.read_text())
    data["rules"][0]["value"] = "not a boolean"  # os_hidden
    step.write_text(json.dumps(data))
    with pytest.raises(vectors.ProblemError) as caught:
        upgrade(doc, "2.2", Spec(spec_copy.root))
    assert {p.rule for p in caught.value.problems} == {"upgrade-produced-invalid"}
    step.unlink()
    with pytest.raises(vectors.ProblemError) as caught:
        upgrade(doc, "2.2", Spec(spec_copy.root))
    assert [p.rule for p in caught.value.problems] == ["missing-step"]


def run(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgspec", *args], input=stdin, capture_output=True, cwd=ROOT)


def test_an_unreadable_file_and_an_unknown_to_are_refused_naming_them(tmp_path):
    ran = run("read", str(tmp_path / "nope.json"))
    assert ran.returncode == 2 and b": (root): unreadable: " in ran.stderr
    ran = run("read", "--to", "9.9", "-", stdin=b"{}")
    assert (ran.returncode, ran.stderr.decode().splitlines()[0][:28]) == (2, "--to: (root): unknown-versio")


# -- deep documents: within the limit through every command, beyond it one line ------------------------------

def deep_record(levels: int) -> dict:
    """A valid 2.2 record whose first location's metadata makes the document ``levels`` containers deep."""
    doc = json.loads((ROOT / "examples/record/2.2/image/valid/active-public.json").read_text())
    meta: dict = {}
    node = meta
    for _ in range(levels - 4):  # the record, locations, the location, metadata
        node["x"] = {}
        node = node["x"]
    doc["locations"][0]["metadata"] = meta
    return doc


def deep_text(levels: int) -> str:
    with jsonfile.deep_enough():
        return json.dumps(deep_record(levels))


@pytest.mark.parametrize("levels,status", [(1024, 0), (1025, 2)])
def test_a_record_at_the_depth_limit_goes_through_every_command(tmp_path, levels, status):
    text = deep_text(levels)
    (tmp_path / "r.json").write_text(text)
    outcomes = {
        "read -": run("read", "-", stdin=text.encode()),
        "read FILE": run("read", str(tmp_path / "r.json")),
        "validate FILE": run("validate", str(tmp_path / "r.json")),
        "upgrade FILE": run("upgrade", str(tmp_path / "r.json"), "--to", "2.3"),
    }
    store = tmp_path / "store"
    (store / "records").mkdir(parents=True)
    (store / "records" / "r.json").write_text(text)
    (store / "manifest.json").write_text(json.dumps({"format_version": "2.2", "kind": "imgspec.store",
                                                     "created_at": "2026-01-01T00:00:00Z", "generator": "test",
                                                     "upgrade_in_progress": None}))
    outcomes["upgrade-store"] = run("upgrade-store", str(store), "--to", "2.3", "--no-fsync")
    for name, ran in outcomes.items():
        assert b"Traceback" not in ran.stderr, (name, ran.stderr[-800:])
        assert ran.returncode == status, (name, ran.returncode, ran.stderr[-300:])
        if status:
            assert b": (root): max-depth: nesting deeper than 1024 levels" in ran.stderr + ran.stdout, name
    if status == 0:
        with jsonfile.deep_enough():
            read = json.loads(outcomes["read -"].stdout)
            upgraded = json.loads((store / "records" / "r.json").read_text())
            assert read["format_version"] == "2.3" and read == upgraded


@pytest.mark.parametrize("levels,exported", [(1024, True), (1025, False)])
def test_an_export_of_deep_location_metadata(tmp_path, levels, exported):
    """A Glance row whose meta_data nests to the limit exports; one beyond it is refused (refused/), no traceback."""
    from test_sql_binding import T0, UUID, build_db, insert
    db = build_db(tmp_path / "glance.sqlite", "train")
    insert(db, "images", "train", id=UUID, name="deep", status="active", visibility="public", min_disk=0, min_ram=0,
           protected=0, created_at=T0, deleted=0, os_hidden=0)
    with jsonfile.deep_enough():
        meta = json.dumps(deep_record(levels)["locations"][0]["metadata"])
    insert(db, "image_locations", "train", id=1, image_id=UUID, value="file:///a", meta_data=meta, status="active",
           created_at=T0, deleted=0)
    db.commit()
    ran = run("export-sql", f"sqlite:///{tmp_path / 'glance.sqlite'}", str(tmp_path / "out"), "--no-fsync")
    assert b"Traceback" not in ran.stderr, ran.stderr[-800:]
    assert ran.returncode == (0 if exported else 1), ran.stderr[-400:]
    assert (tmp_path / "out" / "records" / f"{UUID}.json").exists() is exported
    if not exported:
        refusal = json.loads((tmp_path / "out" / "refused" / f"{UUID}.json").read_text())
        assert refusal["problems"][0]["rule"] == "max-depth"


# -- the second reader ----------------------------------------------------------------------------------------

def node_ready():
    assert NODE, "node is missing: the second reader runs on Node.js (the machine's)"
    assert (AJV_HOME / "node_modules" / "ajv").is_dir(), f"{AJV_HOME}: `make ajv` (part of `make test`) installs ajv"


def js_batch(jobs: list[tuple[bytes, str]], tmp_path: Path) -> dict:
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps([{"data": base64.b64encode(d).decode(), "to": t} for d, t in jobs]))
    ran = subprocess.run([NODE, str(READER), "--root", str(ROOT), "--batch", str(path)], capture_output=True,
                         env=dict(os.environ, AJV_HOME=str(AJV_HOME)), cwd=ROOT)
    assert ran.returncode == 0, ran.stderr.decode()[-2000:]
    results = json.loads(ran.stdout)
    return {job: result for job, result in zip(jobs, results, strict=True)}


def test_a_second_reader_in_javascript_agrees_with_every_vector(tmp_path):
    node_ready()
    jobs = []
    for path in vectors.files(SPEC):
        vec = json.loads(path.read_text())
        data = vectors.input_bytes(vec)
        for to in (vectors.targets(SPEC, SPEC.rel(path), vec) if "refused" in vec else vec["readings"]):
            jobs.append((data, to))
    results = js_batch(jobs, tmp_path)

    def runner(data, to):
        r = results[(data, to)]
        reading = None
        if r["status"] == 0:
            with jsonfile.deep_enough():
                reading = json.loads(r["stdout"])
        return vectors.Reading(reading, r["status"], r["stderr"])
    assert len(jobs) >= 130
    assert vectors.verdicts(SPEC, runner) == []


def test_the_second_reader_keeps_the_runner_contract_one_process_per_input():
    """The same reader under `imgspec vectors --command`'s contract (standard input, --to, exit status, stderr)."""
    node_ready()
    command = f"{NODE} {READER} --root {ROOT} --to {{to}} -"
    for name in ("reader/duplicate-key", "2.3-2.4/several-problems", "2.2-2.3/example-active-public"):
        vec = json.loads((ROOT / vectors.FOLDER / f"{name}.json").read_text())
        to = vectors.targets(SPEC, f"{vectors.FOLDER}/{name}.json", vec)[-1]
        os.environ["AJV_HOME"] = str(AJV_HOME)
        got = vectors.run_command(command, vectors.input_bytes(vec), to)
        if "refused" in vec:
            want = vec["refused"]
            assert got.status == want["exit"] and f": {want['pointer'] or '(root)'}: {want['rule']}: " in got.stderr
        else:
            assert got.status == 0 and vectors.same_reading(got.reading, vec["readings"][to])


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "rules").glob("*.json")), ids=lambda p: p.stem)
def test_the_second_reader_agrees_with_every_worked_example_of_the_rule_language(path):
    node_ready()
    ran = subprocess.run([NODE, str(READER), "--root", str(ROOT), "--rule-example", str(path)], capture_output=True,
                         text=True, env=dict(os.environ, AJV_HOME=str(AJV_HOME)), cwd=ROOT)
    assert ran.returncode == 0, ran.stderr[-1000:]
    got = json.loads(ran.stdout)
    example = json.loads(path.read_text())
    if "refused" in example:
        assert got.get("refused") == {k: example["refused"][k] for k in ("pointer", "rule")}
    else:  # member order included, as the reference's own check of the examples
        assert json.dumps(got.get("after"), ensure_ascii=False) == json.dumps(example["after"], ensure_ascii=False)


def test_a_vector_no_reader_can_pass_is_caught(tmp_path):
    """Held against the second reader, a vector with a wrong verdict is a disagreement (the check can fail)."""
    node_ready()
    vec = json.loads((ROOT / vectors.FOLDER / "reader" / "nan.json").read_text())
    data = vectors.input_bytes(vec)
    result = js_batch([(data, "2.3")], tmp_path)[(data, "2.3")]
    assert result["status"] == vec["refused"]["exit"] == 2
    assert ": (root): duplicate-key: " not in result["stderr"] and ": (root): non-finite-number: " in result["stderr"]
