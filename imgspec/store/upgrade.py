"""Install-time upgrade of a directory store: atomic per record, resumable, idempotent.

A directory store is ``manifest.json`` (the store object) and ``records/*.json``.
The upgrade runs in three phases, each safe to interrupt at any instant:

1. the manifest is rewritten with ``upgrade_in_progress: {from, to, started_at}``;
2. each record older than the target is upgraded and replaced atomically
   (temporary file, then rename), and a line is appended to ``upgrade-report.jsonl``;
3. the manifest is rewritten at the target version with ``upgrade_in_progress: null``.

While phase 2 runs, every record is complete at the version it declares, so the
store stays readable.  Running the command again resumes where it stopped;
running it on an upgraded store changes nothing.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imgspec import atomic, jsonfile
from imgspec.format.validation import detect_version
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec, version_key
from imgspec.store.service import read_manifest, version_problems, writing
from imgspec.text import now
from imgspec.upgrade import upgrade, upgrade_manifest

__all__ = ["StoreUpgrade", "read_manifest", "read_store", "record_files", "upgrade_store"]

REPORT = "upgrade-report.jsonl"
GENERATOR = "imgspec upgrade-store"


@dataclass
class StoreUpgrade:
    source: str
    target: str
    upgraded: int = 0
    already: int = 0
    total: int = 0
    resumed: bool = False
    leftovers: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.source == self.target and not self.upgraded and not self.resumed:
            return f"store already at {self.target}: nothing to do ({self.total} records)"
        word = "resumed and finished" if self.resumed else "finished"
        return (f"upgrade {self.source} -> {self.target} {word}: {self.upgraded} records upgraded, "
                f"{self.already} already at {self.target}, {self.total} in all")


def record_files(store: Path) -> list[Path]:
    return sorted(p for p in (store / "records").glob("*.json") if not p.name.startswith("."))


def upgrade_store(store: Path | str, to: str | None = None, spec: Spec | None = None, durable: bool = True,
                  progress: Callable[[int, int], None] | None = None,
                  deployment: dict[str, str] | None = None) -> StoreUpgrade:
    spec = spec or Spec.default()
    store = Path(store)
    manifest = read_manifest(spec, store)
    target = to or spec.latest_released
    spec.release(target)
    current = manifest["format_version"]
    running = manifest["upgrade_in_progress"]
    mpath = str(store / "manifest.json")
    if running and running["to"] != target:
        raise ProblemError(Problem(mpath, "/upgrade_in_progress/to", "upgrade-in-progress",
                                   f"an upgrade to {running['to']} is in progress; finish it first (--to {running['to']})"))
    if version_key(current) > version_key(target):
        raise ProblemError(Problem(mpath, "/format_version", "newer-store",
                                   f"the store is at {current}, newer than {target}: refusing to downgrade"))
    files = record_files(store)
    outcome = StoreUpgrade(current, target, total=len(files), resumed=bool(running))
    if current == target and not running:
        return outcome
    if not running:
        manifest = dict(manifest, upgrade_in_progress={"from": current, "to": target, "started_at": now()})
        atomic.write_text(store / "manifest.json", jsonfile.dumps(manifest), durable)
    with writing(store):  # a service writing a record meanwhile holds the lock: its temporary file is no leftover
        outcome.leftovers = [p.name for p in atomic.clean_leftovers(store / "records")]
    report_path = store / REPORT
    reported = set()
    if report_path.exists():
        for line in report_path.read_text(encoding="utf-8").splitlines():
            try:
                reported.add(json.loads(line)["record"])
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash: its record is reported again below
    if report_path.exists() and report_path.stat().st_size:
        with open(report_path, "rb+") as f:  # a line cut short by a crash must not swallow the next one
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")
    with open(report_path, "a", encoding="utf-8") as report:
        for n, path in enumerate(files, 1):
            rel = f"records/{path.name}"
            with writing(store):  # read, upgrade and replace as one step against a service's writes
                if not path.exists():  # removed since the listing
                    continue
                doc = jsonfile.load(path, display=str(path))
                version = detect_version(doc, str(path), spec)
                if version == target:
                    outcome.already += 1
                    if rel not in reported:  # upgraded before an interruption, on first use, or written at the target
                        report.write(json.dumps({"record": rel, "from": None, "to": target, "changed": [],
                                                 "note": "already at the target version"}) + "\n")
                elif version_key(version) > version_key(target):
                    raise ProblemError(Problem(str(path), "/format_version", "newer-record",
                                               f"record is at {version}, newer than the target {target}"))
                else:
                    changed: list[str] = []
                    new = upgrade(doc, target, spec, str(path), touched=changed, deployment=deployment)
                    atomic.write_text(path, jsonfile.dumps(new), durable)
                    report.write(json.dumps({"record": rel, "from": version, "to": target, "changed": changed}) + "\n")
                    outcome.upgraded += 1
            report.flush()
            if progress:
                progress(n, len(files))
        if durable:
            os.fsync(report.fileno())
    if durable:
        atomic.sync_dir(store / "records")
    final = upgrade_manifest(spec, dict(manifest, upgrade_in_progress=None, generator=GENERATOR), current, target, mpath,
                             deployment)
    with writing(store):
        atomic.write_text(store / "manifest.json", jsonfile.dumps(final), durable)
    return outcome


def read_store(store: Path | str, spec: Spec | None = None):
    """Every record of a store as the newest version reads it (nothing is written)."""
    spec = spec or Spec.default()
    store = Path(store)
    manifest = read_manifest(spec, store)
    for path in record_files(store):
        doc = jsonfile.load(path, display=str(path))
        version = detect_version(doc, str(path), spec)
        misplaced = version_problems(manifest, {str(path): version}, str(store / "manifest.json"))
        if misplaced:
            raise ProblemError(misplaced)
        yield path, upgrade(doc, None, spec, str(path))
