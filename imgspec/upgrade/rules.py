"""Upgrade steps as data: each ``schemas/upgrades/<from>-<to>.json`` holds the rules.

This module runs a step's rules in order; what each operation (``add``, ``map``,
``wrap``, ``rename``) does, and its inverse, is in the table of
:mod:`imgspec.upgrade.operations`.  It knows nothing about any particular field.

Every operation also has an inverse (:meth:`Step.revert`), used by the tests to
prove that an upgrade loses nothing: reverting an upgraded record gives back
the original.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import pointer as ptr
from ..problems import Problem, ProblemError
from ..spec import Spec, version_key
from .operations import json_copy, operation


@dataclass
class Step:
    path: Path
    data: dict
    spec: Spec

    @property
    def source(self) -> str:
        return self.data["from"]

    @property
    def target(self) -> str:
        return self.data["to"]

    @property
    def mode(self) -> str:
        return self.data["mode"]

    @property
    def rules(self) -> list[dict]:
        return self.data["rules"]

    @property
    def store_rules(self) -> list[dict]:
        """Rules for the store manifest (none when the manifest only changes its version)."""
        return self.data.get("store_rules", [])

    @property
    def irreversible(self) -> list[dict]:
        """Members whose exact input a revert cannot give back (the value is kept), each with why."""
        return self.data.get("irreversible", [])

    def ruleset(self) -> dict[str, list[dict]]:
        return {"image": self.rules, "store": self.store_rules}

    def is_new(self, pattern: str, kind: str = "image") -> bool:
        """Whether the field ``pattern`` names exists in the target but not in the source version."""
        return (self.spec.field_schema(self.target, pattern, kind) is not None
                and self.spec.field_schema(self.source, pattern, kind) is None)

    # -- forward ------------------------------------------------------------
    def apply(self, doc: dict, in_place: bool = False, order: bool = True, touched: list | None = None,
              kind: str = "image") -> dict:
        """The record (or, with ``kind="store"``, the manifest) upgraded by this step, keys in schema order.

        A new object unless ``in_place``; ``touched``, when given, receives the token paths of
        every value set or removed.
        """
        if not in_place:
            doc = json_copy(doc)
        note = touched.append if touched is not None else (lambda tokens: None)
        for rule in self.ruleset()[kind]:
            operation(rule).apply(doc, rule, note)
        doc["format_version"] = self.target
        return canonical_order(doc, self.spec, self.target, kind) if order else doc

    # -- backward (the proof that nothing is lost) ---------------------------
    def revert(self, doc: dict, kind: str = "image") -> dict:
        """The record (or manifest) this step's :meth:`apply` turned into ``doc``."""
        doc = json_copy(doc)
        for rule in reversed(self.ruleset()[kind]):
            operation(rule).revert(doc, rule, lambda pattern: self.is_new(pattern, kind))
        doc["format_version"] = self.source
        return canonical_order(doc, self.spec, self.source, kind)


def canonical_order(doc: dict, spec: Spec, version: str, kind: str = "image") -> dict:
    """``doc`` with keys in the order its schema lists them (items of referenced objects too)."""
    schema = spec.schema(kind, version)
    props = schema.get("properties", {})
    out = {k: doc[k] for k in props if k in doc}
    out.update((k, v) for k, v in doc.items() if k not in out)
    for key, node in props.items():
        ref = node.get("items", {}).get("$ref") if isinstance(node, dict) else None
        if ref and isinstance(out.get(key), list):
            sub = ref.removesuffix(".json")
            if spec.schema(sub, version).get("type") == "object":
                out[key] = [canonical_order(i, spec, version, sub) if isinstance(i, dict) else i for i in out[key]]
    return out


def load_steps(spec: Spec) -> dict[str, Step]:
    """Every step file, checked against ``step.schema.json``; keyed by its ``from`` version (read once)."""
    return spec.once(("steps",), lambda: read_steps(spec))


def read_steps(spec: Spec) -> dict[str, Step]:
    """Read and check every step file now."""
    from jsonschema import Draft202012Validator

    from .. import registry
    from ..validation import FORMAT_CHECKER

    meta = spec.load("schemas/upgrades/step.schema.json")
    checker = Draft202012Validator(meta, registry=registry.of(spec), format_checker=FORMAT_CHECKER)
    steps, problems = {}, []
    for path in spec.upgrade_files():
        name = spec.rel(path)
        data = spec.load(path)
        for e in checker.iter_errors(data):
            problems.append(Problem(name, ptr.render(e.absolute_path), str(e.validator), e.message))
        if not problems and path.stem != f"{data['from']}-{data['to']}":
            problems.append(Problem(name, "", "file-name",
                                    f"a step from {data['from']} to {data['to']} lives in {data['from']}-{data['to']}.json"))
        if not problems:
            steps[data["from"]] = Step(path, data, spec)
    if problems:
        raise ProblemError(problems)
    return steps


def chain(spec: Spec, source: str, target: str) -> list[Step]:
    """The steps from ``source`` to ``target``, in order."""
    return list(spec.once(("chain", source, target), lambda: make_chain(spec, source, target)))


def make_chain(spec: Spec, source: str, target: str) -> tuple[Step, ...]:
    versions = spec.versions
    for v in (source, target):
        spec.release(v)
    if version_key(target) < version_key(source):
        raise ProblemError(Problem("<record>", "/format_version", "downgrade-refused",
                                   f"cannot upgrade a {source} record to the older version {target}"))
    steps = load_steps(spec)
    out = []
    for v in versions[versions.index(source):versions.index(target)]:
        if v not in steps:
            raise ProblemError(Problem("schemas/upgrades", "", "missing-step", f"no upgrade rules from {v}"))
        out.append(steps[v])
    return tuple(out)
