"""Upgrade rules: every record upgrades to every later version, idempotently, composably, losslessly."""
import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT, SPEC

from imgspec.format import examples, validation
from imgspec.format.generate import Generator
from imgspec.problems import ProblemError
from imgspec.upgrade import chain, load_steps, upgrade
from imgspec.upgrade.proof import lost_by, text

STEPS = load_steps(SPEC)
IMAGES = [e for e in examples.record_examples(SPEC) if e.kind == "image" and e.valid]
PAIRS = [(e, to) for e in IMAGES for to in SPEC.versions if SPEC.versions.index(to) > SPEC.versions.index(e.version)]


def load(example):
    return json.loads(example.path.read_text())


def assert_nothing_lost(step, current):
    """Reverting the step's upgrade gives back every value of ``current``: the same record, or one that also
    holds optional fields ``current`` lacked (with the values a reader assumes for them), in the same order."""
    reverted = step.revert(step.apply(current))
    assert lost_by(step, current, reverted) == [], step.path.name
    assert validation.errors(reverted, "image", step.source, spec=SPEC) == [], step.path.name
    assert text(step.apply(reverted)) == text(step.apply(current)), step.path.name  # and reads the same


def test_one_step_per_consecutive_pair_of_versions():
    assert [(s.source, s.target) for s in STEPS.values()] == list(itertools.pairwise(SPEC.versions))
    assert len(STEPS) >= 4


@pytest.mark.parametrize("example,to", PAIRS, ids=lambda x: SPEC.rel(x.path) if hasattr(x, "path") else x)
def test_every_valid_example_upgrades_to_every_later_version(example, to):
    assert len(PAIRS) >= 50
    new = upgrade(load(example), to, SPEC)
    assert new["format_version"] == to
    assert validation.errors(new, "image", to, spec=SPEC) == []
    assert list(new) == list(SPEC.schema("image", to)["properties"])  # canonical key order


@pytest.mark.parametrize("example", IMAGES, ids=lambda e: SPEC.rel(e.path))
def test_upgrading_is_idempotent_and_composes(example):
    doc = load(example)
    later = SPEC.versions[SPEC.versions.index(example.version):]
    for a, b in itertools.combinations_with_replacement(later, 2):
        direct = upgrade(doc, b, SPEC)
        assert text(upgrade(upgrade(doc, a, SPEC), b, SPEC)) == text(direct)
        assert text(upgrade(direct, b, SPEC)) == text(direct)


@pytest.mark.parametrize("example", IMAGES, ids=lambda e: SPEC.rel(e.path))
def test_each_step_is_reversible_on_the_examples(example):
    doc = load(example)
    for step in chain(SPEC, example.version, SPEC.latest):
        new = step.apply(doc)
        assert_nothing_lost(step, doc)
        doc = new


@pytest.mark.parametrize("version", SPEC.versions[:-1])
@settings(max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=__import__("hypothesis").strategies.data())
def test_generated_records_upgrade_without_losing_anything(version, data):
    doc = data.draw(Generator(SPEC, version).record())
    assert validation.errors(doc, "image", version, spec=SPEC) == []
    current = doc
    for step in chain(SPEC, version, SPEC.latest):
        new = step.apply(current)
        assert validation.errors(new, "image", step.target, spec=SPEC) == []
        assert_nothing_lost(step, current)  # every value is recoverable
        current = new
    assert text(upgrade(doc, SPEC.latest, SPEC)) == text(current)


def test_every_field_a_version_adds_or_removes_is_covered_by_a_rule():
    for step in STEPS.values():
        written = set()
        consumed = set()
        for rule in step.rules:
            written.add(rule.get("path") or rule.get("to"))
            consumed.update(rule.get("consumes", []))
            if rule["op"] in ("wrap", "rename"):
                consumed.add(rule["from"])
        for kind, prefix in (("image", ""), ("location", "/locations/*"), ("member", "/members/*")):
            if kind == "location" and step.source == "1.0":
                continue
            old = set(SPEC.schema(kind, step.source).get("properties", {}))
            new = set(SPEC.schema(kind, step.target).get("properties", {}))
            assert {f"{prefix}/{f}" for f in new - old} <= written, (step.path.name, kind)
            assert {f"{prefix}/{f}" for f in old - new} <= consumed, (step.path.name, kind)


