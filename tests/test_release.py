"""Released versions are frozen by content hash; drafts are free."""
import json

from support import ROOT

from imgspec.release import versions as release
from imgspec.spec import Spec


def test_every_released_file_matches_its_lock():
    spec = Spec(ROOT)
    assert release.check(spec) == []
    data = json.loads((ROOT / "schemas/releases.json").read_text())
    locked = [name for e in data["record"] if e["status"] == "released" for name in e["files"]]
    assert len(locked) >= 25


def test_changing_a_released_schema_is_one_clear_problem(spec_copy):
    path = spec_copy.schemas / "record" / "2.1" / "member.json"
    path.write_text(path.read_text().replace('"minLength": 1', '"minLength": 2'))
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
    entry = release.release(spec_copy, version)
    assert entry["status"] == "released"
    assert f"schemas/record/{version}/image.json" in entry["files"]
    assert any(name.startswith("schemas/upgrades/") and name.endswith(f"-{version}.json") for name in entry["files"])
    assert release.check(Spec(spec_copy.root)) == []
    (spec_copy.schemas / "record" / version / "tag.json").write_text("{}")
    assert [p.rule for p in release.check(Spec(spec_copy.root))] == ["frozen-file-changed"]


def test_a_draft_may_change_freely(spec_copy):
    version = json.loads((spec_copy.schemas / "releases.json").read_text())["record"][-1]["version"]
    path = spec_copy.schemas / "record" / version / "image.json"
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


# -- errata: a released version is corrected only by widening, recorded and classified ----------------------

def git_tree(spec_copy):
    """The copy as a git repository with one commit: errata find the content they replace in git history."""
    import subprocess
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"]):
        subprocess.run(["git", "-C", str(spec_copy.root), *args], check=True)
    return Spec(spec_copy.root)


def test_every_recorded_erratum_only_widens_and_every_example_still_upgrades():
    from imgspec.release import errata
    spec = Spec(ROOT)
    found = errata.errata(spec)
    assert {x["id"] for _, x in found} >= {"1.0-E1", "2.0-E1", "2.1-E1", "2.2-E1", "2.3-E1"}
    for version, erratum in found:
        result = errata.classify(spec, version, erratum)
        assert result.problems == [], erratum["id"]
        assert result.schema_changes or result.rule_files, erratum["id"]
        assert erratum["evidence"] and all(e.startswith("glance/") for e in erratum["evidence"]), erratum["id"]
        assert set(erratum["files"]) == set(erratum["replaces"])
    # the corrected 1.0 -> 2.0 rules read 1.x records as Glance's migrations 019 and 033 did: a reading change, listed
    (erratum,) = [x for v, x in found if x["id"] == "2.0-E1"]
    assert "active-public" in errata.classify(spec, "2.0", erratum).readings_changed["schemas/upgrades/1.0-2.0.json"]


def widened_member(spec_copy):
    """The copy as a git tree, with 2.3's member.json widened (an empty member id allowed): an erratum's change."""
    spec = git_tree(spec_copy)
    path = spec.schemas / "record" / "2.3" / "member.json"
    doc = json.loads(path.read_text())
    doc["properties"]["member"]["minLength"] = 0
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return spec, path


def test_a_widening_erratum_is_recorded_and_then_locks_the_file(spec_copy):
    spec, path = widened_member(spec_copy)
    assert [p.rule for p in release.check(spec)] == ["frozen-file-changed"]
    erratum = release.record_erratum(spec, "2.3", "2.3-E9", "empty member ids", "because", ["glance/db/sqlalchemy/models.py"])
    assert erratum["files"] == {"schemas/record/2.3/member.json": release.digest(path)}
    spec = Spec(spec.root)
    assert release.check(spec) == []
    path.write_text(path.read_text() + "\n")
    assert [p.rule for p in release.check(spec)] == ["frozen-file-changed"]


