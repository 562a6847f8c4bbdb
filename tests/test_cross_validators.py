"""Every record example gets the same verdict from independent validators, on the self-contained schemas, offline.

In the spirit of Bowtie: python `jsonschema` (the reference), `jsonschema-rs`, `check-jsonschema` run as a user
runs it (only `--schemafile`, with every network connection refused) and ajv 2020 with ajv-formats (Node; `make
ajv` installs it into the build folder). Invalid examples take part where their rule is a JSON Schema keyword.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import defaultdict

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator
from support import ROOT, SPEC

from imgspec.format import bundle, examples

AJV_HOME = ROOT / "_build" / "ajv"
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}


def cases() -> dict[str, list[tuple[str, bool]]]:
    """bundle -> [(record example, the verdict of a JSON Schema validator)]: every valid example, every invalid one
    whose rule is a JSON Schema keyword, and, as valid, the invalid ones only imgspec refuses (a duplicate key, the
    placement rules: what the implementers page says JSON Schema alone cannot check)."""
    out: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    beyond = {e.path for e, _ in examples.beyond_json_schema(SPEC)}
    for e in examples.record_examples(SPEC):
        out[f"{bundle.FOLDER}/{e.version}/{e.kind}.json"].append((SPEC.rel(e.path), e.valid or e.path in beyond))
    return dict(out)


CASES = cases()


def test_there_are_enough_cases():
    assert len(CASES) >= 20 and sum(map(len, CASES.values())) >= 250
    assert any(not valid for c in CASES.values() for _, valid in c)
    assert len(examples.beyond_json_schema(SPEC)) >= 12  # six duplicate keys, six placement rules


def verdicts_python(schema: dict, files: list[str]) -> dict[str, bool]:
    check = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)  # no registry
    return {f: check.is_valid(json.loads((ROOT / f).read_text())) for f in files}


def verdicts_rs(schema: dict, files: list[str]) -> dict[str, bool]:
    check = jsonschema_rs.validator_for(schema, validate_formats=True)
    return {f: check.is_valid(json.loads((ROOT / f).read_text())) for f in files}


def verdicts_check_jsonschema(schema_file: str, files: list[str], tmp) -> dict[str, bool]:
    exe = shutil.which("check-jsonschema", path=str(ROOT / ".venv" / "bin")) or shutil.which("check-jsonschema")
    assert exe, "check-jsonschema is missing: make test installs it from requirements.txt"
    env = {**os.environ, **OFFLINE, "XDG_CACHE_HOME": str(tmp)}
    ran = subprocess.run([exe, "--schemafile", schema_file, *files], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=300)
    assert ran.returncode in (0, 1), ran.stdout + ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr
    failed = {line.strip().split("::")[0] for line in ran.stdout.splitlines() if "::" in line}
    return {f: f not in failed for f in files}


def verdicts_ajv(schema_file: str, files: list[str]) -> dict[str, bool]:
    node = shutil.which("node")
    assert node, "node is missing: the machine's Node.js runs ajv"
    assert (AJV_HOME / "node_modules" / "ajv").is_dir(), f"{AJV_HOME}: run `make ajv` (make test does)"
    ran = subprocess.run([node, str(ROOT / "tools" / "ajv" / "validate.mjs"), schema_file, *files], capture_output=True,
                         text=True, cwd=ROOT, env={**os.environ, **OFFLINE, "AJV_HOME": str(AJV_HOME)}, timeout=300)
    assert ran.returncode == 0, ran.stderr
    out = dict(reversed(line.split(" ", 1)) for line in ran.stdout.splitlines())
    return {f: out[f] == "valid" for f in files}


@pytest.mark.parametrize("schema_file", sorted(CASES))
def test_every_validator_gives_every_example_its_verdict(schema_file, tmp_path):
    files = [f for f, _ in CASES[schema_file]]
    want = dict(CASES[schema_file])
    schema = json.loads((ROOT / schema_file).read_text())
    found = {"jsonschema": verdicts_python(schema, files), "jsonschema-rs": verdicts_rs(schema, files),
             "check-jsonschema": verdicts_check_jsonschema(schema_file, files, tmp_path),
             "ajv": verdicts_ajv(schema_file, files)}
    wrong = [f"{name}: {f}: says {'valid' if got[f] else 'invalid'}, JSON Schema should say {'valid' if want[f] else 'invalid'}"
             for name, got in found.items() for f in files if got[f] != want[f]]
    assert wrong == []


def test_the_bundles_are_fresh_and_a_stale_one_is_named(spec_copy):
    assert bundle.stale(SPEC) == []
    path = spec_copy.schemas / "record" / "2.3" / "location.json"
    data = json.loads(path.read_text())
    data["properties"]["url"]["maxLength"] = 10
    path.write_text(json.dumps(data))
    stale = {str(p) for p in bundle.stale(spec_copy)}
    assert ("schemas/bundled/2.3/location.json: (root): bundle-stale: differs from what schemas/record/2.3/location.json "
            "and the schemas it references give now: run `imgspec bundle`") in stale
    assert any(s.startswith("schemas/bundled/2.3/image.json: (root): bundle-stale") for s in stale)  # it embeds location


def test_a_bundle_resolves_nothing_outside_itself():
    for rel in bundle.targets(SPEC):
        doc = json.loads((ROOT / rel).read_text())
        ids = set(doc["$defs"])
        assert doc["$ref"] in ids
        refs = [r for d in doc["$defs"].values() for r in bundle._refs(d)]
        from urllib.parse import urljoin
        for uri, d in doc["$defs"].items():
            for r in bundle._refs(d):
                target = urljoin(uri, r).split("#")[0]
                assert target in ids or target == uri, (rel, r)
        assert refs is not None
