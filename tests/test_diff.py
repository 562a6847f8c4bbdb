"""imgspec diff: each kind of schema change is classified as the review rules say, with its pointer."""
import copy
import itertools
import json
import subprocess
import sys

import pytest
from support import ROOT, SPEC

from imgspec.diff import schemas as diff
from imgspec.spec import Spec
from imgspec.upgrade import load_steps

STEPS = load_steps(SPEC)
BASE = SPEC.schema("image", "2.3")


def classify(mutate, kind="image"):
    new = copy.deepcopy(SPEC.schema(kind, "2.3"))
    mutate(new)
    return [(c.record, c.category, c.rule) for c in diff.compare_schemas(kind, SPEC.schema(kind, "2.3"), new, "2.3", "2.3")]


def props(s):
    return s["properties"]


@pytest.mark.parametrize("mutate,expected", [
    (lambda s: props(s)["name"].update(maxLength=128), [("/name", "breaking", "limit-narrowed")]),
    (lambda s: props(s)["name"].update(maxLength=512), [("/name", "compatible", "limit-loosened")]),
    (lambda s: props(s)["owner"].update(minLength=1), [("/owner", "breaking", "limit-added")]),
    (lambda s: props(s)["name"].pop("maxLength"), [("/name", "compatible", "limit-removed")]),
    (lambda s: props(s)["tags"].update(maxItems=128), [("/tags", "breaking", "limit-added")]),
    (lambda s: props(s)["id"].update(pattern=props(s)["id"]["pattern"].replace("a-fA-F", "a-f")),
     [("/id", "breaking", "pattern-changed")]),
    (lambda s: props(s)["id"].update(pattern=props(s)["id"]["pattern"].replace("[0-9a-fA-F]{8}-", "[0-9a-zA-Z]{8}-")),
     [("/id", "compatible", "pattern-widened")]),
    (lambda s: props(s)["id"].update(pattern=props(s)["id"]["pattern"].replace("{12}", "{13}")),
     [("/id", "breaking", "pattern-changed")]),
    (lambda s: props(s)["visibility"]["enum"].remove("community"), [("/visibility", "breaking", "enum-narrowed")]),
    (lambda s: props(s)["visibility"]["enum"].append("hidden"), [("/visibility", "compatible", "enum-extended")]),
    (lambda s: props(s)["name"].update(type="string"), [("/name", "breaking", "type-narrowed")]),
    (lambda s: props(s)["min_ram"].update(type=["integer", "null"]), [("/min_ram", "compatible", "type-widened")]),
    (lambda s: props(s)["size"].update(type="string"), [("/size", "breaking", "type-changed")]),
    (lambda s: props(s).pop("os_hidden") and s["required"].remove("os_hidden"), [("/os_hidden", "breaking", "field-removed")]),
    (lambda s: (props(s).update(os_hidden2=props(s).pop("os_hidden")), s["required"].remove("os_hidden"),
                s["required"].append("os_hidden2")), [("/os_hidden2", "breaking", "field-renamed")]),
    (lambda s: (props(s).update(color={"type": "string"}), s["required"].append("color")),
     [("/color", "needs-default", "field-added-required")]),
    (lambda s: props(s).update(color={"type": "string"}), [("/color", "compatible", "field-added-optional")]),
    (lambda s: s["required"].remove("owner"), [("/owner", "compatible", "no-longer-required")]),
    (lambda s: s.update(additionalProperties=True), [("", "compatible", "object-opened")]),
    (lambda s: props(s)["properties"].update(additionalProperties={"type": "integer"}),
     [("/properties/*", "breaking", "type-changed")]),
    (lambda s: props(s)["properties"].update(additionalProperties=False), [("/properties", "breaking", "object-closed")]),
    (lambda s: props(s)["properties"].update(properties={"os_distro": {"type": "string"}}),
     [("/properties/os_distro", "breaking", "typed-field-on-open-object")]),
    (lambda s: props(s)["owner"].update(pattern="^[0-9a-f]{32}$"), [("/owner", "breaking", "pattern-added")]),
    (lambda s: props(s)["id"].pop("pattern"), [("/id", "compatible", "pattern-removed")]),
    (lambda s: props(s)["owner"].update(format="uuid"), [("/owner", "breaking", "format-added")]),
    (lambda s: props(s)["tags"]["items"].update({"$ref": "member.json"}), [("/tags/*", "breaking", "ref-changed")]),
    (lambda s: s.update({"$id": "https://imgspec.example/schemas/other/image.json"}), [("", "breaking", "id-changed")]),
    (lambda s: props(s)["visibility"].update(default="private"), [("/visibility", "compatible", "default-changed")]),
    (lambda s: props(s)["tags"].update(uniqueItems=False), [("/tags", "compatible", "unique-removed")]),
])
def test_each_change_is_classified(mutate, expected):
    assert classify(mutate) == expected


def test_nested_object_changes_name_the_record_field():
    got = classify(lambda s: s["properties"]["metadata"]["properties"]["store"].update(maxLength=64), "location")
    assert got == [("/metadata/store", "breaking", "limit-narrowed")]


