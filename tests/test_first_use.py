"""The three upgrade modes as behaviour: read-time readers, first-use stores, install-time upgrades.

A mixed store reads the same through every path; any interleaving of a service's first-use writes and
an install-time upgrade (interrupted or not) ends in the store a clean install-time upgrade makes;
a service killed at any instant leaves a store that is valid and reads the same.
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT, SPEC

from imgspec import jsonfile
from imgspec.format import validation
from imgspec.problems import ProblemError
from imgspec.sizing import corpus
from imgspec.store import service as store
from imgspec.store.upgrade import read_manifest, record_files, upgrade_store
from imgspec.upgrade import load_steps, upgrade
from imgspec.upgrade.rules import MODES, strictest

pytestmark = pytest.mark.first_use
STEPS = load_steps(SPEC)


def problem(fn):
    with pytest.raises(ProblemError) as info:
        fn()
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "imgspec", *map(str, args)], capture_output=True, text=True,
                          input=stdin, cwd=ROOT)


def mixed_store(folder: Path, count: int, versions: list[str], oldest: str, to: str, seed: int = 5) -> Path:
    """A corpus store whose records are spread over ``versions``, its manifest upgrading from ``oldest`` to ``to``."""
    corpus.write_store(folder, count, seed=seed)
    for i, path in enumerate(record_files(folder)):
        doc = upgrade(json.loads(path.read_text()), versions[i % len(versions)], SPEC)
        path.write_text(jsonfile.dumps(doc))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest = upgrade_manifest_to(manifest, oldest)
    manifest["upgrade_in_progress"] = None if oldest == to else {"from": oldest, "to": to,
                                                                   "started_at": "2026-11-26T00:00:00Z"}
    (folder / "manifest.json").write_text(jsonfile.dumps(manifest))
    return folder


def upgrade_manifest_to(manifest, version):
    from imgspec.upgrade import upgrade_manifest
    return upgrade_manifest(SPEC, manifest, manifest["format_version"], version, "manifest.json")


def records(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in record_files(folder)}


def disk_versions(folder: Path) -> dict[str, str]:
    return {k: v["format_version"] for k, v in records(folder).items()}


# -- specified: every rule names its mode; the step's mode is derived; impossible modes are refused -----------------

def test_every_rule_names_its_mode_and_the_step_mode_is_the_strictest():
    assert {f"{s.source}-{s.target}": s.mode for s in STEPS.values()} == {
        "1.0-2.0": "install-time", "2.0-2.1": "install-time", "2.1-2.2": "read-time", "2.2-2.3": "first-use",
        "2.3-2.4": "read-time"}
    for step in STEPS.values():
        modes = [r["mode"] for r in step.rules + step.store_rules]
        assert all(m in MODES for m in modes) and step.mode == strictest(modes)
        assert all(r["mode_why"].strip() for r in step.rules + step.store_rules)
        assert "mode" not in step.data and "readers_meanwhile" not in step.data  # derived, never typed
    # fields of one step may differ: tags, virtual_size and member status need no rewrite, visibility does
    assert [r["mode"] for r in STEPS["1.0"].rules] == ["install-time"] * 3 + ["read-time"] * 3


def test_a_rule_without_a_mode_is_refused(spec_copy):
    path = spec_copy.schemas / "upgrades" / "2.3-2.4.json"
    data = json.loads(path.read_text())
    del data["rules"][0]["mode"]
    path.write_text(json.dumps(data))
    p = problem(lambda: load_steps(spec_copy))  # reported where the member would be, as for a record
    assert (p.file, p.pointer, p.rule) == ("schemas/upgrades/2.3-2.4.json", "/rules/0/mode", "required")


@pytest.mark.parametrize("where, mode, message", [
    ("rules", "read-time", "needs the deployment setting default_backend: make it first-use or install-time"),
    ("store_rules", "first-use", "a store manifest has no first use"),
])
def test_a_mode_that_cannot_work_is_refused(spec_copy, where, mode, message):
    path = spec_copy.schemas / "upgrades" / "2.3-2.4.json"
    data = json.loads(path.read_text())
    rule = data[where][0]
    rule["mode"] = mode
    if where == "rules":
        rule["value"] = {"$deployment": "default_backend"}
    path.write_text(json.dumps(data))
    p = problem(lambda: load_steps(spec_copy))
    assert (p.file, p.pointer, p.rule) == ("schemas/upgrades/2.3-2.4.json", f"/{where}/0/mode", "mode-impossible")
    assert message in p.message


def test_a_first_use_rule_takes_a_deployment_setting_or_stops(spec_copy, tmp_path):
    path = spec_copy.schemas / "upgrades" / "2.3-2.4.json"
    data = json.loads(path.read_text())
    data["rules"][0].update(mode="first-use", value={"$deployment": "site"})
    path.write_text(json.dumps(data))
    doc = json.loads((ROOT / "examples/record/2.3/image/valid/ten-live-locations.json").read_text())
    p = problem(lambda: upgrade(doc, "2.4", spec_copy, "r.json"))
    assert (p.pointer, p.rule) == ("/rules/0", "deployment-setting-missing")
    assert "--setting site=VALUE" in p.message
    new = upgrade(doc, "2.4", spec_copy, deployment={"site": "east"})
    assert {loc["site"] for loc in new["locations"]} == {"east"}


def test_the_reference_cli_reads_settings_and_refuses_without_them():
    doc = (ROOT / "examples/record/2.2/image/valid/ten-live-locations.json").read_text()
    bad = cli("read", "-", "--setting", "novalue", stdin=doc)
    assert bad.returncode == 2 and bad.stderr.strip().endswith("usage: 'novalue' is not NAME=VALUE")
    good = cli("read", "-", "--setting", "a=b", stdin=doc)
    assert good.returncode == 0 and json.loads(good.stdout)["format_version"] == "2.3"


# -- the three paths read one mixed store the same ------------------------------------------------------------------

def test_a_mixed_store_reads_the_same_through_all_three_paths(tmp_path):
    """Records at 2.2, 2.3 and 2.4 under a lazy upgrade to the draft 2.4 (first-use, then read-time)."""
    folder = mixed_store(tmp_path / "s", 30, ["2.2", "2.3", "2.4"], "2.2", "2.4")
    originals = records(folder)
    expected = {k: upgrade(v, "2.4", SPEC) for k, v in originals.items()}
    # read-time: the reader (imgspec read) in memory; nothing written
    for k, path in ((k, folder / "records" / f"{k}.json") for k in list(originals)[:4]):
        out = cli("read", path, "--to", "2.4")
        assert out.returncode == 0 and json.loads(out.stdout) == expected[k]
    s = store.open(folder, SPEC, version="2.4")
    assert {k: s.read(k) for k in s.ids()} == expected
    assert records(folder) == originals
    # first-use: the service's get rewrites exactly the records a first-use rule still changes (those at 2.2)
    assert {k: s.get(k) for k in s.ids()} == expected
    on_disk = disk_versions(folder)
    was = {k: v["format_version"] for k, v in originals.items()}
    assert {k for k, v in on_disk.items() if v == "2.4"} == {k for k, v in was.items() if v in ("2.2", "2.4")}
    assert {k for k, v in on_disk.items() if v == "2.3"} == {k for k, v in was.items() if v == "2.3"} != set()
    assert cli("validate", "-q", folder).returncode == 0
    # install-time: upgrade-store finishes the lazy upgrade; every record is then 2.4 and reads the same
    outcome = upgrade_store(folder, "2.4", SPEC)
    assert outcome.resumed and outcome.upgraded == 10
    assert records(folder) == expected
    manifest = read_manifest(SPEC, folder)
    assert (manifest["format_version"], manifest["upgrade_in_progress"], manifest["placement"]) == ("2.4", None, None)


def test_an_unfinished_install_time_upgrade_reads_the_same_and_is_not_served(tmp_path):
    folder = mixed_store(tmp_path / "s", 25, ["1.0", "2.0", "2.1", "2.2", "2.3"], "1.0", "2.3")
    expected = {k: upgrade(v, "2.3", SPEC) for k, v in records(folder).items()}
    from imgspec.store.upgrade import read_store
    assert {p.stem: doc for p, doc in read_store(folder, SPEC)} == expected
    p = problem(lambda: store.open(folder, SPEC))
    assert (p.pointer, p.rule) == ("/upgrade_in_progress", "upgrade-in-progress")
    assert "1.0-2.0 rule 1 (/visibility) is install-time" in p.message
    assert cli("validate", "-q", folder).returncode == 0  # a mixed store within its span is valid
    upgrade_store(folder, "2.3", SPEC)
    assert records(folder) == expected


# -- starting, refusing, validating ---------------------------------------------------------------------------------

def test_a_lazy_upgrade_starts_only_where_no_rule_is_install_time(tmp_path):
    folder = corpus.write_store(tmp_path / "s", 12, seed=2)
    out = cli("upgrade-store", folder, "--first-use")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"{folder}/manifest.json: /format_version: install-time-rule: 1.0-2.0 rule 1 (/visibility) is install-time: "
        f"upgrade every record first (imgspec upgrade-store {folder} --to 2.1), then start the lazy upgrade"]
    assert read_manifest(SPEC, folder)["upgrade_in_progress"] is None  # nothing written
    assert problem(lambda: store.open(folder, SPEC)).rule == "store-not-upgraded"
    assert cli("upgrade-store", folder, "--to", "2.1", "-q").returncode == 0
    out = cli("upgrade-store", folder, "--first-use")
    assert out.returncode == 0 and "lazy upgrade to 2.3: records from 2.1" in out.stderr
    manifest = read_manifest(SPEC, folder)
    assert (manifest["format_version"], manifest["upgrade_in_progress"]["from"],
            manifest["upgrade_in_progress"]["to"]) == ("2.1", "2.1", "2.3")
    assert set(disk_versions(folder).values()) == {"2.1"}  # no record written
    s = store.open(folder, SPEC)
    first = s.ids()[0]
    assert s.get(first)["format_version"] == "2.3" and disk_versions(folder)[first] == "2.3"
    # the 2.4 draft adds only read-time rules: the lazy upgrade extends to it without touching a record
    assert store.begin_first_use(folder, "2.4", SPEC) == ("2.1", "2.4")
    assert cli("upgrade-store", folder, "-q").returncode == 2  # to 2.3 while a lazy upgrade to 2.4 runs: refused


def test_validate_checks_the_versions_a_store_may_hold(tmp_path):
    folder = mixed_store(tmp_path / "s", 6, ["2.2", "2.3"], "2.2", "2.3")
    assert cli("validate", "-q", folder).returncode == 0
    victim = record_files(folder)[0]
    victim.write_text(jsonfile.dumps(upgrade(corpus_record(), "2.1", SPEC)))
    out = cli("validate", "-q", folder)
    assert out.returncode == 1
    assert out.stdout.strip() == (f"{victim}: /format_version: record-outside-store: record at 2.1 in a store whose "
                                  f"records are at 2.2 to 2.3 (an upgrade is in progress) ({folder}/manifest.json)")
    victim.unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["upgrade_in_progress"]["from"] = "2.0"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    out = cli("validate", "-q", folder)
    assert out.returncode == 1 and out.stdout.strip().splitlines() == [
        f"{folder}/manifest.json: /upgrade_in_progress/from: store-manifest-inconsistent: an upgrade from 2.0 is in "
        "progress, but the manifest is at 2.2: the manifest stays at the oldest version until the upgrade finishes"]
    finished = mixed_store(tmp_path / "t", 4, ["2.3"], "2.3", "2.3")
    record_files(finished)[0].write_text(jsonfile.dumps(upgrade(corpus_record(), "2.2", SPEC)))
    assert "record at 2.2 in a store whose records are at 2.3 (" in cli("validate", "-q", finished).stdout


def corpus_record():
    import random as _random
    return corpus.record_1_0(_random.Random(1), corpus.distributions(SPEC))


def test_put_writes_the_stores_version_and_refuses_what_it_must(tmp_path):
    folder = mixed_store(tmp_path / "s", 4, ["2.2", "2.3"], "2.2", "2.3")
    s = store.open(folder, SPEC)
    doc = upgrade(corpus_record(), "2.0", SPEC)
    written = s.put(doc)
    assert written == upgrade(doc, "2.3", SPEC) and disk_versions(folder)[doc["id"]] == "2.3"
    assert problem(lambda: s.put(dict(doc, name=5))).rule == "type"
    assert problem(lambda: s.put(upgrade(doc, "2.4", SPEC))).rule == "newer-record"
    assert problem(lambda: s.put(dict(written, id="../x"))).rule == "pattern"  # the schema refuses such an id
    assert problem(lambda: s.get("../x")).rule == "record-id"
    assert problem(lambda: s.get("nope")).rule == "no-such-record"
    assert json.loads((folder / "records" / f"{doc['id']}.json").read_text()) == written  # refusals wrote nothing


# -- any interleaving of first-use writes and an install-time upgrade ------------------------------------------------

class Crash(Exception):
    pass


OPS = st.lists(st.one_of(
    st.tuples(st.just("get"), st.integers(0, 7)),
    st.tuples(st.just("put"), st.integers(0, 7), st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("upgrade"), st.integers(0, 8)),  # an install-time upgrade that crashes after k records
    st.tuples(st.just("upgrade-with-puts"), st.integers(0, 7), st.integers(0, 7)),  # a put while it runs
), max_size=8)


def put_name(s: store.Store, key: str, name: str) -> None:
    s.put(dict(s.read(key), name=name))


@settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(ops=OPS)
def test_any_interleaving_ends_in_the_store_a_clean_install_time_upgrade_makes(ops):
    with tempfile.TemporaryDirectory() as tmp:
        seed = mixed_store(Path(tmp) / "seed", 8, ["2.2", "2.3"], "2.2", "2.3")
        clean = Path(tmp) / "clean"
        mixed = Path(tmp) / "mixed"
        import shutil
        shutil.copytree(seed, clean)
        shutil.copytree(seed, mixed)
        keys = sorted(records(seed))
        puts = []
        s = store.open(mixed, SPEC, durable=False)
        for op in ops:
            if op[0] == "get":
                s.get(keys[op[1]])
            elif op[0] == "put":
                put_name(s, keys[op[1]], op[2])
                puts.append((keys[op[1]], op[2]))
            else:
                def crash(n, total, op=op, s=s):
                    if op[0] == "upgrade-with-puts" and n == op[1]:
                        put_name(s, keys[op[2]], "during")
                        puts.append((keys[op[2]], "during"))
                    if op[0] == "upgrade" and n == op[1]:
                        raise Crash
                try:
                    upgrade_store(mixed, "2.3", SPEC, durable=False, progress=crash)
                except Crash:
                    pass
                if read_manifest(SPEC, mixed)["upgrade_in_progress"] is None:
                    s = store.open(mixed, SPEC, durable=False)  # a finished store is served as it is
            assert cli_free_validate(mixed)
        upgrade_store(mixed, "2.3", SPEC, durable=False)
        upgrade_store(clean, "2.3", SPEC, durable=False)
        done = store.open(clean, SPEC, durable=False)
        for key, name in puts:
            put_name(done, key, name)
        assert records(mixed) == records(clean)
        assert {k: v for k, v in read_manifest(SPEC, mixed).items() if k != "created_at"} == {
            k: v for k, v in read_manifest(SPEC, clean).items() if k != "created_at"}


def cli_free_validate(folder: Path) -> bool:
    """The store valid in process: manifest consistent, every record valid and within the manifest's span."""
    manifest = read_manifest(SPEC, folder)
    versions = {}
    for path in record_files(folder):
        doc = json.loads(path.read_text())
        assert validation.check(doc, str(path), SPEC) == []
        versions[str(path)] = doc["format_version"]
    assert store.version_problems(manifest, versions, "m") == []
    return True


