"""The conformance vectors' lock: per released version, every vector's content up to it (input, refusal, readings
at versions up to it) by hash, in ``examples/vectors/lock.json``; it moves only through errata, which name the
vectors their corrected rules read differently (:func:`locked`)."""
from __future__ import annotations

import hashlib
import json

from imgspec import atomic
from imgspec.problems import Problem, ProblemError
from imgspec.release.errata import errata
from imgspec.spec import Spec, version_key
from imgspec.upgrade.vectors import files

LOCK = "examples/vectors/lock.json"


def projection(vec: dict, version: str) -> dict:
    """The part of a vector a release of ``version`` freezes: input, refusal, readings up to it."""
    keep = {k: vec[k] for k in ("input", "input_text", "input_base64", "input_generated", "read_at", "refused")
            if k in vec}
    if "readings" in vec:
        keep["readings"] = {v: r for v, r in vec["readings"].items() if version_key(v) <= version_key(version)}
    return keep


def digest(vec: dict, version: str) -> str:
    text = json.dumps(projection(vec, version), sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def applies(rel: str, version: str) -> bool:
    folder = rel.split("/")[-2]
    return folder == "reader" or version_key(folder.split("-")[0]) <= version_key(version)


def lock(spec: Spec, version: str) -> dict[str, str]:
    """The hash of every vector a release of ``version`` freezes."""
    return {spec.rel(p): digest(json.loads(p.read_text()), version) for p in files(spec) if applies(spec.rel(p), version)}


def locked(spec: Spec) -> dict[str, dict[str, str]]:
    """The lock of every released version now: ``lock.json``, then each erratum's ``vectors`` in the order recorded.

    An erratum whose corrected upgrade rules change readings names the vectors they change with their new hashes
    (per locked version), exactly as it names the schema files it changes: the lock moves only through errata."""
    path = spec.root / LOCK
    data = json.loads(path.read_text()) if path.exists() else {}
    for _, erratum in errata(spec):
        for version, hashes in erratum.get("vectors", {}).items():
            data.setdefault(version, {}).update(hashes)
    return data


def changed_since_lock(spec: Spec) -> dict[str, dict[str, str]]:
    """``{locked version: {vector: hash now}}`` for every locked vector whose content differs from its lock."""
    out: dict[str, dict[str, str]] = {}
    for version, hashes in locked(spec).items():
        now = lock(spec, version)
        moved = {rel: now[rel] for rel, want in hashes.items() if rel in now and now[rel] != want}
        if moved:
            out[version] = moved
    return out


def problems(spec: Spec) -> list[Problem]:
    """Locked vectors that changed or vanished; released versions without a lock."""
    data = locked(spec)
    out = []
    for version in spec.released:
        if version not in data:
            out.append(Problem(LOCK, "", "unlocked-vectors", f"released {version} locks no vectors"))
            continue
        now = lock(spec, version)
        for rel, want in data[version].items():
            if rel not in now:
                out.append(Problem(rel, "", "frozen-vector-removed", f"locked with {version}, but the file is gone"))
            elif now[rel] != want:
                out.append(Problem(rel, "", "frozen-vector-changed",
                                   f"locked with {version}: its input, refusal or readings up to {version} changed"))
    return out


def write_lock(spec: Spec, versions: list[str]) -> None:
    """Add (never replace) the locks of ``versions``: what ``imgspec release`` does for the new version."""
    path = spec.root / LOCK
    data = json.loads(path.read_text()) if path.exists() else {}
    for v in versions:
        if v in data:
            raise ProblemError(Problem(LOCK, f"/{v}", "already-locked", f"the vectors of {v} are locked already"))
        data[v] = lock(spec, v)
    atomic.write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