def test_add_rules_only_add_new_fields():
    for step in STEPS.values():
        for rule in step.rules:
            if rule["op"] == "add":
                assert step.is_new(rule["path"]), (step.path.name, rule["path"])


def image_1_0(**changes):
    doc = json.loads((ROOT / "examples/record/1.0/image/valid/active-public.json").read_text())
    doc.update(changes)
    return doc


def member(deleted):
    return {"member": "p1", "can_share": False, "created_at": "2024-01-01T00:00:00Z", "updated_at": None,
            "deleted": deleted, "deleted_at": "2024-02-01T00:00:00Z" if deleted else None}


@pytest.mark.parametrize("is_public,members,at_2_0,at_2_1", [
    (True, [], "public", "public"),
    (True, [member(False)], "public", "public"),
    (False, [], "private", "private"),
    (False, [member(True)], "private", "private"),
    (False, [member(True), member(False)], "private", "shared"),
])
def test_visibility_follows_glance_ocata(is_public, members, at_2_0, at_2_1):
    doc = image_1_0(is_public=is_public, members=members)
    assert upgrade(doc, "2.0", SPEC)["visibility"] == at_2_0
    assert upgrade(doc, "2.1", SPEC)["visibility"] == at_2_1
    assert "is_public" not in upgrade(doc, "2.0", SPEC)


def test_single_location_becomes_a_list_and_null_an_empty_one():
    doc = image_1_0()
    locs = upgrade(doc, "2.0", SPEC)["locations"]
    assert locs == [{"url": doc["location"], "metadata": {}, "status": "active", "created_at": doc["created_at"],
                     "updated_at": doc["updated_at"], "deleted": False, "deleted_at": None}]
    assert upgrade(image_1_0(location=None, status="queued"), "2.0", SPEC)["locations"] == []


@pytest.mark.parametrize("status,deleted,expected", [
    ("active", False, "active"), ("deactivated", False, "active"), ("pending_delete", False, "pending_delete"),
    ("killed", False, "deleted"), ("deleted", False, "deleted"),
    ("active", True, "active"),  # migration 033 set it from the image alone (erratum 2.2-E4); `deleted` says it is gone
    ("pending_delete", True, "pending_delete"),  # delayed_delete: soft-deleted and pending_delete, never deleted
])
def test_a_location_written_without_status_reads_it_from_the_image(status, deleted, expected):
    doc = upgrade(image_1_0(), "2.1", SPEC)
    doc["status"] = status
    doc["locations"][0]["deleted"] = deleted
    del doc["locations"][0]["status"]  # as imgspec wrote 2.1 records before erratum 2.1-E1
    assert upgrade(doc, "2.2", SPEC)["locations"][0]["status"] == expected


@pytest.mark.parametrize("version", ["2.0", "2.1"])
@pytest.mark.parametrize("status", ["active", "pending_delete", "deleted"])
def test_a_location_status_is_carried_through_every_step(version, status):
    """Glance has stored a location status since Icehouse (migrate 033): no upgrade may change it."""
    doc = upgrade(image_1_0(), version, SPEC)
    doc["status"] = "active"
    doc["locations"][0]["status"] = status
    for to in SPEC.versions[SPEC.versions.index(version) + 1:]:
        assert upgrade(doc, to, SPEC)["locations"][0]["status"] == status, to


def test_migration_019_and_033_facts_hold_for_a_1_0_record_under_delayed_delete():
    """Glance's migration 019 copied the image's deleted and updated_at to the new location row; 033 set the
    location status from the image status (glance/db/sqlalchemy/migrate_repo/versions)."""
    doc = image_1_0(status="pending_delete", deleted=True, deleted_at="2013-06-01T10:00:00Z")
    for to in SPEC.versions[1:]:
        (loc,) = upgrade(doc, to, SPEC)["locations"]
        assert (loc["status"], loc["deleted"], loc["deleted_at"], loc["updated_at"]) == (
            "pending_delete", True, "2013-06-01T10:00:00Z", doc["updated_at"]), to


