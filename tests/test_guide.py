"""The operator's upgrade guide: Glance's series read as format versions through the binding, each upgrade
between them in glance-manage's terms, and what a value becomes across the steps."""
import json

import pytest
from support import ROOT, SPEC

from imgspec.problems import ProblemError
from imgspec.spec import version_key
from imgspec.sql import guide
from imgspec.upgrade import upgrade


def test_every_series_reads_as_the_format_its_revision_is_bound_to_and_formats_never_go_back():
    found = guide.series(SPEC)
    assert len(found) >= 30 and found[-1].glance == "33.0.0"
    by = {s.name: s.format for s in found}
    assert by["Essex"] == "1.0" and by["Newton"] == "2.0" and by["Ocata"] == "2.1" and by["Stein"] == "2.2"
    assert by["Train"] == "2.3" and by["2026.2 (Hibiscus)"] == "2.3"
    keys = [version_key(s.format) for s in found]
    assert keys == sorted(keys)


def test_each_upgrade_that_changes_the_format_says_what_glance_does_and_runs():
    found = guide.upgrades(SPEC)
    assert [(u.old.name, u.new.name) for u in found] == [("Essex", "Folsom"), ("Newton", "Ocata"),
                                                         ("Queens", "Rocky"), ("Stein", "Train")]
    assert found[0].commands == ["glance-manage db_sync"]
    assert found[1].commands == ["glance-manage db expand", "glance-manage db migrate", "glance-manage db contract"]
    told = json.loads((ROOT / guide.DATA).read_text())["steps"]
    assert {e["step"] for e in told} == {f"{s.source}-{s.target}" for u in found for s in u.steps}
    assert "ocata_migrate01" in found[1].glance[0]["glance"] and found[1].mode == "install-time"
    path = guide.path(SPEC, "Essex", "2026.2 (Hibiscus)")
    assert [f"{s.source}-{s.target}" for u in path for s in u.steps] == ["1.0-2.0", "2.0-2.1", "2.1-2.2", "2.2-2.3"]


def test_a_1_0_is_public_becomes_public_private_or_shared_in_2_3_in_two_steps():
    def record(name):
        return json.loads((ROOT / "examples/record/1.0/image/valid" / name).read_text())
    assert upgrade(record("active-public.json"), "2.3", SPEC)["visibility"] == "public"
    assert upgrade(record("queued-no-data.json"), "2.3", SPEC)["visibility"] == "private"
    shared = record("shared-with-members.json")
    steps = guide.journey(SPEC, shared, "2.3")
    assert [(s.target, doc["visibility"]) for s, doc in steps] == [("2.0", "private"), ("2.1", "shared"),
                                                                  ("2.2", "shared"), ("2.3", "shared")]
    only_deleted = dict(shared, members=[dict(m, deleted=True, deleted_at=m.get("deleted_at") or
                                              "2024-01-01T00:00:00Z") for m in shared["members"]])
    assert upgrade(only_deleted, "2.3", SPEC)["visibility"] == "private"  # ocata_migrate01 skips deleted members


def test_a_series_at_a_revision_the_binding_does_not_know_is_refused_with_its_place(spec_copy):
    path = spec_copy.root / guide.DATA
    data = json.loads(path.read_text())
    data["series"][3]["revision"] = "9999"
    path.write_text(json.dumps(data))
    with pytest.raises(ProblemError) as exc:
        guide.series(spec_copy)
    assert [(p.file, p.pointer, p.rule) for p in exc.value.problems] == [(guide.DATA, "/series/3/revision",
                                                                          "unknown-revision")]


def test_every_consecutive_pair_of_series_the_matrix_ran_is_one_pair_read_from_the_matrix():
    matrix = json.loads((ROOT / guide.MATRIX).read_text())
    ran: dict[str, list[dict]] = {}
    for r in matrix["releases"]:
        if r.get("matrix"):
            ran.setdefault(r["series"], []).append(r)
    pairs = guide.release_pairs(SPEC)
    assert len(pairs) == len(ran) - 1 >= 15
    for p, (old, new) in zip(pairs, zip(list(ran), list(ran)[1:], strict=False), strict=True):
        assert p.old_releases == [r["release"] for r in ran[old]] and p.new_releases == [r["release"] for r in ran[new]]
        assert p.revisions == (ran[old][-1]["matrix"]["revision"], ran[new][-1]["matrix"]["revision"])
        assert p.formats == (ran[old][-1]["matrix"]["format_version"], ran[new][-1]["matrix"]["format_version"])
        assert [f"{s.source}-{s.target}" for s in p.steps] == ([] if p.formats[0] == p.formats[1] else
                                                               [f"{p.formats[0]}-{p.formats[1]}"])
    by = {(p.old.name, p.new.name): p for p in pairs}
    assert by[("Pike", "Rocky")].formats == ("2.1", "2.2") and by[("Stein", "Train")].changes_tables
    assert not by[("Rocky", "Stein")].changes_tables
    assert [w["heads"] for w in by[("2023.2 (Bobcat)", "2024.1 (Caracal)")].windows] == [["2023_1_contract01",
                                                                                          "2024_1_expand01"]]
    assert by[("Stein", "Train")].windows == [] and by[("Rocky", "Stein")].windows == []


def test_a_series_whose_releases_leave_different_revisions_is_refused(spec_copy):
    path = spec_copy.root / guide.MATRIX
    data = json.loads(path.read_text())
    train = [r for r in data["releases"] if r["series"] == "train"]
    train[-1]["matrix"]["revision"] = "ussuri_contract01"
    path.write_text(json.dumps(data))
    with pytest.raises(ProblemError) as exc:
        guide.release_pairs(spec_copy)
    assert [p.rule for p in exc.value.problems] == ["series-disagree"] and "train" in exc.value.problems[0].message
