"""A directory store as a service uses it: records upgraded on first use, the rest left as they are.

A directory store is ``manifest.json`` and ``records/<id>.json``.  Which versions its records may
hold follows from the manifest alone:

- ``upgrade_in_progress`` null: every record is at ``format_version``;
- ``upgrade_in_progress`` ``{from, to}``: each record is at a version from ``from`` to ``to``
  (``format_version`` is ``from``, the oldest).  When no rule of the steps from ``from`` to ``to``
  is install-time, the store is being upgraded *lazily* and a service of ``to`` may serve it;
  otherwise an install-time upgrade is unfinished and only ``imgspec upgrade-store`` may touch it.

The API (one writer process at a time per record: writers hold ``.imgspec-lock`` while they write)::

    s = store.open("DIR")          # refuses a store a service of the newest released version cannot serve
    s.read(image_id)               # the record as the newest version reads it, in memory: never writes
    s.get(image_id)                # the same, as the service uses it: a record that a first-use rule
                                   # still has to change is rewritten now (first use)
    s.put(record)                  # writes the record at the newest version (upgraded if older)

``begin_first_use(DIR)`` (``imgspec upgrade-store --first-use``) starts a lazy upgrade; it refuses
while a rule of a step on the way is install-time.  ``imgspec upgrade-store`` finishes a lazy upgrade
at install time.
"""
from __future__ import annotations

import builtins
import contextlib
import errno
import fcntl
import os
import re
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from imgspec import atomic, jsonfile, resources
from imgspec.format.validation import detect_version, errors
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec, version_key
from imgspec.text import now
from imgspec.upgrade import chain, upgrade
from imgspec.upgrade.operations import describe
from imgspec.upgrade.rules import Step, strictest

LOCK = ".imgspec-lock"
UPGRADE_LOCK = ".imgspec-upgrade-lock"
GENERATOR = "imgspec.store"
_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
_ABSENT = (errno.ENOENT, errno.ENOTDIR)  # a record path that names nothing: no such record


def _open_lock(path: Path):
    try:
        return builtins.open(path, "a")  # this module's open() is the store API's
    except OSError as exc:
        raise resources.unwritable(str(path), f"cannot open the store's lock file: {resources.reason(exc)}") from None


@contextlib.contextmanager
def _locked(path: Path, wait: bool, busy: str = "") -> Iterator[None]:
    with _open_lock(path) as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ProblemError(Problem(str(path.parent), "", "upgrade-running", busy)) from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class WriteLock:
    """The store's write lock file opened once, locked for each ``with`` block: what :func:`writing` does, without
    opening the file again for every record (an upgrade takes the lock once per record).  For one thread only: two
    threads holding the same open file would not exclude each other (a :class:`Store` keeps one per thread).
    Opened again in a child process: a lock file shared across ``fork`` would let parent and child hold it at once."""

    def __init__(self, store: Path):
        self.path = store / LOCK
        self._file: IO[str] | None = None
        self._pid = 0

    def __enter__(self) -> WriteLock:
        if self._file is None or self._pid != os.getpid():
            self._file, self._pid = _open_lock(self.path), os.getpid()
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        assert self._file is not None
        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None