def test_backend_is_renamed_store():
    doc = json.loads((ROOT / "examples/record/2.2/image/valid/ten-live-locations.json").read_text())
    new = upgrade(doc, "2.3", SPEC)
    assert [x["metadata"] for x in new["locations"][:2]] == [{"store": "rbd-site0"}, {"store": "rbd-site1"}]


def test_rename_keeps_a_value_it_replaces():
    doc = json.loads((ROOT / "examples/record/2.2/image/valid/ten-live-locations.json").read_text())
    doc["locations"][0]["metadata"] = {"backend": "rbd-site0", "store": "gold"}
    new = upgrade(doc, "2.3", SPEC)
    assert new["locations"][0]["metadata"] == {"store": "rbd-site0", "store_before_2_3": "gold"}
    assert text(STEPS["2.2"].revert(new)) == text(doc)


def test_new_fields_read_their_defaults():
    new = upgrade(image_1_0(), "2.2", SPEC)
    assert (new["os_hidden"], new["os_hash_algo"], new["os_hash_value"], new["virtual_size"], new["tags"]) == (
        False, None, None, None, [])
    assert {m["status"] for m in upgrade(image_1_0(members=[member(False)]), "2.0", SPEC)["members"]} == {"pending"}


def problem_lines(doc, to=None):
    with pytest.raises(ProblemError) as info:
        upgrade(doc, to, SPEC, source="r.json")
    return [str(p) for p in info.value.problems]


def test_refuses_downgrades_unknown_versions_and_invalid_input():
    doc = upgrade(image_1_0(), "2.2", SPEC)
    assert problem_lines(doc, "2.0") == [
        "r.json: /format_version: downgrade-refused: the record is 2.2; it cannot be read as the older 2.0 (readers never "
        "downgrade)"]
    assert problem_lines(dict(doc, format_version="2.9")) == [
        "r.json: /format_version: unknown-version: format version '2.9' is not one of 1.0, 2.0, 2.1, 2.2, 2.3, 2.4 "
        "(newer than this reader supports)"]
    assert problem_lines(image_1_0(name=7)) == ["r.json: /name: type: integer where string or null is required"]
    with pytest.raises(ProblemError, match="unknown-version"):
        upgrade(image_1_0(), "7.0", SPEC)


def test_a_broken_rules_file_is_one_clear_problem(spec_copy):
    path = spec_copy.schemas / "upgrades" / "2.1-2.2.json"
    data = json.loads(path.read_text())
    data["rules"][0]["mode"] = "whenever"
    path.write_text(json.dumps(data))
    with pytest.raises(ProblemError) as info:
        load_steps(spec_copy)
    assert [(p.file, p.pointer, p.rule) for p in info.value.problems] == [
        ("schemas/upgrades/2.1-2.2.json", "/rules/0/mode", "enum")]


# -- every valid 2.2 record upgrades (erratum 2.3-E2): location metadata is open in 2.2 ----------------------------

ODD = [{"store": 5}, {"backend": None}, {"backend": ""}, {"backend": 7}, {"store": "x" * 256},
       {"backend": "fs", "store": "gold", "store_before_2_3": 1}]


@pytest.mark.parametrize("metadata", ODD, ids=json.dumps)
def test_metadata_no_store_name_can_be_read_from_is_kept_aside(metadata):
    doc = json.loads((ROOT / "examples/record/2.2/image/valid/ten-live-locations.json").read_text())
    doc["locations"][0]["metadata"] = metadata
    assert validation.errors(doc, "image", "2.2", spec=SPEC) == []
    for to in ("2.3", "2.4"):
        new = upgrade(doc, to, SPEC)  # raises upgrade-produced-invalid if the rules make an invalid record
        assert (new["locations"][0]["metadata"], new["locations"][0]["metadata_before_2_3"]) == ({}, metadata)
    assert text(STEPS["2.2"].revert(STEPS["2.2"].apply(doc))) == text(doc)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                           lambda kids: st.lists(kids, max_size=2) | st.dictionaries(st.text(max_size=2), kids, max_size=2),
                           max_leaves=4)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(metadata=st.dictionaries(st.sampled_from(["store", "backend", "store_before_2_3", "other"]),
                                JSON_VALUES | st.text(min_size=1, max_size=8), max_size=4))
