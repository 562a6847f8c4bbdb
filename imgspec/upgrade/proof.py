"""The proof that a version step keeps its promise, on records drawn from the old schema itself.

For every step ``A -> B`` and every kind (image records, store manifests), documents valid at
``A`` are drawn from ``A``'s schema (:mod:`imgspec.format.generate`: the whole valid space, not
realistic records) and each must satisfy:

valid      the step's result is valid at ``B`` (schema and semantic checks);
lossless   reverting the result gives back every value of the input (the input, or one that
           also holds optional members it lacked), valid at ``A``, which upgrades the same;
idempotent reading the result at ``B`` changes nothing.

The budget (examples per step and kind) and the seed are fixed, so a run is reproducible; a
failure names the step, the property and the first counterexample drawn (there is no shrinking: the
pointer it names says where the step breaks).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from imgspec.format.generate import Generator
from imgspec.format.validation import reference_errors
from imgspec.pointer import matcher
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec
from imgspec.upgrade import load_steps, upgrade
from imgspec.upgrade.rules import Step

BUDGET = 120  # examples per step and kind in `make test` and `imgspec diff`
KINDS = ("image", "store")


def text(doc) -> str:
    """Strict comparison: key order and JSON types included."""
    return json.dumps(doc, ensure_ascii=False)


def lost(current, reverted, at: str = "") -> list[str]:
    """Where ``reverted`` does not give back a value ``current`` holds (strictly, JSON types included)."""
    if isinstance(current, dict) and isinstance(reverted, dict):
        return [p for k, v in current.items()
                for p in ([f"{at}/{k}"] if k not in reverted else lost(v, reverted[k], f"{at}/{k}"))]
    if isinstance(current, list) and isinstance(reverted, list) and len(current) == len(reverted):
        return [p for i, (a, b) in enumerate(zip(current, reverted, strict=True)) for p in lost(a, b, f"{at}/{i}")]
    return [] if text(current) == text(reverted) else [at or "(root)"]


def lost_by(step, doc, reverted) -> list[str]:
    """:func:`lost`, less the members the step declares irreversible (matched with ``*`` for any index)."""
    patterns = [matcher(d["path"]) for d in step.irreversible]
    return [p for p in lost(doc, reverted) if not any(r.match(p) for r in patterns)]


@dataclass
class Failure(Exception):
    prop: str
    detail: str


def obligations(step, doc: dict, kind: str) -> None:
    """Raise :class:`Failure` for the first property ``doc`` breaks under ``step``."""
    spec = step.spec

    def errors(doc, kind, version, spec):
        return reference_errors(spec, doc, kind, version)
    new = step.apply(doc, kind=kind)
    found = errors(new, kind, step.target, spec=spec)
    if found:
        raise Failure("valid", f"the result is not a valid {step.target} {kind}: {found[0].pointer}: {found[0].rule}: "
                               f"{found[0].message}")
    reverted = step.revert(new, kind=kind)
    where = lost_by(step, doc, reverted)
    if where:
        raise Failure("lossless", f"reverting the result loses {', '.join(where[:3])}")
    found = errors(reverted, kind, step.source, spec=spec)
    if found:
        raise Failure("lossless", f"the reverted {kind} is not valid {step.source}: {found[0].pointer}: {found[0].rule}")
    if text(step.apply(reverted, kind=kind)) != text(new):
        raise Failure("lossless", "the reverted document does not upgrade to the same result")
    if kind == "image" and text(upgrade(new, step.target, spec)) != text(new):
        raise Failure("idempotent", f"reading the result at {step.target} changes it")


def prove(step, kind: str = "image", budget: int = BUDGET) -> list[Problem]:
    """[] when every drawn ``kind`` satisfies the obligations of ``step``; else the one counterexample."""
    from hypothesis import HealthCheck, Phase, given, settings

    name = f"schemas/upgrades/{step.source}-{step.target}.json"
    strategy = Generator(step.spec, step.source).record(kind)
    failures: list[tuple[Failure, dict]] = []

    # no shrinking: the first counterexample is reported as drawn (its pointer says where it breaks)
    @settings(max_examples=budget, deadline=None, database=None, derandomize=True, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(doc):
        try:
            obligations(step, doc, kind)
        except Failure as exc:
            failures.append((exc, doc))
            raise

    try:
        run()
    except Failure:
        exc, doc = failures[-1]
        return [Problem(name, "", f"not-proven-{exc.prop}",
                        f"a valid {step.source} {kind} breaks the step: {exc.detail}; counterexample: "
                        f"{json.dumps(doc)[:400]}")]
    return []


def prove_steps(spec: Spec, steps=None, budget: int = BUDGET) -> list[tuple[Step, list[Problem]]]:
    """Each step (default: all) with what its proof found on image and store documents (empty: proven).

    Refused with one problem (``missing-dependency``) where hypothesis, which draws the documents, is not installed."""
    try:
        import hypothesis  # noqa: F401 - the proof draws with it (an optional dependency: probed here)
    except ImportError:
        raise ProblemError(Problem("imgspec prove", "", "missing-dependency",
                                   "the proof draws documents with hypothesis: pip install 'imgspec[prove]'")) from None
    steps = list(load_steps(spec).values()) if steps is None else steps
    return [(step, [p for kind in KINDS for p in prove(step, kind, budget)]) for step in steps]
