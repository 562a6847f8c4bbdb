"""Upgrading records from any older format version to a newer one.

``upgrade(record, to)`` chains the steps in ``schemas/upgrades/``; the input must be
a valid record of the version it declares, and the output is checked against the
target version's schema.  ``read(record)`` is the read-time interpretation: the
record as the newest version, without writing anything.
"""
from __future__ import annotations

from imgspec.format.validation import detect_version, errors
from imgspec.pointer import render
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec
from imgspec.upgrade.rules import Step, canonical_order, chain, json_copy, load_steps

__all__ = ["Step", "canonical_order", "chain", "load_steps", "read", "upgrade", "upgrade_manifest"]


def upgrade(doc, to: str | None = None, spec: Spec | None = None, source: str = "<record>",
            touched: list | None = None, deployment: dict[str, str] | None = None, checked: bool = False) -> dict:
    """``doc`` upgraded to ``to`` (default: the newest released version).

    ``touched``, when given, receives the JSON pointer of every value the upgrade set or removed;
    ``deployment`` holds the settings that rules name with ``$deployment``; ``checked`` says that the caller has
    just found ``doc`` valid at the version it declares (:func:`imgspec.format.validation.errors`), so it is not
    checked again.  The result is checked against the target version's schema whatever ``checked`` says.
    """
    spec = spec or Spec.default()
    version = detect_version(doc, source, spec)
    if isinstance(doc, dict) and doc.get("kind") == "imgspec.store":
        raise ProblemError(Problem(source, "/kind", "not-an-image-record",
                                   "a store manifest, not an image record: records are read one by one (imgspec "
                                   "validate takes a manifest; imgspec upgrade-store upgrades a store)"))
    to = to or spec.latest_released  # writers write released versions; a draft only when named
    problems = [] if checked else errors(doc, "image", version, source, spec)
    if problems:
        raise ProblemError(problems)
    try:
        steps = chain(spec, version, to)
        if steps:
            doc = json_copy(doc)
            paths: list = []
            for step in steps:
                doc = step.apply(doc, in_place=True, order=False, touched=paths if touched is not None else None,
                                 deployment=deployment)
            if touched is not None:
                touched.extend(dict.fromkeys(render(p) for p in paths))
            doc = canonical_order(spec, doc, to)
    except ProblemError as exc:
        raise ProblemError([p if p.rule == "deployment-setting-missing" or p.file == "--to"
                            else Problem(source, p.pointer, p.rule, p.message) for p in exc.problems]) from None
    _refuse_invalid(spec, doc, "image", to, source)
    return doc


def upgrade_manifest(spec: Spec, manifest: dict, source: str, target: str, display: str,
                     deployment: dict[str, str] | None = None) -> dict:
    """A store manifest at ``source`` upgraded by the steps' store rules to ``target``, checked."""
    for step in chain(spec, source, target):
        manifest = step.apply(manifest, kind="store", deployment=deployment)
    _refuse_invalid(spec, manifest, "store", target, display)
    return manifest


def _refuse_invalid(spec: Spec, doc: dict, kind: str, version: str, source: str) -> None:
    broken = errors(doc, kind, version, source, spec)
    if broken:  # the rules produced an invalid record: a defect in the spec, never written
        raise ProblemError([Problem(source, p.pointer, "upgrade-produced-invalid", p.message) for p in broken])


def read(doc, spec: Spec | None = None, source: str = "<record>") -> dict:
    """The record as the newest released version reads it (read-time interpretation; nothing is written)."""
    return upgrade(doc, None, spec, source)