# -- a service killed at any instant --------------------------------------------------------------------------------

SERVICE = textwrap.dedent("""
    import sys
    from imgspec import store
    s = store.open(sys.argv[1])
    for n, key in enumerate(s.ids()):
        if n % 2:
            s.get(key)
        else:
            s.put(s.read(key))
        print(key, flush=True)
""")


def test_sigkill_of_a_lazily_upgrading_service_never_loses_a_record(tmp_path):
    folder = mixed_store(tmp_path / "s", 600, ["2.2", "2.2", "2.3"], "2.2", "2.3")
    expected = {k: upgrade(v, "2.3", SPEC) for k, v in records(folder).items()}
    cmd = [sys.executable, "-c", SERVICE, str(folder)]
    rng = random.Random(20261126)
    kills = 0
    for _ in range(10):
        # killed after a random number of records, at a random moment of the next ones: part-way whatever the
        # machine's speed (a kill timed from the start would miss a service that starts faster than it)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, text=True)
        assert proc.stdout is not None
        for _ in range(rng.randint(3, 25)):
            if not proc.stdout.readline():
                break
        time.sleep(rng.uniform(0, 0.005))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        proc.stdout.close()
        assert cli_free_validate(folder)
        s = store.open(folder, SPEC)
        assert {k: s.read(k) for k in s.ids()} == expected
    assert kills >= 5
    assert 0 < sum(v == "2.3" for v in disk_versions(folder).values()) < 600  # killed part-way, some upgraded
    out = cli("upgrade-store", folder, "-q")  # the install-time finish
    assert out.returncode == 0, out.stderr
    assert records(folder) == expected
    assert not [p for p in (folder / "records").iterdir() if p.name.startswith(".")]