def writing(store: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the store's write lock (released when the block ends, or when the process dies)."""
    return _locked(store / LOCK, wait=True)


def upgrading(store: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the store-wide upgrade lock for a whole upgrade, or refuse (``upgrade-running``) when another
    upgrade holds it: two upgrades at once would each report every record."""
    return _locked(store / UPGRADE_LOCK, wait=False,
                   busy="another imgspec upgrade-store is upgrading this store: wait until it ends, then run again")


def record_files(store: Path) -> list[Path]:
    """The store's record files, sorted (a records/ folder that cannot be listed is ``unreadable``)."""
    return resources.entries(store / "records")


def read_manifest(spec: Spec, store: Path) -> dict:
    """The manifest, valid at the version it declares and consistent with itself."""
    path = store / "manifest.json"
    name = str(path)
    manifest = jsonfile.load(path, display=name)
    version = detect_version(manifest, name, spec)
    found = errors(manifest, "store", version, name, spec)
    if found:
        raise ProblemError(found)
    running = manifest["upgrade_in_progress"]
    if running and running["from"] != manifest["format_version"]:
        raise ProblemError(Problem(name, "/upgrade_in_progress/from", "store-manifest-inconsistent",
                                   f"an upgrade from {running['from']} is in progress, but the manifest is at "
                                   f"{manifest['format_version']}: the manifest stays at the oldest version until "
                                   "the upgrade finishes"))
    return manifest


def named_store_problems(spec: Spec, paths: list[str], versions: dict[str, str]) -> list[Problem]:
    """Each directory store among ``paths``: its manifest consistent, and every record (file -> the version it
    declares) at a version the manifest allows."""
    out = []
    for raw in paths:
        root = Path(raw)
        if not ((root / "manifest.json").is_file() and (root / "records").is_dir()):
            continue
        try:
            manifest = read_manifest(spec, root)
        except ProblemError as exc:  # an invalid manifest is reported by its validation; its consistency only here
            out += [p for p in exc.problems if p.rule == "store-manifest-inconsistent"]
            continue
        mine = {name: v for name, v in versions.items() if Path(name).parent == root / "records"}
        out += version_problems(manifest, mine, str(root / "manifest.json"))
    return out


def span(manifest: dict) -> tuple[str, str]:
    """``(oldest, newest)``: the versions the store's records may be at."""
    running = manifest["upgrade_in_progress"]
    return (running["from"], running["to"]) if running else (manifest["format_version"],) * 2


@dataclass(frozen=True)
class Blocking:
    """An install-time rule on the way of a lazy upgrade: it must be applied to every record first."""
    step: Step
    kind: str  # image or store
    number: int
    rule: dict

    def __str__(self) -> str:
        where = "store rule" if self.kind == "store" else "rule"
        return f"{self.step.source}-{self.step.target} {where} {self.number} ({describe(self.rule)[1].strip('`')})"


def blocking_rules(spec: Spec, source: str, target: str) -> list[Blocking]:
    """Every install-time rule on the way from ``source`` to ``target``."""
    return [Blocking(step, kind, number, rule) for step in chain(spec, source, target)
            for kind in ("image", "store") for number, rule in step.rules_in("install-time", kind)]


def version_problems(manifest: dict, versions: dict[str, str], where: str) -> list[Problem]:
    """Records (name -> declared version) at a version the manifest says the store cannot hold."""
    oldest, newest = span(manifest)
    out = []
    for name, version in versions.items():
        if not version_key(oldest) <= version_key(version) <= version_key(newest):
            allowed = oldest if oldest == newest else f"{oldest} to {newest} (an upgrade is in progress)"
            out.append(Problem(name, "/format_version", "record-outside-store",
                               f"record at {version} in a store whose records are at {allowed} ({where})"))
    return out


@dataclass
class Store:
    """An open directory store; the service writes ``target`` (the newest released version)."""

    path: Path
    spec: Spec
    manifest: dict
    target: str
    deployment: dict[str, str] = field(default_factory=dict)
    durable: bool = True
    _seen: tuple[int, int] = (0, 0)  # the manifest's inode and modification time when it was last read
    _threads: threading.local = field(default_factory=threading.local, repr=False)  # each thread's WriteLock

    def _writing(self) -> WriteLock:
        """The write lock, through a lock file each thread opens once (threads of one service exclude each other
        as processes do: each holds an open file of its own)."""
        lock = getattr(self._threads, "lock", None)
        if lock is None:
            lock = self._threads.lock = WriteLock(self.path)
        return lock

    def record_path(self, image_id: str) -> Path:
        if not isinstance(image_id, str) or not _ID.match(image_id):
            raise ProblemError(Problem(str(self.path / "records"), "/id", "record-id",
                                       f"{image_id!r} cannot name a record file"))
        return self.path / "records" / f"{image_id}.json"

    def ids(self) -> list[str]:
        return [p.stem for p in record_files(self.path)]

    def _current(self, refresh: bool = True) -> None:
        """Under the write lock: the manifest as it is now (``refresh=False``: it was read under this hold of the
        lock already), and a refusal once the store has been upgraded past the version this service writes."""
        if refresh:
            self._refresh()
        oldest, _ = span(self.manifest)
        if version_key(oldest) > version_key(self.target):
            raise ProblemError(Problem(str(self.path / "manifest.json"), "/format_version", "store-upgraded",
                                       f"the store has been upgraded to {oldest}: a {self.target} service no longer "
                                       "writes it (its records would be older than the store)"))

    def _refresh(self) -> None:
        """The manifest re-read when it changed since it was last read (an upgrade may have started or ended)."""
        manifest = self.path / "manifest.json"
        try:
            seen = manifest.stat()
        except OSError as exc:
            raise resources.unreadable(str(manifest), exc) from None
        if (seen.st_ino, seen.st_mtime_ns) != self._seen:
            self.manifest = read_manifest(self.spec, self.path)
            self._seen = (seen.st_ino, seen.st_mtime_ns)

    def _load(self, image_id: str) -> tuple[Path, dict, str]:
        """The record of ``image_id``, valid at the version it declares and at one the manifest allows (the
        manifest re-read first where it changed)."""
        path = self.record_path(image_id)
        name = str(path)
        try:
            st = os.stat(name)
        except OSError as exc:
            if exc.errno not in _ABSENT:
                raise resources.unreadable(name, exc) from None
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            raise ProblemError(Problem(name, "", "no-such-record", f"the store has no record {image_id}"))
        doc = jsonfile.load(name, display=name, status=st)
        version = detect_version(doc, name, self.spec)
        self._refresh()
        found = errors(doc, "image", version, name, self.spec) + version_problems(
            self.manifest, {name: version}, str(self.path / "manifest.json"))
        if found:
            raise ProblemError(found)
        return path, doc, version

    def _upgraded(self, doc: dict, path: Path) -> dict:
        """``doc`` (as :meth:`_load` gave it: already checked) at the version this service writes."""
        return upgrade(doc, self.target, self.spec, str(path), deployment=self.deployment, checked=True)

    def read(self, image_id: str) -> dict:
        """The record as the service's version reads it, in memory (read-time): nothing is written."""
        path, doc, _ = self._load(image_id)
        return self._upgraded(doc, path)

    def pending(self, version: str) -> str | None:
        """The strictest mode of the rules a record at ``version`` still needs (None: it needs none)."""
        steps = chain(self.spec, version, self.target)
        return strictest(rule["mode"] for step in steps for rule in step.rules) if steps else None

    def get(self, image_id: str) -> dict:
        """The record as the service uses it: rewritten now if a first-use rule has yet to change it."""
        with self._writing():
            path, doc, version = self._load(image_id)
            new = self._upgraded(doc, path)
            if self.pending(version) == "first-use":
                self._current(refresh=False)  # _load read the manifest under this hold of the lock
                atomic.write_text(path, jsonfile.dumps(new), self.durable)
        return new

    def put(self, record: dict, source: str = "<record>") -> dict:
        """Write ``record`` (valid at the version it declares, not newer than the store's) at the store's version."""
        if not isinstance(record, dict):
            raise ProblemError(Problem(source, "", "type", "a record is a JSON object"))
        version = detect_version(record, source, self.spec)
        if version_key(version) > version_key(self.target):
            raise ProblemError(Problem(source, "/format_version", "newer-record",
                                       f"record is at {version}, newer than the store's {self.target}"))
        new = upgrade(record, self.target, self.spec, source, deployment=self.deployment)
        path = self.record_path(new["id"])  # valid: the schema requires a string id
        with self._writing():  # an upgrade that started meanwhile upgrades this record before it finishes
            self._current()
            atomic.write_text(path, jsonfile.dumps(new), self.durable)
        return new


def open(path: Path | str, spec: Spec | None = None, deployment: dict[str, str] | None = None,
         durable: bool = True, version: str | None = None) -> Store:
    """The store as a service of ``version`` (default: the newest released) uses it; refused when it cannot serve it yet."""
    spec = spec or Spec.default()
    path = Path(path)
    manifest = read_manifest(spec, path)
    target = version or spec.latest_released
    spec.release(target)
    newest = _usable(spec, path, manifest, target)
    if newest != target:
        raise ProblemError(Problem(str(path / "manifest.json"), "/format_version", "store-not-upgraded",
                                   f"the store is at {newest}; a {target} service serves it once its upgrade has "
                                   f"started: imgspec upgrade-store {path} (install time) or --first-use (lazily)"))
    return Store(path, spec, manifest, target, dict(deployment or {}), durable)


def _usable(spec: Spec, path: Path, manifest: dict, target: str) -> str:
    """The newest version the store's records may be at; refused if newer than ``target`` or mid install-time upgrade."""
    name = str(path / "manifest.json")
    oldest, newest = span(manifest)
    if version_key(newest) > version_key(target):
        raise ProblemError(Problem(name, "/format_version", "newer-store",
                                   f"the store holds records at {newest}, newer than {target}"))
    blocking = blocking_rules(spec, oldest, newest)
    if blocking:
        raise ProblemError(Problem(name, "/upgrade_in_progress", "upgrade-in-progress",
                                   f"an install-time upgrade to {newest} is unfinished ({blocking[0]} is install-time): "
                                   f"finish it first: imgspec upgrade-store {path} --to {newest}"))
    return newest


def begin_first_use(path: Path | str, to: str | None = None, spec: Spec | None = None,
                    durable: bool = True) -> tuple[str, str]:
    """Start (or extend) a lazy upgrade of the store to ``to``: only the manifest is written.

    Refused while any rule on the way is install-time (that part needs ``upgrade-store --to``),
    and while an install-time upgrade is unfinished.  Returns ``(oldest, to)``.
    """
    spec = spec or Spec.default()
    path = Path(path)
    to = to or spec.latest_released
    spec.release(to)
    read_manifest(spec, path)  # a store at all, before any lock file is made in it
    with upgrading(path), writing(path):
        manifest = read_manifest(spec, path)
        name = str(path / "manifest.json")
        oldest, _ = span(manifest)
        newest = _usable(spec, path, manifest, to)
        blocking = blocking_rules(spec, newest, to)
        if blocking:
            last = blocking[-1].step.target
            raise ProblemError(Problem(name, "/format_version", "install-time-rule",
                                       f"{blocking[0]} is install-time: upgrade every record first "
                                       f"(imgspec upgrade-store {path} --to {last}), then start the lazy upgrade"))
        if oldest == to:
            return oldest, to
        started = manifest["upgrade_in_progress"]["started_at"] if manifest["upgrade_in_progress"] else now()
        manifest = dict(manifest, upgrade_in_progress={"from": oldest, "to": to, "started_at": started},
                        generator=GENERATOR)
        atomic.write_text(path / "manifest.json", jsonfile.dumps(manifest), durable)
    return oldest, to
