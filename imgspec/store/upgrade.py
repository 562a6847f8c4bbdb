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

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imgspec import atomic, jsonfile, resources
from imgspec.format.validation import detect_version
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec, version_key
from imgspec.store.service import WriteLock, read_manifest, record_files, upgrading, version_problems, writing
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


def upgrade_store(store: Path | str, to: str | None = None, spec: Spec | None = None, durable: bool = True,
                  progress: Callable[[int, int], None] | None = None,
                  deployment: dict[str, str] | None = None) -> StoreUpgrade:
    """Upgrade every record of the store to ``to``; one upgrade at a time (``upgrade-running`` otherwise)."""
    spec = spec or Spec.default()
    store = Path(store)
    read_manifest(spec, store)  # a store at all, before any lock file is made in it
    with upgrading(store):
        return _Upgrade(spec, store, durable, deployment).run(to or spec.latest_released, progress)


class _Upgrade:
    """One install-time upgrade of one store, holding its upgrade lock."""

    def __init__(self, spec: Spec, store: Path, durable: bool, deployment: dict[str, str] | None):
        self.spec, self.store, self.durable, self.deployment = spec, store, durable, deployment
        self.mpath = str(store / "manifest.json")
        self.done: dict[str, tuple[int, int]] = {}  # record -> (inode, mtime) when this upgrade last saw it
        self.reported: set[str] = set()

    def run(self, target: str, progress: Callable[[int, int], None] | None) -> StoreUpgrade:
        spec, store = self.spec, self.store
        manifest = read_manifest(spec, store)
        spec.release(target)
        current = manifest["format_version"]
        running = manifest["upgrade_in_progress"]
        if running and running["to"] != target:
            raise ProblemError(Problem(self.mpath, "/upgrade_in_progress/to", "upgrade-in-progress",
                                       f"an upgrade to {running['to']} is in progress; finish it first "
                                       f"(--to {running['to']})"))
        if version_key(current) > version_key(target):
            raise ProblemError(Problem(self.mpath, "/format_version", "newer-store",
                                       f"the store is at {current}, newer than {target}: refusing to downgrade"))
        files = record_files(store)  # a records/ folder that cannot be listed is refused before anything is written
        outcome = StoreUpgrade(current, target, total=len(files), resumed=bool(running))
        if current == target and not running:
            return outcome
        if not running:
            manifest = dict(manifest, upgrade_in_progress={"from": current, "to": target, "started_at": now()})
            with writing(store):  # from here on a service's writes are at most ``target`` and are seen below
                atomic.write_text(store / "manifest.json", jsonfile.dumps(manifest), self.durable)
        with writing(store):  # a service writing a record meanwhile holds the lock: its temporary file is no leftover
            outcome.leftovers = [p.name for p in atomic.clean_leftovers(store / "records")]
        report_path = store / REPORT
        lock = WriteLock(store)  # opened once, taken per record
        with resources.writes(str(report_path)), contextlib.closing(lock):
            self.reported = self._reported(report_path)
            with open(report_path, "a", encoding="utf-8") as report:
                for n, path in enumerate(files, 1):
                    with lock:  # read, upgrade and replace as one step against a service's writes
                        self._one(path, target, outcome, report)
                    report.flush()
                    if progress:
                        progress(n, len(files))
                # Under the write lock to the end: records a service wrote since the listing (new ones, or ones
                # rewritten after this upgrade had upgraded them) are upgraded before the manifest says ``target``.
                with lock:
                    for path in record_files(store):
                        seen = self._seen(path)
                        if seen is not None and self.done.get(path.name) != seen:
                            outcome.total += path.name not in self.done
                            self._one(path, target, outcome, report)
                    report.flush()
                    if self.durable:
                        os.fsync(report.fileno())
                        atomic.sync_dir(store / "records")
                    final = upgrade_manifest(spec, dict(manifest, upgrade_in_progress=None, generator=GENERATOR),
                                             current, target, self.mpath, self.deployment)
                    atomic.write_text(store / "manifest.json", jsonfile.dumps(final), self.durable)
        return outcome

    @staticmethod
    def _reported(report_path: Path) -> set[str]:
        """The records an interrupted run already reported; a line cut short by a crash is ended first."""
        reported = set()
        if report_path.exists():
            for line in report_path.read_text(encoding="utf-8").splitlines():
                try:
                    reported.add(json.loads(line)["record"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash: its record is reported again below
            if report_path.stat().st_size:
                with open(report_path, "rb+") as f:  # a line cut short must not swallow the next one
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        f.write(b"\n")
        return reported

    @staticmethod
    def _status(path: Path) -> os.stat_result | None:
        try:
            return path.stat()
        except FileNotFoundError:  # removed since the listing
            return None
        except OSError as exc:
            raise resources.unreadable(str(path), exc) from None

    @classmethod
    def _seen(cls, path: Path) -> tuple[int, int] | None:
        st = cls._status(path)
        return None if st is None else (st.st_ino, st.st_mtime_ns)

    def _one(self, path: Path, target: str, outcome: StoreUpgrade, report) -> None:
        """Upgrade one record (under the write lock) and report it, once per version it is upgraded from."""
        st = self._status(path)
        if st is None:
            return
        rel = f"records/{path.name}"
        doc = jsonfile.load(path, display=str(path), status=st)
        version = detect_version(doc, str(path), self.spec)
        again = path.name in self.done
        if version == target:
            if not again:
                outcome.already += 1
            if rel not in self.reported:  # upgraded before an interruption, on first use, or written at the target
                report.write(json.dumps({"record": rel, "from": None, "to": target, "changed": [],
                                         "note": "already at the target version"}) + "\n")
                self.reported.add(rel)
        elif version_key(version) > version_key(target):
            raise ProblemError(Problem(str(path), "/format_version", "newer-record",
                                       f"record is at {version}, newer than the target {target}"))
        else:
            changed: list[str] = []
            new = upgrade(doc, target, self.spec, str(path), touched=changed, deployment=self.deployment)
            st = atomic.write_text(path, jsonfile.dumps(new), self.durable)  # the file ``path`` names now
            line = {"record": rel, "from": version, "to": target, "changed": changed}
            if again:
                line["note"] = "written again at an older version by a service during the upgrade"
            report.write(json.dumps(line) + "\n")
            self.reported.add(rel)
            if not again:
                outcome.upgraded += 1
        self.done[path.name] = (st.st_ino, st.st_mtime_ns)


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