def test_upgrade_store_reads_and_replaces_each_record_under_the_writers_lock(tmp_path):
    """A service's write and upgrade-store's read-upgrade-replace of a record never interleave (no lost write)."""
    folder = mixed_store(tmp_path / "s", 40, ["2.2"], "2.2", "2.3")
    before = records(folder)
    with store.writing(folder):  # a service in the middle of a write
        proc = subprocess.Popen([sys.executable, "-m", "imgspec", "upgrade-store", str(folder), "-q", "--no-fsync"],
                                cwd=ROOT, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)
        assert proc.poll() is None and records(folder) == before  # it waits: nothing read and replaced meanwhile
        key = sorted(before)[-1]  # the service's write, made while it holds the lock
        new = upgrade(dict(before[key], name="written by the service"), "2.3", SPEC)
        (folder / "records" / f"{key}.json").write_text(jsonfile.dumps(new))
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert records(folder)[key]["name"] == "written by the service"  # the service's write was not overwritten
    assert set(disk_versions(folder).values()) == {"2.3"}


def test_threads_sharing_one_store_exclude_each_other_as_processes_do(tmp_path, monkeypatch):
    """Each thread takes the write lock through a lock file of its own: a put in one thread waits while a get in
    another holds the lock (one open file shared by both would let the put through at once)."""
    import threading
    folder = mixed_store(tmp_path / "s", 4, ["2.2"], "2.2", "2.3")
    s = store.open(folder, SPEC, durable=False)
    first, second = sorted(records(folder))[:2]
    holding, release, order = threading.Event(), threading.Event(), []
    upgraded = s._upgraded

    def slow_upgrade(doc, path):  # the get's upgrade, made while it holds the lock
        if path.stem == first:
            holding.set()
            assert release.wait(10)
        return upgraded(doc, path)
    monkeypatch.setattr(s, "_upgraded", slow_upgrade)
    getter = threading.Thread(target=lambda: order.append(("get", s.get(first)["format_version"])))
    putter = threading.Thread(target=lambda: order.append(("put", s.put(s.read(second))["format_version"])))
    getter.start()
    assert holding.wait(10)
    putter.start()
    putter.join(0.5)
    assert putter.is_alive() and order == []  # the put waits for the get's lock
    release.set()
    getter.join(10)
    putter.join(10)
    assert order == [("get", "2.3"), ("put", "2.3")]
    assert disk_versions(folder)[first] == disk_versions(folder)[second] == "2.3"


