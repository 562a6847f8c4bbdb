"""upgrade-store: atomic per record, resumable after SIGKILL at any point, idempotent, refuses what it must."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from support import SPEC

from imgspec.format import validation
from imgspec.problems import ProblemError
from imgspec.sizing import corpus
from imgspec.store.upgrade import REPORT, read_manifest, record_files, upgrade_store
from imgspec.upgrade import upgrade


def snapshot(store):
    return {p.name: p.read_bytes() for p in sorted((store / "records").iterdir())} | {
        "manifest.json": (store / "manifest.json").read_bytes()}


@pytest.fixture
def store(tmp_path):
    return corpus.write_store(tmp_path / "store", 60, seed=7)


def originals(store):
    return {p.name: json.loads(p.read_text()) for p in record_files(store)}


def test_upgrades_every_record_and_the_manifest(store):
    before = originals(store)
    outcome = upgrade_store(store, "2.3", SPEC)
    assert (outcome.upgraded, outcome.already, outcome.total) == (60, 0, 60)
    manifest = read_manifest(SPEC, store)
    assert (manifest["format_version"], manifest["upgrade_in_progress"]) == ("2.3", None)
    for name, doc in before.items():
        after = json.loads((store / "records" / name).read_text())
        assert after == upgrade(doc, "2.3", SPEC)
        assert validation.errors(after, "image", "2.3", spec=SPEC) == []
    report = [json.loads(x) for x in (store / REPORT).read_text().splitlines()]
    assert sorted(r["record"] for r in report) == sorted(f"records/{n}" for n in before)
    assert all(r["from"] == "1.0" and "/visibility" in r["changed"] for r in report)


def test_upgrading_again_changes_nothing(store):
    upgrade_store(store, "2.3", SPEC)
    before = snapshot(store)
    outcome = upgrade_store(store, "2.3", SPEC)
    assert outcome.summary() == "store already at 2.3: nothing to do (60 records)"
    assert snapshot(store) == before


def test_upgrades_in_steps_to_the_same_result(store, tmp_path):
    other = corpus.write_store(tmp_path / "other", 60, seed=7)
    upgrade_store(store, "2.1", SPEC)
    upgrade_store(store, "2.3", SPEC)
    upgrade_store(other, "2.3", SPEC)
    assert {k: v for k, v in snapshot(store).items() if k != "manifest.json"} == {
        k: v for k, v in snapshot(other).items() if k != "manifest.json"}


def problem_of(call):
    with pytest.raises(ProblemError) as info:
        call()
    (p,) = info.value.problems
    return p


def test_refuses_a_newer_store(store):
    upgrade_store(store, "2.3", SPEC)
    p = problem_of(lambda: upgrade_store(store, "2.1", SPEC))
    assert (p.pointer, p.rule) == ("/format_version", "newer-store")


def test_refuses_an_unknown_store_version(store):
    manifest = json.loads((store / "manifest.json").read_text())
    (store / "manifest.json").write_text(json.dumps(dict(manifest, format_version="3.0")))
    p = problem_of(lambda: upgrade_store(store, "2.3", SPEC))
    assert (p.pointer, p.rule) == ("/format_version", "unknown-version")
    assert p.file.endswith("manifest.json")


def test_refuses_to_switch_target_while_an_upgrade_is_in_progress(store):
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["upgrade_in_progress"] = {"from": "1.0", "to": "2.2", "started_at": "2024-01-01T00:00:00Z"}
    (store / "manifest.json").write_text(json.dumps(manifest))
    p = problem_of(lambda: upgrade_store(store, "2.3", SPEC))
    assert p.rule == "upgrade-in-progress" and "--to 2.2" in p.message
    assert upgrade_store(store, "2.2", SPEC).resumed


def test_an_invalid_record_stops_the_upgrade_and_nothing_is_lost(store):
    victim = record_files(store)[30]
    doc = json.loads(victim.read_text())
    victim.write_text(json.dumps(dict(doc, name=5)))
    p = problem_of(lambda: upgrade_store(store, "2.3", SPEC))
    assert (p.file, p.pointer, p.rule) == (str(victim), "/name", "type")
    assert json.loads(victim.read_text())["name"] == 5  # untouched
    assert read_manifest(SPEC, store)["upgrade_in_progress"]["to"] == "2.3"
    versions = {json.loads(p.read_text())["format_version"] for p in record_files(store) if p != victim}
    assert versions == {"1.0", "2.3"}
    victim.write_text(json.dumps(doc))
    outcome = upgrade_store(store, "2.3", SPEC)
    assert outcome.resumed and outcome.upgraded == 30 and outcome.already == 30


def check_store(store, expected):
    """Readable and complete: every record valid at its own version and reading as its upgraded original."""
    manifest = read_manifest(SPEC, store)
    assert sorted(p.name for p in record_files(store)) == sorted(expected)
    for path in record_files(store):
        doc = json.loads(path.read_text())
        assert validation.check(doc, spec=SPEC) == []
        if manifest["upgrade_in_progress"] is None:
            assert doc["format_version"] == manifest["format_version"]
        assert upgrade(doc, "2.3", SPEC) == expected[path.name]
    return manifest


def test_sigkill_at_random_points_never_loses_a_record(tmp_path):
    count = 1500
    store = corpus.write_store(tmp_path / "store", count, seed=3)
    expected = {name: upgrade(doc, "2.3", SPEC) for name, doc in originals(store).items()}
    cmd = [sys.executable, "-m", "imgspec", "upgrade-store", str(store), "--to", "2.3", "-q"]

    report_path = store / REPORT

    def done():  # records the upgrade has finished so far: one report line each, across restarts
        try:
            return report_path.read_bytes().count(b"\n")
        except FileNotFoundError:
            return 0

    rng = random.Random(20261124)
    kills = 0
    for _ in range(12):  # kill at a point measured in work done (not in time, which a busy machine stretches)
        before, more = done(), rng.randint(0, 90)  # 12 x 90 < 1500: the work never finishes between kills
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and done() < before + more:
            time.sleep(0.001)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        check_store(store, expected)
    assert kills == 12
    final = subprocess.run(cmd, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    manifest = check_store(store, expected)
    assert (manifest["format_version"], manifest["upgrade_in_progress"]) == ("2.3", None)
    report = [json.loads(x) for x in (store / REPORT).read_text().splitlines() if x.strip().endswith("}")]
    assert {r["record"] for r in report} == {f"records/{n}" for n in expected}
    assert not [p for p in (store / "records").iterdir() if p.name.startswith(".")]
