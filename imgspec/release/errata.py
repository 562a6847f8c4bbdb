"""Errata: how a released (frozen) format version is corrected.

An erratum to a released version may only *widen* what readers accept: every record
valid before stays valid, byte for byte.  It keeps the version string and is recorded
in ``schemas/releases.json`` under the version's ``errata``::

    {"id": "2.1-E1", "date": "2026-11-25", "what": "...", "why": "...",
     "evidence": ["glance/db/sqlalchemy/api.py", ...],
     "files": {"schemas/record/2.1/location.json": "sha256:<new>"},
     "replaces": {"schemas/record/2.1/location.json": "sha256:<old>"}}

The lock of a released file is its release hash, then each erratum's new hash in order.
:func:`classify` compares each changed file with the content it replaces (found in the
repository's git history by its hash): a schema change must be compatible for stored
records (``imgspec diff``'s rules: nothing breaking, no new required field); a change of
upgrade rules must still upgrade every valid example of its source version to a valid
record, and the examples whose reading it changes are listed.  Anything else needs a
new version.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from imgspec.diff.schemas import NOT_COMPATIBLE, Change, compare_schemas
from imgspec.format import examples as ex
from imgspec.format.validation import errors
from imgspec.problems import Problem, ProblemError
from imgspec.release.history import content_hash, previous_content
from imgspec.spec import Spec
from imgspec.upgrade.rules import Step, load_steps

RELEASES = "schemas/releases.json"


def errata(spec: Spec, version: str | None = None) -> list[tuple[str, dict]]:
    """``(version, erratum)`` for every erratum (of one version), in the order recorded."""
    data = spec.load(RELEASES)
    return [(e["version"], x) for e in data["record"] for x in e.get("errata", [])
            if version is None or e["version"] == version]


@dataclass
class Classification:
    erratum: str
    schema_changes: dict[str, list[Change]] = field(default_factory=dict)  # file -> changes
    rule_files: list[str] = field(default_factory=list)
    readings_changed: dict[str, list[str]] = field(default_factory=dict)  # rule file -> examples read differently
    problems: list[Problem] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for name, changes in self.schema_changes.items():
            out.append(f"{self.erratum}: {name}: {len(changes)} change(s)")
            out += [f"  {c.line()}" for c in changes]
        for name in self.rule_files:
            changed = self.readings_changed.get(name, [])
            out.append(f"{self.erratum}: {name}: upgrade rules corrected; every valid example still upgrades; "
                       f"{len(changed)} example(s) read differently" + (f": {', '.join(changed)}" if changed else ""))
        out += [str(p) for p in self.problems]
        return out


def compare(kind: str, version: str, old: dict, new: dict) -> list[Change]:
    """A released schema before and after an erratum (version strings stay the same)."""
    return [c for c in compare_schemas(kind, old, new, version, version) if c.category != "version"]


def classify(spec: Spec, version: str, erratum: dict) -> Classification:
    """What an erratum changes, and every way it breaks the errata rule (``problems``)."""
    out = Classification(erratum["id"])
    replaces = erratum.get("replaces", {})
    for rel in erratum["files"]:
        if rel not in replaces:
            out.problems.append(Problem(RELEASES, "", "erratum-base-unknown", f"{erratum['id']} names no content it "
                                        f"replaces for {rel}"))
            continue
        try:
            before = json.loads(previous_content(spec, rel, replaces[rel]))
        except ProblemError as exc:
            out.problems += exc.problems
            continue
        after = _content_at(spec, rel, erratum["files"][rel], out)
        if after is None:
            continue
        if rel.startswith("schemas/record/"):
            changes = compare(Path(rel).stem, version, before, after)
            out.schema_changes[rel] = changes
            for c in changes:
                if c.category in NOT_COMPATIBLE:
                    out.problems.append(Problem(rel, c.pointer, "erratum-narrows",
                                                f"{erratum['id']}: {c.category} {c.rule} at {c.shown or '/'}: an "
                                                "erratum may only widen what readers accept; this needs a new version"))
        elif rel.startswith("schemas/upgrades/"):
            out.rule_files.append(rel)
            changed, problems = _rule_readings(spec, rel, before)
            out.readings_changed[rel] = changed
            out.problems += problems
    return out


def _content_at(spec: Spec, rel: str, want: str, out: Classification) -> dict | None:
    """The file as this erratum left it: the tree's, when a later erratum has not changed it since, else from git."""
    path = spec.root / rel
    if path.is_file() and content_hash(path.read_bytes()) == want:
        return spec.load(rel)
    try:
        return json.loads(previous_content(spec, rel, want))
    except ProblemError as exc:
        out.problems += exc.problems
        return None


def _rule_readings(spec: Spec, rel: str, before: dict) -> tuple[list[str], list[Problem]]:
    """Examples the corrected rules read differently from the replaced ones, and any they fail to upgrade."""
    new_step = next(s for s in load_steps(spec).values() if spec.rel(s.path) == rel)
    old_step = Step(new_step.path, before, spec)
    changed, problems = [], []
    for e in ex.record_examples(spec):
        if not e.valid or e.version != new_step.source or e.kind != "image":
            continue
        doc = spec.load_once(e.path)
        new = new_step.apply(doc)
        found = errors(new, "image", new_step.target, spec.rel(e.path), spec)
        problems += [Problem(p.file, p.pointer, "erratum-breaks-upgrade", p.message) for p in found]
        try:
            old = old_step.apply(doc)
        except ProblemError:
            old = None
        if old != new:
            changed.append(e.slug)
    return changed, problems
