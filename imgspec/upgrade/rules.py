"""Upgrade steps as data: each ``schemas/upgrades/<from>-<to>.json`` holds the rules.

This module executes the rules; it knows four operations and nothing about any
particular field:

``add``     write a default where a field did not exist
``map``     derive a value from conditions on the record (``is_public`` -> ``visibility``)
``wrap``    turn one value into the only item of a new list (``location`` -> ``locations``)
``rename``  move a value to a new key

Every operation also has an inverse (:meth:`Step.revert`), used by the tests to
prove that an upgrade loses nothing: reverting an upgraded record gives back
the original.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .. import pointer as ptr
from ..problems import Problem, ProblemError
from ..spec import Spec, version_key


def same(a, b) -> bool:
    """JSON equality (``True`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is not type(ptr.MISSING)


def json_copy(value):
    """A deep copy of a JSON value (several times faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value


def holds(doc, cond: dict, prefix: list) -> bool:
    value = ptr.get(doc, ptr.resolve(cond["at"], prefix))
    if "equals" in cond:
        return same(value, cond["equals"])
    if "in" in cond:
        return any(same(value, x) for x in cond["in"])
    if "contains" in cond:
        return isinstance(value, list) and any(
            isinstance(item, dict) and all(k in item and same(item[k], v) for k, v in cond["contains"].items())
            for item in value)
    raise ValueError(f"unknown condition {cond}")


def _apply_mapping(doc, mapping: dict, touched: list | None = None):
    targets = ptr.expand(doc, mapping["path"])
    values = []
    for tokens in targets:
        prefix = ptr.item_prefix(mapping["path"], tokens)
        for case in mapping["cases"]:
            if all(holds(doc, c, prefix) for c in case["when"]):
                values.append(json_copy(case["value"]))
                break
        else:
            values.append(json_copy(mapping["otherwise"]) if "otherwise" in mapping else ptr.MISSING)
    for tokens, value in zip(targets, values):  # conditions read the record as it was
        if value is not ptr.MISSING and not same(ptr.get(doc, tokens), value):
            ptr.set_(doc, tokens, value)
            if touched is not None:
                touched.append(tokens)


def _substitute(pattern: str, concrete: list) -> list:
    """``pattern``'s tokens with each ``*`` replaced by the index ``concrete`` has there."""
    indexes = iter(t for t, p in zip(concrete, ptr.parse(pattern)) if p == "*")
    return [next(indexes) if t == "*" else t for t in ptr.parse(pattern)]


def _render(template, value, doc):
    if isinstance(template, dict):
        if template == {"$from": True}:
            return json_copy(value)
        if set(template) == {"$at"}:
            return json_copy(ptr.get(doc, ptr.parse(template["$at"])))
        return {k: _render(v, value, doc) for k, v in template.items()}
    return json_copy(template)


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
            op = rule["op"]
            if op == "add":
                for tokens in ptr.expand(doc, rule["path"]):
                    if ptr.get(doc, tokens) is ptr.MISSING:
                        ptr.set_(doc, tokens, json_copy(rule["value"]))
                        note(tokens)
            elif op == "map":
                _apply_mapping(doc, rule, touched)
                for pattern in rule.get("consumes", []):
                    for tokens in ptr.expand(doc, pattern):
                        if ptr.get(doc, tokens) is not ptr.MISSING:
                            ptr.remove(doc, tokens)
                            note(tokens)
            elif op == "wrap":
                src, dst = ptr.parse(rule["from"]), ptr.parse(rule["to"])
                value = ptr.get(doc, src)
                if value is not ptr.MISSING:
                    ptr.set_(doc, dst, [] if value is None else [_render(rule["item"], value, doc)])
                    ptr.remove(doc, src)
                    note(src)
                    note(dst)
            elif op == "rename":
                for tokens in ptr.expand(doc, rule["from"]):
                    value = ptr.get(doc, tokens)
                    if value is ptr.MISSING:
                        continue
                    dst = _substitute(rule["to"], tokens)
                    existing = ptr.get(doc, dst)
                    if existing is not ptr.MISSING:
                        if "conflict" not in rule:
                            raise ProblemError(Problem("<record>", ptr.render(dst), "rename-conflict",
                                                       f"cannot rename {ptr.render(tokens)}: the target already exists"))
                        keep = _substitute(rule["conflict"], tokens)
                        if ptr.get(doc, keep) is not ptr.MISSING:
                            raise ProblemError(Problem("<record>", ptr.render(keep), "rename-conflict",
                                                       "cannot keep the value the rename replaces: the place for it is taken"))
                        ptr.set_(doc, keep, existing)
                        note(keep)
                    ptr.set_(doc, dst, value)
                    ptr.remove(doc, tokens)
                    note(tokens)
                    note(dst)
            else:
                raise ValueError(f"unknown op {op!r} in {self.path}")
        doc["format_version"] = self.target
        return canonical_order(doc, self.spec, self.target, kind) if order else doc

    # -- backward (the proof that nothing is lost) ---------------------------
    def revert(self, doc: dict, kind: str = "image") -> dict:
        """The record (or manifest) this step's :meth:`apply` turned into ``doc``."""
        doc = json_copy(doc)
        for rule in reversed(self.ruleset()[kind]):
            op = rule["op"]
            if op == "add":
                for tokens in ptr.expand(doc, rule["path"]):
                    ptr.remove(doc, tokens)
            elif op == "map":
                if "inverse" in rule:
                    _apply_mapping(doc, rule["inverse"])
                if self.is_new(rule["path"], kind):
                    for tokens in ptr.expand(doc, rule["path"]):
                        ptr.remove(doc, tokens)
            elif op == "wrap":
                items = ptr.get(doc, ptr.parse(rule["to"]))
                key = next(k for k, v in rule["item"].items() if v == {"$from": True})
                ptr.set_(doc, ptr.parse(rule["from"]), items[0][key] if items else None)
                ptr.remove(doc, ptr.parse(rule["to"]))
            elif op == "rename":
                for tokens in ptr.expand(doc, rule["to"]):
                    value = ptr.get(doc, tokens)
                    if value is ptr.MISSING:
                        continue
                    ptr.set_(doc, _substitute(rule["from"], tokens), value)
                    ptr.remove(doc, tokens)
                    if "conflict" in rule:
                        keep = _substitute(rule["conflict"], tokens)
                        kept = ptr.get(doc, keep)
                        if kept is not ptr.MISSING:
                            ptr.set_(doc, tokens, kept)
                            ptr.remove(doc, keep)
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
    """Every step file, checked against ``step.schema.json``; keyed by its ``from`` version."""
    return _load_steps(spec._resolved_root)


@functools.lru_cache(maxsize=8)
def _load_steps(root) -> dict[str, Step]:
    spec = Spec(root)
    from ..validation import FORMAT_CHECKER
    from ..registry import registry
    from jsonschema import Draft202012Validator

    meta = spec.load("schemas/upgrades/step.schema.json")
    checker = Draft202012Validator(meta, registry=registry(spec), format_checker=FORMAT_CHECKER)
    steps, problems = {}, []
    for path in spec.upgrade_files():
        name = spec.rel(path)
        data = spec.load(path)
        for e in checker.iter_errors(data):
            problems.append(Problem(name, ptr.render(e.absolute_path), str(e.validator), e.message))
        if not problems and path.stem != f"{data['from']}-{data['to']}":
            problems.append(Problem(name, "", "file-name", f"a step from {data['from']} to {data['to']} lives in {data['from']}-{data['to']}.json"))
        if not problems:
            steps[data["from"]] = Step(path, data, spec)
    if problems:
        raise ProblemError(problems)
    return steps


def chain(spec: Spec, source: str, target: str) -> list[Step]:
    """The steps from ``source`` to ``target``, in order."""
    return list(_chain(spec._resolved_root, source, target))


@functools.lru_cache(maxsize=64)
def _chain(root, source: str, target: str) -> tuple[Step, ...]:
    spec = Spec(root)
    versions = spec.versions
    for v in (source, target):
        spec.release(v)
    if version_key(target) < version_key(source):
        raise ProblemError(Problem("<record>", "/format_version", "downgrade-refused",
                                   f"cannot upgrade a {source} record to the older version {target}"))
    steps = _load_steps(root)
    out = []
    for v in versions[versions.index(source):versions.index(target)]:
        if v not in steps:
            raise ProblemError(Problem("schemas/upgrades", "", "missing-step", f"no upgrade rules from {v}"))
        out.append(steps[v])
    return tuple(out)
