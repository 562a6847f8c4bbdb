"""Released versions are frozen: ``schemas/releases.json`` locks each one's files by content hash.

A released version owns its record schemas (``schemas/record/<v>/``) and the upgrade
rules that lead to it (``schemas/upgrades/*-<v>.json``).  :func:`check` reports any
such file that changed, appeared or disappeared since the release; a draft (the
next version) is not locked and may change freely.  A released file changes only
through an erratum (:mod:`imgspec.release.errata`): the lock is then the erratum's hash.
"""
from __future__ import annotations

from pathlib import Path

from imgspec import atomic, jsonfile
from imgspec.diff.schemas import undeclared_meaning_changes
from imgspec.problems import Problem, ProblemError
from imgspec.release import errata, history, vectorlock
from imgspec.release.errata import RELEASES
from imgspec.release.history import content_hash
from imgspec.spec import Spec, version_key
from imgspec.text import now


def owned_files(spec: Spec, version: str) -> list[Path]:
    return sorted((spec.schemas / "record" / version).glob("*.json")) + sorted(
        (spec.schemas / "upgrades").glob(f"*-{version}.json"))


def digest(path: Path) -> str:
    return content_hash(path.read_bytes())


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
        if not entry.get("files"):
            problems.append(Problem(RELEASES, at, "unlocked-release", f"released {version} locks no files"))
            continue
        locked = dict(entry["files"])
        for j, erratum in enumerate(entry.get("errata", [])):
            for name, new in erratum["files"].items():
                if name not in locked:
                    problems.append(Problem(RELEASES, f"{at}/errata/{j}/files", "erratum-adds-file",
                                            f"{erratum['id']}: {name} is not a file of {version}: an erratum changes "
                                            "released files, it adds none"))
                elif erratum.get("replaces", {}).get(name) != locked[name]:
                    problems.append(Problem(RELEASES, f"{at}/errata/{j}/replaces", "erratum-order",
                                            f"{erratum['id']}: {name} must replace the content locked before it "
                                            f"({locked[name][:19]}…)"))
                locked[name] = new
        on_disk = {spec.rel(p): p for p in owned_files(spec, version)}
        for name, want in locked.items():
            if name not in on_disk:
                problems.append(Problem(name, "", "frozen-file-removed",
                                        f"released in {version} and frozen, but the file is gone"))
            elif digest(on_disk[name]) != want:
                problems.append(Problem(name, "", "frozen-file-changed",
                                        f"released in {version} and frozen: its content changed ({want[:19]}… expected). "
                                        "Put the change in a new draft version with upgrade rules, or record a "
                                        "widening erratum (imgspec erratum)"))
        for name in on_disk:
            if name not in locked:
                problems.append(Problem(name, "", "frozen-version-extended",
                                        f"{version} is released: no file may be added to it"))
    return problems


def release(spec: Spec, version: str) -> dict:
    """Mark the draft ``version`` released and lock its files (rewrites releases.json atomically)."""
    data = spec.load(RELEASES)
    entry = next((e for e in data["record"] if e["version"] == version), None)
    if entry is None:
        raise ProblemError(Problem(RELEASES, "/record", "unknown-version", f"no version {version!r}"))
    if entry["status"] == "released":
        raise ProblemError(Problem(RELEASES, "/record", "already-released", f"{version} is already released"))
    previous = [v for v in spec.versions if version_key(v) < version_key(version)]
    if previous:
        for c in undeclared_meaning_changes(spec, previous[-1], version):
            raise ProblemError(Problem(RELEASES, "/record", "meaning-undeclared",
                                       f"{c.shown}: the {previous[-1]} -> {version} upgrade changes what a value means "
                                       f"({c.detail}); declare it under meaning_changes in the {version} entry"))
    entry["status"] = "released"
    entry["files"] = {spec.rel(p): digest(p) for p in owned_files(spec, version)}
    atomic.write_text(spec.root / RELEASES, jsonfile.dumps(data))
    return entry


def locks(spec: Spec, version: str) -> dict[str, str]:
    """The hash each file of a released version is locked at now (the release, then its errata in order)."""
    return history.locked(next(e for e in spec.load(RELEASES)["record"] if e["version"] == version), "errata")


def record_erratum(spec: Spec, version: str, erratum_id: str, what: str, why: str, evidence: list[str],
                   date: str | None = None) -> dict:
    """Record the changed files of the released ``version`` as an erratum, if it only widens.

    The files' new content must be in the working tree and the content they replace in git.
    Rewrites releases.json atomically; raises ProblemError (nothing written) otherwise.
    """

    data = spec.load(RELEASES)
    entry = next((e for e in data["record"] if e["version"] == version), None)
    if entry is None or entry["status"] != "released":
        raise ProblemError(Problem(RELEASES, "/record", "not-released",
                                   f"{version!r} is not a released version: a draft changes without errata"))
    if any(x["id"] == erratum_id for _, x in errata.errata(spec)):
        raise ProblemError(Problem(RELEASES, "/record", "erratum-id", f"an erratum {erratum_id!r} exists already"))
    locked = locks(spec, version)
    changed = {spec.rel(p): digest(p) for p in owned_files(spec, version) if locked.get(spec.rel(p)) != digest(p)}
    added = [name for name in changed if name not in locked]
    if added or not changed:
        raise ProblemError(Problem(RELEASES, "/record", "erratum-empty" if not changed else "erratum-adds-file",
                                   f"nothing of {version} changed" if not changed else
                                   f"an erratum adds no file: {', '.join(added)}"))
    erratum = {"id": erratum_id, "date": date or now()[:10], "what": what, "why": why, "evidence": evidence,
               "files": changed, "replaces": {name: locked[name] for name in changed}}
    problems = errata.classify(spec, version, erratum).problems
    if problems:
        raise ProblemError(problems)
    moved = vectorlock.changed_since_lock(spec)
    if moved:
        if not any(name.startswith("schemas/upgrades/") for name in changed):
            raise ProblemError(Problem(vectorlock.LOCK, "", "frozen-vector-changed",
                                       f"locked vectors changed ({', '.join(sorted({r for m in moved.values() for r in m}))}) "
                                       "but no upgrade rule of this erratum did: regenerate the vectors from the rules"))
        erratum["vectors"] = moved
    entry.setdefault("errata", []).append(erratum)
    atomic.write_text(spec.root / RELEASES, jsonfile.dumps(data))
    return erratum
