"""Released versions are frozen by content hash; drafts are free."""
import json

from imgspec import release
from imgspec.spec import Spec

from conftest import ROOT


def test_every_released_file_matches_its_lock():
    spec = Spec(ROOT)
    assert release.check(spec) == []
    data = json.loads((ROOT / "schemas/releases.json").read_text())
    locked = [name for e in data["record"] if e["status"] == "released" for name in e["files"]]
    assert len(locked) >= 25


def test_changing_a_released_schema_is_one_clear_problem(spec_copy):
    path = spec_copy.schemas / "record" / "2.1" / "member.json"
    path.write_text(path.read_text().replace('"maxLength": 255', '"maxLength": 200'))
    (p,) = release.check(spec_copy)
    assert str(p).startswith("schemas/record/2.1/member.json: (root): frozen-file-changed: released in 2.1 and frozen")


def test_whitespace_counts_as_a_change(spec_copy):
    path = spec_copy.schemas / "upgrades" / "2.0-2.1.json"
    path.write_text(path.read_text() + "\n")
    assert [p.rule for p in release.check(spec_copy)] == ["frozen-file-changed"]


def test_adding_or_removing_a_file_of_a_released_version(spec_copy):
    (spec_copy.schemas / "record" / "2.2" / "extra.json").write_text("{}")
    (spec_copy.schemas / "record" / "2.0" / "tag.json").unlink()
    assert sorted((p.file, p.rule) for p in release.check(spec_copy)) == [
        ("schemas/record/2.0/tag.json", "frozen-file-removed"),
        ("schemas/record/2.2/extra.json", "frozen-version-extended")]


def test_releasing_the_draft_locks_its_files(spec_copy):
    data = json.loads((spec_copy.schemas / "releases.json").read_text())
    draft = data["record"][-1]
    assert draft["status"] == "draft" and "files" not in draft
    version = draft["version"]
    entry = release.release(version, spec_copy)
    assert entry["status"] == "released"
    assert f"schemas/record/{version}/image.json" in entry["files"]
    assert any(name.startswith("schemas/upgrades/") and name.endswith(f"-{version}.json") for name in entry["files"])
    assert release.check(Spec(spec_copy.root)) == []
    (spec_copy.schemas / "record" / version / "tag.json").write_text("{}")
    assert [p.rule for p in release.check(Spec(spec_copy.root))] == ["frozen-file-changed"]


def test_a_draft_may_change_freely(spec_copy):
    version = json.loads((spec_copy.schemas / "releases.json").read_text())["record"][-1]["version"]
    path = spec_copy.schemas / "record" / version / "tag.json"
    path.write_text(path.read_text().replace('"maxLength": 255', '"maxLength": 300'))
    assert release.check(spec_copy) == []


def test_a_release_after_a_draft_is_refused(spec_copy):
    path = spec_copy.schemas / "releases.json"
    data = json.loads(path.read_text())
    data["record"][2]["status"] = "draft"
    data["record"][2].pop("files")
    path.write_text(json.dumps(data))
    rules = [p.rule for p in release.check(spec_copy)]
    assert rules.count("release-order") == len(data["record"]) - 4
