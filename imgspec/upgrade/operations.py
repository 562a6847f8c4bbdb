"""The operations of the upgrade rule language: one entry per operation, in one table.

Each :class:`RuleOperation` says everything the project knows about one ``op`` of
``schemas/upgrades/*.json``, the way ``jsonschema`` keeps one function per keyword:

``apply``     what the upgrade does to a record (in place; ``note`` receives each token path it sets or removes)
``revert``    its inverse, used to prove that an upgrade loses nothing
``describe``  the rule in words for the step pages: (kind, field, what it does)
``paths``     the record fields (pointer patterns) the rule touches, used by ``imgspec diff``

The operations:

``add``     write a default where a field did not exist
``map``     derive a value from conditions on the record (``is_public`` -> ``visibility``)
``wrap``    turn one value into the only item of a new list (``location`` -> ``locations``)
``rename``  move a value to a new key
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

from imgspec import jsonfile
from imgspec import pointer as ptr
from imgspec.format.validation import Validator
from imgspec.problems import Problem, ProblemError
from imgspec.text import code

Note = Callable[[list], None]
IsNew = Callable[[str], bool]  # whether the field a pattern names is new in the step's target version


def same(a, b) -> bool:
    """JSON equality (``True`` is not ``1``), at any depth (no recursion)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, bool) or isinstance(y, bool):
            if type(x) is not type(y) or x != y:
                return False
        elif isinstance(x, dict) and isinstance(y, dict):
            if x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, dict | list) or isinstance(y, dict | list):
            return False
        elif x != y or type(x) is type(ptr.MISSING):
            return False
    return True


