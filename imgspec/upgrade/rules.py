"""Upgrade steps as data: each ``schemas/upgrades/<from>-<to>.json`` holds the rules.

This module runs a step's rules in order; what each operation (``add``, ``map``,
``wrap``, ``rename``) does, and its inverse, is in the table of
:mod:`imgspec.upgrade.operations`.  It knows nothing about any particular field.

Every operation also has an inverse (:meth:`Step.revert`), used by the tests to
prove that an upgrade loses nothing: reverting an upgraded record gives back
the original.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from imgspec.format import registry
from imgspec.format.validation import FORMAT_CHECKER
from imgspec.messages import problem
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec, version_key
from imgspec.upgrade.operations import describe, json_copy, operation


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
        """The step's mode: the strictest of its rules' (install-time, then first-use, then read-time)."""
        return strictest(r["mode"] for r in self.rules + self.store_rules)

    def rules_in(self, mode: str, kind: str = "image") -> list[tuple[int, dict]]:
        """``(number, rule)`` of every rule of this mode (numbered from 1, as the step page shows them)."""
        return [(i, r) for i, r in enumerate(self.ruleset()[kind], 1) if r["mode"] == mode]

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

    @functools.cached_property
    def needs_deployment(self) -> dict[str, list[bool]]:
        """For each kind, whether each rule names a deployment setting (worked out once)."""
        return {kind: [uses_deployment(r) for r in rules] for kind, rules in self.ruleset().items()}

    def meanwhile(self, rule: dict, number: int, kind: str = "image", restate: bool = True) -> str:
        """What a reader of the target sees of a rule's field until the store is rewritten (from the rule's mode);
        ``restate`` repeats what the rule does (a page that shows the rule beside it says only its number)."""
        _, _, what = describe(rule)
        old, new = self.source, self.target
        thing = "manifest" if kind == "store" else "record"
        said = f"as rule {number} says ({what})" if restate else f"as rule {number} says"
        if rule["mode"] == "read-time":
            return f"A {old} {thing} is never rewritten for this rule: every {new} reader reads it {said}, in memory."
        if rule["mode"] == "first-use":
            return (f"Until the {new} service first uses the {thing} (reads it for a client or writes it), a {new} "
                    f"reader reads it {said}, in memory; the service then writes it so.")
        return (f"A {new} service does not serve the store until `imgspec upgrade-store --to {new}` has rewritten "
                f"every {thing} {said}; while that runs, a reader reads each {thing} at the version it declares and "
                f"one that reads a {old} {thing} as {new} MUST read it so, in memory.")

    def ruleset(self) -> dict[str, list[dict]]:
        return {"image": self.rules, "store": self.store_rules}

    def is_new(self, pattern: str, kind: str = "image") -> bool:
        """Whether the field ``pattern`` names exists in the target but not in the source version."""
        return (self.spec.field_schema(self.target, pattern, kind) is not None
                and self.spec.field_schema(self.source, pattern, kind) is None)

    # -- forward ------------------------------------------------------------
    def apply(self, doc: dict, in_place: bool = False, order: bool = True, touched: list | None = None,
              kind: str = "image", deployment: dict[str, str] | None = None) -> dict:
        """The record (or, with ``kind="store"``, the manifest) upgraded by this step, keys in schema order.

        A new object unless ``in_place``; ``touched``, when given, receives the token paths of
        every value set or removed; ``deployment`` holds the settings ``$deployment`` values name.
        """
        if not in_place:
            doc = json_copy(doc)
        note = touched.append if touched is not None else (lambda tokens: None)
        for number, (rule, needs) in enumerate(zip(self.ruleset()[kind], self.needs_deployment[kind], strict=True), 1):
            if needs:
                rule = with_settings(rule, deployment, f"{self.source}-{self.target}", number, kind)
            operation(rule).apply(doc, rule, note)
        doc["format_version"] = self.target
        return canonical_order(self.spec, doc, self.target, kind) if order else doc

    # -- backward (the proof that nothing is lost) ---------------------------
    def revert(self, doc: dict, kind: str = "image") -> dict:
        """The record (or manifest) this step's :meth:`apply` turned into ``doc``."""
        doc = json_copy(doc)
        for rule in reversed(self.ruleset()[kind]):
            operation(rule).revert(doc, rule, lambda pattern: self.is_new(pattern, kind))
        doc["format_version"] = self.source
        return canonical_order(self.spec, doc, self.source, kind)


MODES = ("install-time", "first-use", "read-time")  # strictest first


def strictest(modes) -> str:
    """The strictest of ``modes`` (read-time when there are none)."""
    return min(modes, key=MODES.index, default="read-time")