def test_history_diffs_match_the_release_notes():
    _, _, changes = diff.diff(SPEC, "2.0", "2.1")
    assert [(c.record, c.category, c.rule) for c in changes if c.category != "version"] == [
        ("/status", "compatible", "enum-extended"),  # uploading and importing: in 2.1 by erratum 2.1-E2 (Pike)
        ("/visibility", "compatible", "default-changed"), ("/visibility", "compatible", "enum-extended")]
    _, _, changes = diff.diff(SPEC, "1.0", "2.0")
    removed = {c.record for c in changes if c.rule == "field-removed"}
    assert removed == {"/is_public", "/location"}
    assert ("/location|/locations/*", "type-changed") in {(c.shown, c.rule) for c in changes}


@pytest.mark.parametrize("old,new", list(itertools.pairwise(SPEC.versions)))
def test_gate_every_non_compatible_change_is_covered_by_an_upgrade_rule(old, new):
    _, _, changes = diff.diff(SPEC, old, new)
    assert [c.line() for c in diff.uncovered(changes, STEPS[old].ruleset())] == []
    assert any(c.category in diff.NOT_COMPATIBLE for c in changes) or old == "2.0"


def test_gate_catches_a_rule_that_goes_missing():
    rules = [r for r in STEPS["2.1"].rules if r["path"] != "/os_hidden"]
    _, _, changes = diff.diff(SPEC, "2.1", "2.2")
    assert [(c.record, c.rule) for c in diff.uncovered(changes, {"image": rules, "store": []})] == [
        ("/os_hidden", "field-added-required")]
    _, _, changes = diff.diff(SPEC, "2.3", "2.4")
    assert [(c.kind, c.record) for c in diff.uncovered(changes, {"image": STEPS["2.3"].rules, "store": []})] == [
        ("store", "/placement")]


def test_cli_exit_status_and_markdown(tmp_path):
    new = tmp_path / "2.4"
    new.mkdir()
    for kind in SPEC.kinds("2.3"):
        schema = copy.deepcopy(SPEC.schema(kind, "2.3"))
        if kind == "image":
            schema["properties"]["name"]["maxLength"] = 100
        (new / f"{kind}.json").write_text(json.dumps(schema))
    result = subprocess.run([sys.executable, "-m", "imgspec", "diff", "2.3", str(new), "--markdown"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "| breaking | image | `/name` | limit-narrowed: maxLength 255 -> 100 | **not covered** |" in result.stdout
    assert "uncovered: image /name: breaking limit-narrowed" in result.stderr
    ok = subprocess.run([sys.executable, "-m", "imgspec", "diff", "2.1", "2.2"], capture_output=True, text=True)
    assert ok.returncode == 0 and "[upgrade rule 1]" in ok.stdout


CANONICAL = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


@pytest.mark.parametrize("old,new,widens", [
    (CANONICAL, CANONICAL[:-1].replace("^", "^(", 1) + "|[0-9a-fA-F]{32})$", True),  # erratum 1.0-E3: an alternative added
    (CANONICAL, "^([0-9a-fA-F]{32}|" + CANONICAL[1:-1] + ")$", True),
    (CANONICAL, "^(" + CANONICAL[1:-1].replace("{12}", "{11}") + "|[0-9a-fA-F]{32})$", False),
    (CANONICAL[:-1].replace("^", "^(", 1) + "|[0-9a-fA-F]{32})$", CANONICAL, False),  # an alternative taken away
    ("^a", "^(a|b)$", False),  # not anchored at both ends: not shown
])
def test_a_pattern_widened_by_an_alternative(old, new, widens):
    assert diff.pattern_widens(old, new) is widens


def test_a_change_of_meaning_is_found_from_the_upgrade_rules():
    """2.0 -> 2.1 keeps `private` valid but rewrites it to `shared` for an image with members: a schema diff sees an
    enum extended (compatible); the upgrade rules show that the same value means something else."""
    found = {(a, b): diff.meaning_changes(SPEC, a, b) for a, b in itertools.pairwise(SPEC.versions)}
    assert [(c.record, c.category) for c in found[("2.0", "2.1")]] == [("/visibility", "meaning-changed")]
    assert '"private" -> "shared"' in found[("2.0", "2.1")][0].detail
    assert not [c for step, changes in found.items() if step != ("2.0", "2.1") for c in changes]
    assert "/visibility" in diff.declared_meaning_changes(SPEC, "2.1")


def test_an_undeclared_change_of_meaning_fails_diff_and_release(spec_copy):
    from imgspec.problems import ProblemError
    from imgspec.release.versions import release
    path = spec_copy.schemas / "releases.json"
    data = json.loads(path.read_text())
    entry = next(e for e in data["record"] if e["version"] == "2.1")
    del entry["meaning_changes"]
    entry["status"] = "draft"  # as it stood before its release
    path.write_text(json.dumps(data))
    spec = Spec(spec_copy.root)
    assert [c.record for c in diff.undeclared_meaning_changes(spec, "2.0", "2.1")] == ["/visibility"]
    with pytest.raises(ProblemError) as info:
        release(spec, "2.1")
    (p,) = info.value.problems
    assert p.rule == "meaning-undeclared" and "/visibility" in p.message
    assert json.loads(path.read_text()) == data  # nothing written


def test_diff_prints_a_declared_change_of_meaning():
    result = subprocess.run([sys.executable, "-m", "imgspec", "diff", "2.0", "2.1"], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "MEANING-CHANGED image    /visibility" in result.stdout and "[declared]" in result.stdout