def json_copy(value):
    """A deep copy of a JSON value, at any depth: recursive (fast) where it is shallow, with a stack otherwise."""
    try:
        return _copy(value)
    except RecursionError:
        return _copy_deep(value)


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _copy_deep(value):
    """As :func:`_copy`, with an explicit stack (documents nested deeper than Python's recursion limit)."""
    if not isinstance(value, dict | list):
        return value
    root: dict | list = {} if isinstance(value, dict) else []
    stack: list[tuple[dict | list, dict | list]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(item, dict | list):
                child: dict | list = {} if isinstance(item, dict) else []
                stack.append((item, child))
                item = child
            if isinstance(target, dict):
                target[key] = item
            elif isinstance(target, list):
                target.append(item)
    return root


# -- conditions and templates ------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _schema_validator(schema_text: str):
    return Validator(json.loads(schema_text))


_MATCHERS: dict[int, tuple[object, Callable[[object], bool]]] = {}  # id(schema) -> (schema, its is_valid)


def _matcher(schema) -> Callable[[object], bool]:
    """``is_valid`` of a condition's ``matches`` schema, built once per schema object (the rules' own, loaded once):
    jsonschema-rs where it is installed (Draft 2020-12, formats not asserted, as the reference), else the reference
    validator."""
    hit = _MATCHERS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    check: Callable[[object], bool]
    try:
        import jsonschema_rs
        check = jsonschema_rs.Draft202012Validator(schema, validate_formats=False).is_valid
    except ImportError:  # pragma: no cover - the fast path is optional for implementers
        reference = _schema_validator(json.dumps(schema, sort_keys=True))

        def slow(value) -> bool:
            with jsonfile.deep_enough():  # jsonschema's messages repr the instance, which recurses through it
                return reference.is_valid(value)
        check = slow
    _MATCHERS[id(schema)] = (schema, check)
    return check


def holds(doc, cond: dict, prefix: list) -> bool:
    value = ptr.get(doc, ptr.resolve(cond["at"], prefix))
    if "matches" in cond:  # a missing value matches nothing
        if value is ptr.MISSING:
            return False
        return _matcher(cond["matches"])(value)
    if "equals" in cond:
        return same(value, cond["equals"])
    if "in" in cond:
        return any(same(value, x) for x in cond["in"])
    if "contains" in cond:
        return isinstance(value, list) and any(
            isinstance(item, dict) and all(k in item and same(item[k], v) for k, v in cond["contains"].items())
            for item in value)
    raise ValueError(f"unknown condition {cond}")


def apply_mapping(doc, mapping: dict, note: Note | None = None) -> None:
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
    for tokens, value in zip(targets, values, strict=True):  # conditions read the record as it was
        if value is not ptr.MISSING and not same(ptr.get(doc, tokens), value):
            ptr.set_(doc, tokens, value)
            if note is not None:
                note(tokens)


def substitute(pattern: str, concrete: list) -> list:
    """``pattern``'s tokens with each ``*`` replaced by the index ``concrete`` has there."""
    indexes = iter(t for t, p in zip(concrete, ptr.parse(pattern), strict=True) if p == "*")
    return [next(indexes) if t == "*" else t for t in ptr.parse(pattern)]


def render_template(template, value, doc):
    if isinstance(template, dict):
        if template == {"$from": True}:
            return json_copy(value)
        if set(template) == {"$at"}:  # a copy of that field; null where the record lacks it
            return json_copy(ptr.get(doc, ptr.parse(template["$at"]), None))
        return {k: render_template(v, value, doc) for k, v in template.items()}
    return json_copy(template)


def _condition_text(c: dict) -> str:
    if "matches" in c:
        return f"`{c['at']}` is valid against the schema the rule's `matches` gives"
    if "equals" in c:
        return f"`{c['at']}` is {code(c['equals'])}"
    if "in" in c:
        return f"`{c['at']}` is one of " + ", ".join(code(v) for v in c["in"])
    return f"`{c['at']}` has an item with " + ", ".join(f"`{k}` {code(v)}" for k, v in c["contains"].items())


def _mapping_text(m: dict) -> str:
    parts = [f"{code(case['value'])} if " + " and ".join(_condition_text(c) for c in case["when"])
             for case in m["cases"]]
    parts.append(f"otherwise {code(m['otherwise'])}" if "otherwise" in m else "otherwise unchanged")
    return "; ".join(parts)


# -- add ---------------------------------------------------------------------------

def _add_apply(doc, rule, note: Note) -> None:
    for tokens in ptr.expand(doc, rule["path"]):
        if ptr.get(doc, tokens) is ptr.MISSING:
            ptr.set_(doc, tokens, json_copy(rule["value"]))
            note(tokens)


def _add_revert(doc, rule, is_new: IsNew) -> None:
    for tokens in ptr.expand(doc, rule["path"]):
        ptr.remove(doc, tokens)


def _add_describe(rule) -> tuple[str, str]:
    return f"`{rule['path']}`", f"new field: records that lack it read {code(rule['value'])}"


# -- map ---------------------------------------------------------------------------

def _map_apply(doc, rule, note: Note) -> None:
    apply_mapping(doc, rule, note)
    for pattern in rule.get("consumes", []):
        for tokens in ptr.expand(doc, pattern):
            if ptr.get(doc, tokens) is not ptr.MISSING:
                ptr.remove(doc, tokens)
                note(tokens)


def _map_revert(doc, rule, is_new: IsNew) -> None:
    if "inverse" in rule:
        apply_mapping(doc, rule["inverse"])
    if is_new(rule["path"]):
        for tokens in ptr.expand(doc, rule["path"]):
            ptr.remove(doc, tokens)


def _map_describe(rule) -> tuple[str, str]:
    what = "derived: " + _mapping_text(rule)
    if rule.get("consumes"):
        what += ". Replaces " + ", ".join(f"`{p}`" for p in rule["consumes"])
    if "inverse" in rule:
        what += f". Recovering the old value: `{rule['inverse']['path']}` = " + _mapping_text(rule["inverse"])
    return f"`{rule['path']}`", what


def _map_paths(rule) -> list[str]:
    return [rule["path"], *rule.get("consumes", []), *([rule["inverse"]["path"]] if "inverse" in rule else [])]


# -- wrap --------------------------------------------------------------------------

def _wrap_apply(doc, rule, note: Note) -> None:
    src, dst = ptr.parse(rule["from"]), ptr.parse(rule["to"])
    value = ptr.get(doc, src)
    if value is not ptr.MISSING:
        ptr.set_(doc, dst, [] if value is None else [render_template(rule["item"], value, doc)])
        ptr.remove(doc, src)
        note(list(src))
        note(list(dst))


def _wrap_revert(doc, rule, is_new: IsNew) -> None:
    items = ptr.get(doc, ptr.parse(rule["to"]))
    key = next(k for k, v in rule["item"].items() if v == {"$from": True})
    ptr.set_(doc, ptr.parse(rule["from"]), items[0][key] if items else None)
    ptr.remove(doc, ptr.parse(rule["to"]))


def _template_words(template: dict) -> str:
    """A wrap's item in words: each key with the old value, a copy of another field, or its constant."""
    parts = []
    for key, value in template.items():
        if value == {"$from": True}:
            parts.append(f"`{key}` the old value")
        elif isinstance(value, dict) and set(value) == {"$at"}:
            parts.append(f"`{key}` copied from `{value['$at']}`")
        else:
            parts.append(f"`{key}` {code(value)}")
    return ", ".join(parts)


def _wrap_describe(rule) -> tuple[str, str]:
    return (f"`{rule['from']}` → `{rule['to']}`",
            f"the value becomes the only item of the list: {_template_words(rule['item'])}; null becomes an "
            "empty list")


# -- rename ------------------------------------------------------------------------

def _rename_apply(doc, rule, note: Note) -> None:
    chosen = []  # conditions read the record as it was before this rule, as map's do
    for tokens in ptr.expand(doc, rule["from"]):
        prefix = ptr.item_prefix(rule["from"], tokens)
        if ptr.get(doc, tokens) is not ptr.MISSING and all(holds(doc, c, prefix) for c in rule.get("when", [])):
            chosen.append(tokens)
    for tokens in chosen:
        value = ptr.get(doc, tokens)
        if value is ptr.MISSING:
            continue
        dst = substitute(rule["to"], tokens)
        existing = ptr.get(doc, dst)
        if existing is not ptr.MISSING:
            if "conflict" not in rule:
                raise ProblemError(Problem("<record>", ptr.render(dst), "rename-conflict",
                                           f"cannot rename {ptr.render(tokens)}: the target already exists"))
            keep = substitute(rule["conflict"], tokens)
            if ptr.get(doc, keep) is not ptr.MISSING:
                raise ProblemError(Problem("<record>", ptr.render(keep), "rename-conflict",
                                           "cannot keep the value the rename replaces: the place for it is taken"))
            ptr.set_(doc, keep, existing)
            note(keep)
        if "leave" in rule:
            ptr.set_(doc, dst, value)
            ptr.set_(doc, tokens, json_copy(rule["leave"]))
        else:
            ptr.move(doc, tokens, dst, value)  # keeps the member's place in its object
        note(tokens)
        note(dst)


def _rename_revert(doc, rule, is_new: IsNew) -> None:
    for tokens in ptr.expand(doc, rule["to"]):
        value = ptr.get(doc, tokens)
        if value is ptr.MISSING:
            continue
        ptr.move(doc, tokens, substitute(rule["from"], tokens), value)  # over what `leave` wrote
        if "conflict" in rule:
            keep = substitute(rule["conflict"], tokens)
            kept = ptr.get(doc, keep)
            if kept is not ptr.MISSING:
                ptr.set_(doc, tokens, kept)
                ptr.remove(doc, keep)


def _rename_describe(rule) -> tuple[str, str]:
    what = "same value under the new name"
    if "when" in rule:
        what += " where " + " and ".join(_condition_text(c) for c in rule["when"])
    if "leave" in rule:
        what += f"; {code(rule['leave'])} is left in its place"
    if "conflict" in rule:
        what += f"; a value already at the new name is kept at `{rule['conflict']}`"
    return f"`{rule['from']}` → `{rule['to']}`", what


# -- the table ---------------------------------------------------------------------

@dataclass(frozen=True)
class RuleOperation:
    name: str
    label: str  # how the step pages name it
    apply: Callable[[dict, dict, Note], None]
    revert: Callable[[dict, dict, IsNew], None]
    describe: Callable[[dict], tuple[str, str]]
    paths: Callable[[dict], list[str]]


def _keys(*names: str) -> Callable[[dict], list[str]]:
    return lambda rule: [rule[n] for n in names if rule.get(n)]


OPERATIONS: dict[str, RuleOperation] = {op.name: op for op in (
    RuleOperation("add", "default", _add_apply, _add_revert, _add_describe, _keys("path")),
    RuleOperation("map", "derivation", _map_apply, _map_revert, _map_describe, _map_paths),
    RuleOperation("wrap", "restructure", _wrap_apply, _wrap_revert, _wrap_describe, _keys("from", "to")),
    RuleOperation("rename", "rename", _rename_apply, _rename_revert, _rename_describe, _keys("from", "to", "conflict")),
)}


def operation(rule: dict) -> RuleOperation:
    try:
        return OPERATIONS[rule["op"]]
    except KeyError:
        raise ValueError(f"unknown op {rule.get('op')!r}") from None


def describe(rule: dict) -> tuple[str, str, str]:
    """(kind, field, what it does) in words, with `code` spans."""
    op = operation(rule)
    return (op.label, *op.describe(rule))