def test_an_erratum_that_cannot_be_written_is_one_line_and_changes_nothing(spec_copy):
    """A full file system (a file-size limit below the new releases.json): unwritable, the old file intact."""
    import subprocess
    import sys
    spec, path = widened_member(spec_copy)
    releases = spec.schemas / "releases.json"
    before = releases.read_bytes()
    code = ("import resource, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before)}, {len(before)}))\n"
            "from imgspec.problems import ProblemError\nfrom imgspec.release import versions\nfrom imgspec.spec import Spec\n"
            "try:\n"
            f"    versions.record_erratum(Spec({str(spec.root)!r}), '2.3', '2.3-E9', 'empty member ids', 'because',"
            " ['glance/db/sqlalchemy/models.py'])\n"
            "except ProblemError as exc:\n    print(exc, file=sys.stderr); sys.exit(exc.status)\n")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert ran.returncode == 2 and "releases.json: (root): unwritable: File too large" in ran.stderr, ran.stderr[-800:]
    assert releases.read_bytes() == before
    assert not [p for p in releases.parent.iterdir() if ".tmp-" in p.name]


def test_a_narrowing_erratum_is_refused_and_nothing_is_written(spec_copy):
    spec = git_tree(spec_copy)
    before = (spec.schemas / "releases.json").read_bytes()
    path = spec.schemas / "record" / "2.3" / "image.json"
    doc = json.loads(path.read_text())
    doc["properties"]["tags"]["maxItems"] = 64
    path.write_text(json.dumps(doc, indent=2) + "\n")
    try:
        release.record_erratum(spec, "2.3", "2.3-E9", "fewer tags", "no reason", ["glance/common/config.py"])
    except release.ProblemError as exc:
        assert [(p.pointer, p.rule) for p in exc.problems] == [("/properties/tags/maxItems", "erratum-narrows")]
    else:
        raise AssertionError("a narrowing erratum was recorded")
    assert (spec.schemas / "releases.json").read_bytes() == before


def test_an_erratum_for_a_draft_or_that_adds_a_file_is_refused(spec_copy):
    spec = git_tree(spec_copy)
    draft = spec.versions[-1]
    for version, rule in ((draft, "not-released"), ("2.2", "erratum-empty")):
        try:
            release.record_erratum(spec, version, "X-E1", "w", "w", ["glance/x.py"])
        except release.ProblemError as exc:
            assert [p.rule for p in exc.problems] == [rule]
        else:
            raise AssertionError(version)
    data = json.loads((spec.schemas / "releases.json").read_text())
    data["record"][3]["errata"] = [{"id": "2.2-E7", "date": "2026-01-01", "what": "w", "why": "w", "evidence": ["g"],
                                    "files": {"schemas/record/2.2/new.json": "sha256:0"}, "replaces": {}}]
    (spec.schemas / "releases.json").write_text(json.dumps(data))
    assert "erratum-adds-file" in [p.rule for p in release.check(Spec(spec.root))]


def test_imgspec_diff_classifies_the_errata():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "imgspec", "diff", "--errata", "2.1"], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "COMPATIBLE    location /status                            field-added-optional" in out.stdout


def test_every_draft_has_its_proposal():
    """The review process: a draft version is proposed in proposals/<version>-<name>.md, with every section."""
    spec = Spec(ROOT)
    template = (ROOT / "proposals/TEMPLATE.md").read_text()
    sections = [line for line in template.splitlines() if line.startswith("## ")]
    drafts = [r.version for r in spec.releases if r.status == "draft"]
    assert drafts
    for version in drafts:
        found = sorted((ROOT / "proposals").glob(f"{version}-*.md"))
        assert found, f"draft {version} has no proposal in proposals/"
        text = found[0].read_text()
        assert all(section in text for section in sections), (found[0].name, sections)
        # the proposal states the mode of every rule of the step to the draft, as the step file has it
        from imgspec.upgrade import load_steps
        step = next(s for s in load_steps(spec).values() if s.target == version)
        rules_section = text.split("## Upgrade rules", 1)[1].split("\n## ", 1)[0]
        for rule in step.rules + step.store_rules:
            field = rule.get("path") or rule.get("to")
            assert any(f"`{field}`" in line and rule["mode"] in line for line in rules_section.splitlines()), (
                found[0].name, field, rule["mode"])