def settings_used(value) -> list[str]:
    """The deployment settings a rule (or any value in it) names with ``{"$deployment": NAME}``, in order."""
    if isinstance(value, dict):
        if set(value) == {"$deployment"}:
            return [value["$deployment"]]
        return [n for v in value.values() for n in settings_used(v)]
    if isinstance(value, list):
        return [n for v in value for n in settings_used(v)]
    return []


def uses_deployment(rule: dict) -> bool:
    return bool(settings_used({k: v for k, v in rule.items() if k not in ("why", "mode_why")}))


def with_settings(rule: dict, deployment: dict[str, str] | None, step: str, number: int, kind: str):
    """``rule`` with each ``{"$deployment": NAME}`` replaced by the setting's value; refused when one is missing."""
    deployment = deployment or {}

    def sub(value):
        if isinstance(value, dict):
            if set(value) == {"$deployment"}:
                name = value["$deployment"]
                if name not in deployment:
                    where = "store_rules" if kind == "store" else "rules"
                    raise ProblemError(Problem(f"schemas/upgrades/{step}.json", f"/{where}/{number - 1}",
                                               "deployment-setting-missing",
                                               f"rule {number} of {step} needs the deployment setting {name} "
                                               f"(give it as --setting {name}=VALUE)"))
                return deployment[name]
            return {k: sub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v) for v in value]
        return value
    return {k: (v if k in ("why", "mode_why") else sub(v)) for k, v in rule.items()}


def mode_problems(name: str, data: dict) -> list[Problem]:
    """Rules whose mode cannot work: a read-time rule needing the deployment, a first-use store rule."""
    out = []
    for where, rules in (("rules", data.get("rules", [])), ("store_rules", data.get("store_rules", []))):
        for i, rule in enumerate(rules):
            used = settings_used({k: v for k, v in rule.items() if k not in ("why", "mode_why")})
            if rule.get("mode") == "read-time" and used:
                out.append(Problem(name, f"/{where}/{i}/mode", "mode-impossible",
                                   f"a read-time rule is applied by every reader, which has only the record; this one "
                                   f"needs the deployment setting {used[0]}: make it first-use or install-time"))
            if where == "store_rules" and rule.get("mode") == "first-use":
                out.append(Problem(name, f"/{where}/{i}/mode", "mode-impossible",
                                   "a store manifest has no first use (its rules apply when the store's upgrade "
                                   "finishes): make it install-time or read-time"))
    return out


def _order_of(spec: Spec, kind: str, version: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The property names ``kind``'s schema lists at ``version``, in order, and ``(name, $ref)`` of those whose
    items are referenced schemas (computed once per spec tree)."""
    def make():
        props = spec.schema(kind, version).get("properties", {})
        refs = tuple((key, ref) for key, node in props.items()
                     if (ref := node.get("items", {}).get("$ref") if isinstance(node, dict) else None))
        return tuple(props), refs
    return spec.once(("canonical-order", kind, version), make)


def canonical_order(spec: Spec, doc: dict, version: str, kind: str = "image") -> dict:
    """``doc`` with keys in the order its schema lists them (items of referenced objects too)."""
    names, refs = _order_of(spec, kind, version)
    out = {k: doc[k] for k in names if k in doc}
    if len(out) != len(doc):
        out.update((k, v) for k, v in doc.items() if k not in out)
    for key, ref in refs:
        if isinstance(out.get(key), list):
            sub, target = spec.referenced(version, ref)
            if target.get("type") == "object":
                out[key] = [canonical_order(spec, i, version, sub) if isinstance(i, dict) else i for i in out[key]]
    return out


def load_steps(spec: Spec) -> dict[str, Step]:
    """Every step file, checked against ``step.schema.json``; keyed by its ``from`` version (read once)."""
    return spec.once(("steps",), lambda: read_steps(spec))


def read_steps(spec: Spec) -> dict[str, Step]:
    """Read and check every step file now."""
    from jsonschema import Draft202012Validator


    meta = spec.load("schemas/upgrades/step.schema.json")
    checker = Draft202012Validator(meta, registry=registry.of(spec), format_checker=FORMAT_CHECKER)
    steps, problems = {}, []
    for path in spec.upgrade_files():
        name = spec.rel(path)
        data = spec.load(path)
        for e in checker.iter_errors(data):
            problems.append(problem(e, name))
        if not problems:
            problems += mode_problems(name, data)
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
                                   f"the record is {source}; it cannot be read as the older {target} (readers never "
                                   "downgrade)"))
    steps = load_steps(spec)
    out = []
    for v in versions[versions.index(source):versions.index(target)]:
        if v not in steps:
            raise ProblemError(Problem("schemas/upgrades", "", "missing-step", f"no upgrade rules from {v}"))
        out.append(steps[v])
    return tuple(out)
