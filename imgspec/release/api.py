"""Releasing the API document and correcting a released one: the content hash of every file the document is made
of, locked per API version in ``schemas/api/releases.json``; the released document taken back from the git history
by those hashes; a new release refused unless every change clients would notice is behind its newer version, and a
correction (the document now says what Glance already did) recorded with its Glance evidence."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from imgspec import atomic, jsonfile
from imgspec.api import lint, selfcontained
from imgspec.api import microversions as mv
from imgspec.api.document import DOCUMENT, bundled, document
from imgspec.diff import api as apidiff
from imgspec.problems import UNUSABLE, Problem, ProblemError
from imgspec.release import history
from imgspec.release.history import content_hash, previous_content
from imgspec.spec import Spec, version_key
from imgspec.text import now

RELEASES = "schemas/api/releases.json"


def document_files(spec: Spec) -> list[str]:
    """The files the document is made of: itself and the served schemas it references."""
    return [DOCUMENT, *sorted(spec.rel(p) for p in (spec.schemas / "service").rglob("*.json"))]


def locked_files(release: dict) -> dict[str, str]:
    """The content hash of each file of an API release, as its corrections (in order) left it."""
    return history.locked(release, "corrections")


def released_document(spec: Spec) -> tuple[str, dict]:
    """(version, the bundled document) of the last API release recorded in schemas/api/releases.json,
    with its corrections.  Each file is taken from the git history by the content hash recorded for it.
    """
    last = spec.load(RELEASES)["api"][-1]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(spec.schemas, Path(tmp) / "schemas")
        for rel, want in locked_files(last).items():
            path = spec.root / rel
            data = path.read_bytes() if path.is_file() and content_hash(path.read_bytes()) == want else \
                previous_content(spec, rel, want)
            (Path(tmp) / rel).write_bytes(data)
        return last["version"], bundled(Spec(Path(tmp)))


def record_release(spec: Spec, note: str, date: str | None = None) -> tuple[dict, list]:
    """Record the document as it is as a new API release (its info.version), locking the content hash of each file
    it is made of.  Refused (nothing written) when info.version is not newer than the last release, when nothing
    changed, when a change clients would notice is not behind the new version, or when the x-since of an element
    names a version the API does not have.  Returns the release and the changes since the last one."""
    data = spec.load(RELEASES)
    last = data["api"][-1]
    version = document(spec)["info"]["version"]
    files = {rel: content_hash((spec.root / rel).read_bytes()) for rel in document_files(spec)}
    old = released_document(spec)[1]
    new = bundled(spec)
    changes = apidiff.compare(old, new)
    problems = mv.problems(spec)  # first: a version the API does not have is no version to compare
    why_not = ("; ".join(str(p) for p in problems) if problems else
               f"info.version {version} is not newer than the last release {last['version']}"
               if version_key(version) <= version_key(last["version"]) else
               "nothing of the document changed since its last release" if files == locked_files(last) else
               "; ".join(f"{c.where}: {c.check}" for c in apidiff.unannounced(changes, old, new)))
    if why_not:
        raise ProblemError(Problem(RELEASES, "/api", "release-refused", why_not))
    release = {"version": version, "date": date or now()[:10], "note": note, "files": files}
    data["api"].append(release)
    atomic.write_text(spec.root / RELEASES, jsonfile.dumps(data))
    write_self_contained(Spec(spec.root))  # stamped with the new lock
    return release, changes


def record_correction(spec: Spec, correction_id: str, what: str, why: str, evidence: list[str],
                      date: str | None = None) -> tuple[dict, list]:
    """Record the document's changed files as a correction of the last API release: the document now says what
    Glance already did (``evidence``: the Glance files that show it), so the change is no API change and needs
    no newer version.  Returns the correction and the changes it covers (``imgspec.diff.api``), for the review.
    Refused (nothing written) when nothing changed, the id is taken, or no evidence is named.
    """
    data = spec.load(RELEASES)
    last = data["api"][-1]
    taken = {c["id"] for r in data["api"] for c in r.get("corrections", [])}
    locked = locked_files(last)
    changed = {rel: content_hash((spec.root / rel).read_bytes()) for rel in document_files(spec)
               if content_hash((spec.root / rel).read_bytes()) != locked.get(rel)}
    if correction_id in taken or not changed or not evidence or not all(e.startswith("glance/") for e in evidence):
        why_not = (f"a correction {correction_id!r} exists already" if correction_id in taken else
                   "nothing of the document changed since its last recorded state" if not changed else
                   "name the Glance files that show the behaviour (--evidence glance/...)")
        raise ProblemError(Problem(RELEASES, "/api", "correction-refused", why_not))
    old = released_document(spec)[1]
    changes = apidiff.compare(old, bundled(spec))
    correction = {"id": correction_id, "date": date or now()[:10], "what": what, "why": why, "evidence": evidence,
                  "files": changed}
    last.setdefault("corrections", []).append(correction)
    atomic.write_text(spec.root / RELEASES, jsonfile.dumps(data))
    write_self_contained(Spec(spec.root))  # stamped with the new lock
    return correction, changes


def lock_state(spec: Spec) -> dict:
    """The API release (and its last correction) whose locked files the document is now, or that it is not."""
    last = spec.load(RELEASES)["api"][-1]
    now = {rel: content_hash((spec.root / rel).read_bytes()) for rel in document_files(spec)}
    if now != locked_files(last):
        return {"api_release": last["version"], "state": "unreleased: changed since that release and its corrections"}
    corrections = [c["id"] for c in last.get("corrections", [])]
    return {"api_release": last["version"], "correction": corrections[-1] if corrections else None,
            "state": "locked", "files": dict(sorted(now.items()))}


def self_contained(spec: Spec) -> dict:
    """The self-contained document as the files give it now, stamped with their lock (built once)."""
    return spec.once(("api-self-contained",), lambda: selfcontained.self_contained(spec, lock_state(spec)))


def write_self_contained(spec: Spec) -> str:
    """Write schemas/bundled/api/images-v2.openapi.json; refused, writing nothing, while the document is unusable."""
    try:
        content = selfcontained.text(self_contained(spec))
    except ProblemError as exc:
        raise ProblemError(exc.problems, status=UNUSABLE) from None
    path = spec.root / selfcontained.FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, content)
    if (spec.root / lint.CONFIG).is_file():  # a checkout: Redocly's ignore file of the modular files too
        atomic.write_text(spec.root / lint.IGNORE_FILE, lint.ignore_file(document(spec)))
    return selfcontained.FILE


def stale_self_contained(spec: Spec) -> list[Problem]:
    """The checked-in self-contained document, if it is missing or differs from what the files give now."""
    rel = selfcontained.FILE
    if not (spec.root / DOCUMENT).is_file():
        return []
    if not (spec.root / rel).is_file():
        return [Problem(rel, "", "bundle-missing", f"no self-contained document of {DOCUMENT}: run `imgspec bundle`")]
    try:
        want = selfcontained.text(self_contained(spec))
    except ProblemError as exc:
        return exc.problems
    out = []
    if (spec.root / rel).read_text(encoding="utf-8") != want:
        out.append(Problem(rel, "", "bundle-stale", f"differs from what {DOCUMENT}, the served schemas, examples/api/ "
                                                    f"and {RELEASES} give now: run `imgspec bundle`"))
    ignore = spec.root / lint.IGNORE_FILE
    if (spec.root / lint.CONFIG).is_file() and (
            not ignore.is_file() or ignore.read_text(encoding="utf-8") != lint.ignore_file(document(spec))):
        out.append(Problem(lint.IGNORE_FILE, "", "bundle-stale", f"is not what x-lint-exceptions of {DOCUMENT} "
                                                                 "gives: run `imgspec bundle`"))
    return out
