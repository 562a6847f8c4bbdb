"""Writers and upgrades at once, with real processes (issue 30): an old-version service writing through
imgspec.store while the store is upgraded never strands a record, every acknowledged write is in the store at
the end, and two upgrades of one store never run together."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from support import ROOT, SPEC
from test_first_use import mixed_store

from imgspec import jsonfile, store
from imgspec.format import validation
from imgspec.sizing import corpus
from imgspec.store.service import read_manifest, record_files, upgrading
from imgspec.store.upgrade import REPORT

WRITER = ROOT / "tests" / "store_writer.py"


def writer(folder: Path, version: str, acks: Path, seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WRITER), str(folder), version, str(acks), str(seconds)],
                            cwd=ROOT, stderr=subprocess.PIPE)


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgspec", *args], capture_output=True, text=True, cwd=ROOT)


def wait_for_acks(acks: Path, count: int, limit: float = 30) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if acks.exists() and len(acks.read_text().splitlines()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the writer acknowledged fewer than {count} writes in {limit} s")


def acknowledged(acks: Path) -> dict[str, str]:
    """id -> the name of its last acknowledged write."""
    last = {}
    for line in acks.read_text().splitlines():
        entry = json.loads(line)
        if "id" in entry:
            last[entry["id"]] = entry["name"]
    return last


def assert_nothing_stranded(folder: Path, version: str, acks: Path) -> None:
    manifest = read_manifest(SPEC, folder)
    assert (manifest["format_version"], manifest["upgrade_in_progress"]) == (version, None)
    on_disk = {p.stem: jsonfile.load(p) for p in record_files(folder)}
    stranded = sorted(i for i, doc in on_disk.items() if doc["format_version"] != version)
    assert not stranded, f"{len(stranded)} records not at {version}: {stranded[:3]}"
    assert all(validation.errors(doc, "image", version, spec=SPEC) == [] for doc in on_disk.values())
    last = acknowledged(acks)
    assert last, "the writer acknowledged nothing: the test proved nothing"
    lost = sorted(i for i, name in last.items() if on_disk.get(i, {}).get("name") != name)
    assert not lost, f"{len(lost)} acknowledged writes are not in the store: {lost[:3]}"
    ran = cli("validate", "-q", str(folder))
    assert ran.returncode == 0, ran.stdout[-500:]


def test_an_old_service_writing_during_an_install_time_upgrade_strands_no_record(tmp_path):
    folder = corpus.write_store(tmp_path / "s", 600, seed=11)
    acks = tmp_path / "acks.jsonl"
    old = writer(folder, "1.0", acks, 60)
    wait_for_acks(acks, 20)
    ran = cli("upgrade-store", "--no-fsync", "-q", "--to", "2.3", str(folder))
    assert ran.returncode == 0, ran.stderr
    time.sleep(0.3)  # the writer tries again after the flip, and is refused
    old.wait(90)
    assert old.returncode == 0, old.stderr.read().decode()[-800:]
    lines = acks.read_text().splitlines()
    assert "store-upgraded" in lines[-1], lines[-1]  # refused once the manifest says 2.3, never stranded
    assert_nothing_stranded(folder, "2.3", acks)
    report = [json.loads(x) for x in (folder / REPORT).read_text().splitlines()]
    assert len({r["record"] for r in report}) == len(record_files(folder))  # every record reported


def test_an_old_service_writing_during_a_lazy_upgrade_strands_no_record(tmp_path):
    folder = mixed_store(tmp_path / "s", 300, ["2.2"], "2.2", "2.2")
    acks = tmp_path / "acks.jsonl"
    old = writer(folder, "2.2", acks, 60)
    wait_for_acks(acks, 20)
    ran = cli("upgrade-store", "--first-use", "--no-fsync", "-q", "--to", "2.3", str(folder))
    assert ran.returncode == 0, ran.stderr
    new = store.open(folder, SPEC, durable=False)  # a 2.3 service upgrading records as it uses them
    for image_id in new.ids()[:100]:
        new.get(image_id)
    wait_for_acks(acks, len(acks.read_text().splitlines()) + 20)  # the old one still writes, at 2.2
    ran = cli("upgrade-store", "--no-fsync", "-q", "--to", "2.3", str(folder))  # finishing it at install time
    assert ran.returncode == 0, ran.stderr
    time.sleep(0.3)
    old.wait(90)
    assert old.returncode == 0, old.stderr.read().decode()[-800:]
    assert "store-upgraded" in acks.read_text().splitlines()[-1]
    assert_nothing_stranded(folder, "2.3", acks)


def test_a_second_upgrade_of_a_store_refuses_while_one_runs(tmp_path):
    folder = corpus.write_store(tmp_path / "s", 5, seed=3)
    before = {p.name: p.read_bytes() for p in record_files(folder)}
    with upgrading(folder):
        for args in (["--to", "2.3"], ["--first-use", "--to", "2.0"]):
            ran = cli("upgrade-store", *args, str(folder))
            assert ran.returncode == 2 and "upgrade-running" in ran.stderr and "Traceback" not in ran.stderr, ran.stderr
    assert {p.name: p.read_bytes() for p in record_files(folder)} == before
    assert read_manifest(SPEC, folder)["format_version"] == "1.0"


def test_two_upgrades_started_together_report_each_record_once(tmp_path):
    folder = corpus.write_store(tmp_path / "s", 1000, seed=5)
    runs = [subprocess.Popen([sys.executable, "-m", "imgspec", "upgrade-store", "--no-fsync", "-q", "--to", "2.3",
                              str(folder)], cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(r.wait(120), r.stderr.read()) for r in runs]
    assert sorted(code for code, _ in results) in ([0, 0], [0, 2]), results
    assert all("Traceback" not in err for _, err in results)
    report = [json.loads(x)["record"] for x in (folder / REPORT).read_text().splitlines()]
    assert len(report) == len(set(report)) == 1000
    assert read_manifest(SPEC, folder)["format_version"] == "2.3"
