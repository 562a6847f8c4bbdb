"""Released versions are frozen: ``schemas/releases.json`` locks each one's files by content hash.

A released version owns its record schemas (``schemas/record/<v>/``) and the upgrade
rules that lead to it (``schemas/upgrades/*-<v>.json``).  :func:`check` reports any
such file that changed, appeared or disappeared since the release; a draft (the
next version) is not locked and may change freely.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from . import atomic, jsonfile
from .problems import Problem, ProblemError
from .spec import Spec

RELEASES = "schemas/releases.json"


def owned_files(spec: Spec, version: str) -> list[Path]:
    return sorted((spec.schemas / "record" / version).glob("*.json")) + sorted(
        (spec.schemas / "upgrades").glob(f"*-{version}.json"))


def digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def check(spec: Spec) -> list[Problem]:
    data = spec.load(RELEASES)
    problems = []
    seen_draft = None
    for i, entry in enumerate(data["record"]):
        at = f"/record/{i}"
        version, status = entry["version"], entry["status"]
        if status == "draft":
            seen_draft = seen_draft or version
            if "files" in entry:
                problems.append(Problem(RELEASES, f"{at}/files", "draft-locked", f"draft {version} must not lock files"))
            continue
        if seen_draft:
            problems.append(Problem(RELEASES, f"{at}/status", "release-order",
                                    f"{version} is released after the draft {seen_draft}"))
        locked = entry.get("files")
        if not locked:
            problems.append(Problem(RELEASES, at, "unlocked-release", f"released {version} locks no files"))
            continue
        on_disk = {spec.rel(p): p for p in owned_files(spec, version)}
        for name, want in locked.items():
            if name not in on_disk:
                problems.append(Problem(name, "", "frozen-file-removed",
                                        f"released in {version} and frozen, but the file is gone"))
            elif digest(on_disk[name]) != want:
                problems.append(Problem(name, "", "frozen-file-changed",
                                        f"released in {version} and frozen: its content changed ({want[:19]}… expected). "
                                        "Put the change in a new draft version with upgrade rules instead"))
        for name in on_disk:
            if name not in locked:
                problems.append(Problem(name, "", "frozen-version-extended",
                                        f"{version} is released: no file may be added to it"))
    return problems


def release(version: str, spec: Spec) -> dict:
    """Mark the draft ``version`` released and lock its files (rewrites releases.json atomically)."""
    data = spec.load(RELEASES)
    entry = next((e for e in data["record"] if e["version"] == version), None)
    if entry is None:
        raise ProblemError(Problem(RELEASES, "/record", "unknown-version", f"no version {version!r}"))
    if entry["status"] == "released":
        raise ProblemError(Problem(RELEASES, "/record", "already-released", f"{version} is already released"))
    entry["status"] = "released"
    entry["files"] = {spec.rel(p): digest(p) for p in owned_files(spec, version)}
    atomic.write_text(spec.root / RELEASES, jsonfile.dumps(data))
    return entry