def test_read_explains_each_rule_it_applied_with_its_mode():
    path = ROOT / "examples/record/2.1/image/valid/active-public.json"
    plain, explained = cli("read", path), cli("read", path, "--explain")
    assert plain.returncode == explained.returncode == 0 and plain.stdout == explained.stdout  # same reading
    lines = explained.stderr.strip().splitlines()
    expected = [(f"{s.source}-{s.target} rule {n}", r["mode"]) for s in (STEPS["2.1"], STEPS["2.2"])
                for n, r in enumerate(s.rules, 1)]
    assert [(line.split(": ")[1], line.split(": ")[2]) for line in lines] == expected
    assert "every 2.2 reader reads it as rule 1 says (new field: records that lack it read `false`)" in lines[0]


def test_the_implementers_page_store_example_runs_as_written(tmp_path):
    page = (ROOT / "docs/implementers.md").read_text()
    block = page.split("## Serve a store that is upgraded lazily", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    folder = mixed_store(tmp_path / "s", 3, ["2.2", "2.3"], "2.2", "2.3")
    key = sorted(records(folder))[0]
    scope = {"image_id": key}
    exec(compile(block.replace('"/srv/images"', repr(str(folder))), "implementers.md", "exec"), scope)
    assert records(folder)[key]["name"] == "new" and records(folder)[key]["format_version"] == "2.3"
    assert scope["s"].read(key)["name"] == "new"