def test_any_2_2_location_metadata_upgrades_to_a_valid_record_and_back(metadata):
    doc = json.loads((ROOT / "examples/record/2.2/image/valid/ten-live-locations.json").read_text())
    doc["locations"][0]["metadata"] = metadata
    assert validation.errors(doc, "image", "2.2", spec=SPEC) == []
    new = upgrade(doc, "2.3", SPEC)
    assert validation.errors(new, "image", "2.3", spec=SPEC) == []
    loc = new["locations"][0]
    if "metadata_before_2_3" in loc:  # kept whole
        assert (loc["metadata"], loc["metadata_before_2_3"]) == ({}, metadata)
    else:  # renamed: every value is still there, under store, store_before_2_3 or its own key
        assert sorted(map(text, loc["metadata"].values())) == sorted(map(text, metadata.values()))
        assert {k: v for k, v in loc["metadata"].items() if k not in ("store", "store_before_2_3")} == {
            k: v for k, v in metadata.items() if k not in ("store", "backend", "store_before_2_3")}


def _expand_by_definition(doc, tokens, i=0, path=()):
    """Every concrete path of ``tokens`` in ``doc``, as the pointer module's docstring defines them: ``*`` is each
    index of an array; every parent is an object (or, under ``*``, an array) that exists; the last member may not."""
    if i == len(tokens):
        return [list(path)]
    token = tokens[i]
    if token == "*":
        if not isinstance(doc, list):
            return []
        return [p for k, item in enumerate(doc) for p in _expand_by_definition(item, tokens, i + 1, path + (k,))]
    if not isinstance(doc, dict):
        return []
    if i == len(tokens) - 1:
        return [list(path + (token,))]
    if token not in doc:
        return []
    return _expand_by_definition(doc[token], tokens, i + 1, path + (token,))


_json = st.recursive(st.none() | st.booleans() | st.integers(0, 3) | st.sampled_from(["a", "b"]),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c"]), kids,
                                                                                max_size=3), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_json, st.lists(st.sampled_from(["a", "b", "c", "*", "0"]), max_size=4))
def test_pointer_patterns_expand_as_defined(doc, tokens):
    """The concrete paths a rule's pattern names, with and without ``*`` (the pattern without one takes a path of
    its own in the code): each path of the definition, once, in document order."""
    from imgspec import pointer
    text = "".join("/" + t for t in tokens)
    assert pointer.expand(doc, text) == _expand_by_definition(doc, tuple(tokens))


def test_a_record_checked_by_its_caller_upgrades_alike_and_the_result_is_still_checked(spec_copy):
    """``upgrade(..., checked=True)`` (a store that has just validated the record) gives what the checking upgrade
    gives, and still refuses a result the target schema does not accept."""
    released = SPEC.versions[:SPEC.versions.index(SPEC.latest_released) + 1]
    paths = [p for v in released for p in sorted((ROOT / "examples/record" / v / "image/valid").glob("*.json"))]
    assert len(paths) >= 20
    for path in paths:
        doc = json.loads(path.read_text())
        assert upgrade(doc, checked=True) == upgrade(doc), path
    step = spec_copy.schemas / "upgrades" / "2.2-2.3.json"
    data = json.loads(step.read_text())
    data["rules"].append({"op": "add", "path": "/size", "value": "big", "why": "a defect on purpose", "mode": "read-time",
                          "mode_why": "a constant"})
    step.write_text(json.dumps(data))
    doc = json.loads((ROOT / "examples/record/2.2/image/valid/active-public.json").read_text())
    doc.pop("size", None)
    with pytest.raises(ProblemError) as caught:
        upgrade(doc, "2.3", spec_copy, checked=True)
    assert caught.value.problems[0].rule == "upgrade-produced-invalid"
