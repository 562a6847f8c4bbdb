"""Every schema file is a valid 2020-12 schema with a stable $id, and references stay local."""
import json

import pytest
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable
from support import ROOT

from imgspec.format import registry
from imgspec.spec import BASE_URI, RECORD_KINDS

SCHEMAS = sorted((ROOT / "schemas").rglob("*.json"))
RECORD_SCHEMAS = [p for p in SCHEMAS if "record" in p.parts]
SERVICE_SCHEMAS = [p for p in SCHEMAS if "service" in p.parts and "bundled" not in p.parts]
BUNDLES = [p for p in SCHEMAS if "bundled" in p.parts]  # generated compound documents (tests/test_cross_validators.py)
ALL_SCHEMAS = RECORD_SCHEMAS + SERVICE_SCHEMAS + [p for p in SCHEMAS if p.name.endswith(".schema.json")]


def test_every_schema_file_on_disk_is_loaded(spec):
    assert len(RECORD_SCHEMAS) >= 24 and len(SERVICE_SCHEMAS) == 14  # image(s), member(s), 10 metadef schemas
    assert set(spec.schema_files()) == set(ALL_SCHEMAS)


@pytest.mark.parametrize("path", ALL_SCHEMAS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_schema_passes_the_2020_12_metaschema(path):
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == BASE_URI + path.relative_to(ROOT).as_posix()


OBJECT_SCHEMAS = [p for p in RECORD_SCHEMAS if json.loads(p.read_text()).get("type") == "object"]


@pytest.mark.parametrize("path", OBJECT_SCHEMAS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_objects_are_closed_and_write_every_field(path):
    assert len(OBJECT_SCHEMAS) >= 19
    schema = json.loads(path.read_text())
    assert schema["additionalProperties"] is False
    optional = set(schema["properties"]) - set(schema["required"])  # only a field an erratum added to a release
    assert all("Optional since erratum" in schema["properties"][name]["description"] for name in optional), optional


def test_registry_builds_without_problems(spec):
    _, problems = registry.build(spec)
    assert problems == []


def test_every_version_in_releases_has_its_schemas(spec):
    assert spec.versions == sorted(spec.versions, key=lambda v: tuple(map(int, v.split("."))))
    for v in spec.versions:
        assert {"image", "location", "member", "store"} <= set(spec.kinds(v))
        assert set(spec.kinds(v)) <= set(RECORD_KINDS)


def test_remote_references_are_never_fetched(spec):
    resolver = registry.of(spec).resolver()
    with pytest.raises(Unresolvable):
        resolver.lookup("https://json-schema.org/draft/2020-12/schema#/nothing-here-on-disk")
    with pytest.raises(Unresolvable):
        resolver.lookup("https://example.com/schemas/image.json")


def test_broken_ref_is_one_clear_problem(spec_copy):
    path = spec_copy.schemas / "record" / "2.2" / "image.json"
    schema = json.loads(path.read_text())
    schema["properties"]["tags"]["items"]["$ref"] = "tagg.json"
    path.write_text(json.dumps(schema))
    _, problems = registry.build(spec_copy)
    assert [str(p) for p in problems] == [
        "schemas/record/2.2/image.json: /properties/tags/items/$ref: unresolvable-ref: "
        "'tagg.json' does not resolve to a local schema (Unresolvable)"]


@pytest.mark.parametrize("keyword, value", [("maxLength", "255"), ("pattern", "[")])
def test_schema_breaking_the_metaschema_is_reported(spec_copy, keyword, value):
    """A pattern Python's re refuses is a metaschema problem too: the fast check (jsonschema-rs) would pass it, so the
    reference verdict is kept for it."""
    path = spec_copy.schemas / "record" / "2.1" / "member.json"
    schema = json.loads(path.read_text())
    schema["properties"]["member"][keyword] = value
    path.write_text(json.dumps(schema))
    _, problems = registry.build(spec_copy)
    assert [(p.file, p.pointer, p.rule) for p in problems] == [
        ("schemas/record/2.1/member.json", f"/properties/member/{keyword}", "metaschema")]


def test_id_must_name_its_own_path(spec_copy):
    path = spec_copy.schemas / "record" / "2.0" / "tag.json"
    schema = json.loads(path.read_text())
    schema["$id"] = schema["$id"].replace("2.0", "2.1")
    path.write_text(json.dumps(schema))
    _, problems = registry.build(spec_copy)
    rules = sorted((p.file, p.rule) for p in problems)
    assert ("schemas/record/2.0/tag.json", "$id") in rules


def test_duplicate_key_in_a_schema_is_reported(spec_copy):
    path = spec_copy.schemas / "record" / "2.3" / "tag.json"
    path.write_text(path.read_text().replace('"type": "string"', '"type": "string", "type": "integer"'))
    _, problems = registry.build(spec_copy)
    assert [(p.file, p.pointer, p.rule) for p in problems] == [("schemas/record/2.3/tag.json", "/type", "duplicate-key")]


def test_since_is_computed_from_the_schemas(spec):
    assert spec.since("image", "id") == "1.0"
    assert spec.since("image", "visibility") == "2.0"
    assert spec.since("image", "os_hidden") == "2.2"
    assert spec.since("location", "status") == "2.0"  # in the format since erratum 2.0-E1 (Glance: Icehouse)
    assert spec.since("image", "is_public") == "1.0"
    assert spec.since("image", "no_such_field") is None


def test_the_repositorys_own_pre_commit_config_is_valid_and_runs_the_pinned_tools():
    import subprocess
    import sys
    from pathlib import Path

    import yaml
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
                          cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = {h["id"]: h for r in yaml.safe_load((root / ".pre-commit-config.yaml").read_text())["repos"]
             for h in r["hooks"]}
    assert set(hooks) == {"ruff", "mypy", "imgspec-check"}
    for hook in hooks.values():
        assert (root / hook["entry"].split()[0]).exists(), hook["entry"]
