"""What a change between two versions of the record schemas means for stored records.

Rules (for stored records, whose readers fill in defaults; see the review page):

compatible     loosened bound, extended enum, widened type, optional field added to a
               closed object, field no longer required, object opened
version        ``format_version`` and ``$id`` moving to the new version (expected)
needs-default  a required field that old records lack: an upgrade rule must write it
meaning-changed  a value valid at both versions that the upgrade rewrites: it means something else at the new
               one; found from the upgrade rules (:func:`meaning_changes`), declared in the new version's entry
               of releases.json
breaking       field removed or renamed, narrowed type, enum or bound, new bound,
               pattern or format (a pattern that only widens a character class, or
               that states the grammar the field's ``format`` already asserts, is
               compatible), object closed, typed field added to an open object,
               changed ``additionalProperties`` values, changed ``$ref`` or ``$id``

A change that is not compatible is *covered* when the version step's upgrade
rules touch the field it concerns; :func:`uncovered` lists the others.
"""
from __future__ import annotations

import re
import re._parser as sre  # the standard library's own regular expression parser
from dataclasses import dataclass
from pathlib import Path

from imgspec import jsonfile
from imgspec.format import examples as ex
from imgspec.format.formats import PATTERNS
from imgspec.format.validation import errors
from imgspec.pointer import render
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec
from imgspec.text import json_text
from imgspec.upgrade import load_steps
from imgspec.upgrade.operations import operation

ORDER = {"breaking": 0, "needs-default": 1, "meaning-changed": 2, "compatible": 3, "version": 4}
NOT_COMPATIBLE = ("breaking", "needs-default")
UPPER = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum", "maxContains")
LOWER = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum", "minContains")
SUBSCHEMAS = ("items", "propertyNames", "contains", "not")
IGNORED = {"description", "title", "$comment", "$schema", "examples"}


def states_format(node: dict, pattern: str) -> bool:
    """Whether ``pattern`` is the grammar the node's ``format`` already asserts (imgspec.format.formats), so adds nothing."""
    return node.get("format") in PATTERNS and PATTERNS[node["format"]] == pattern


@dataclass(frozen=True)
class Change:
    kind: str
    pointer: str          # where in the schema (new one; old one for removals)
    record: str           # the record field it concerns, as a pointer pattern (``*`` for every item), in the new version
    category: str
    rule: str
    detail: str
    was: str | None = None  # the same field's pointer in the old version, where the object moved (``location``)

    @property
    def records(self) -> tuple[str, ...]:
        """Every pointer the change concerns: the old one first where it differs."""
        return (self.record,) if self.was is None else (self.was, self.record)

    @property
    def shown(self) -> str:
        """The field as a reader of the change reads it: ``old|new`` where the object moved."""
        return "|".join(self.records)

    def line(self) -> str:
        return f"{self.category.upper():13} {self.kind:8} {self.shown or '/':34} {self.rule}: {self.detail}"


def _types(node: dict) -> set[str] | None:
    t = node.get("type")
    return None if t is None else {t} if isinstance(t, str) else set(t)


class _Walker:
    def __init__(self, kind: str, old_version: str, new_version: str):
        self.kind, self.old_v, self.new_v = kind, old_version, new_version
        self.out: list[Change] = []

    def add(self, pointer, record, category, rule, detail):
        self.out.append(Change(self.kind, render(pointer), render(record), category, rule, detail))

    def compare(self, old: dict, new: dict, at: list, record: list, open_parent: bool = False):
        """Every keyword check of :data:`KEYWORD_CHECKS` in order; a check that returns True ends the comparison
        (a different kind of value: its other keywords are not comparable)."""
        for check in KEYWORD_CHECKS:
            if check(self, old, new, at, record):
                return

    def _id(self, old: dict, new: dict, at: list, record: list) -> bool:
        """``$id``: a version step, or a changed identity."""
        if old.get("$id") != new.get("$id") and "$id" in old | new:
            expected = str(old.get("$id", "")).replace(f"/{self.old_v}/", f"/{self.new_v}/")
            if new.get("$id") == expected:
                self.add(at + ["$id"], record, "version", "id-version", f"{old.get('$id')} -> {new.get('$id')}")
            else:
                self.add(at + ["$id"], record, "breaking", "id-changed", f"{old.get('$id')} -> {new.get('$id')}")
        return False

    def _const(self, old: dict, new: dict, at: list, record: list) -> bool:
        """``const``: the format version, or a changed constant."""
        if ("const" in old or "const" in new) and old.get("const") != new.get("const"):
            moved = f"{json_text(old.get('const'))} -> {json_text(new.get('const'))}"
            if record == ["format_version"] or old.get("const") == self.old_v:
                self.add(at + ["const"], record, "version", "format-version", moved)
            else:
                self.add(at + ["const"], record, "breaking", "const-changed", moved)
        return False

    def _ref(self, old: dict, new: dict, at: list, record: list) -> bool:
        """``$ref``: another schema."""
        if old.get("$ref") != new.get("$ref"):
            self.add(at + ["$ref"], record, "breaking", "ref-changed", f"{old.get('$ref')} -> {new.get('$ref')}")
        return False

    def _type(self, old: dict, new: dict, at: list, record: list) -> bool:
        """``type``: widened, narrowed or changed."""
        ot, nt = _types(old), _types(new)
        was, now = json_text(sorted(ot or ())), json_text(sorted(nt)) if nt else "any"
        if ot and nt and not ot & nt and not ("$ref" in old or "$ref" in new):
            self.add(at + ["type"], record, "breaking", "type-changed", f"{was} -> {now}")
            return True  # a different kind of value: its other keywords are not comparable
        if ot != nt and not ("$ref" in old or "$ref" in new):
            if ot is None:
                self.add(at + ["type"], record, "breaking", "type-narrowed", f"any -> {json_text(sorted(nt or ()))}")
            elif nt is None or ot < nt:
                self.add(at + ["type"], record, "compatible", "type-widened", f"{was} -> {now}")
            elif nt < ot:
                self.add(at + ["type"], record, "breaking", "type-narrowed", f"{was} -> {now}")
            else:
                self.add(at + ["type"], record, "breaking", "type-changed", f"{was} -> {now}")
        return False

    def _enum(self, old: dict, new: dict, at: list, record: list) -> bool:
        """``enum``: values added or removed."""
        if "enum" in old or "enum" in new:
            oe, ne = old.get("enum"), new.get("enum")
            if oe is None:
                self.add(at + ["enum"], record, "breaking", "enum-added", f"now one of {json_text(ne)}")
            elif ne is None:
                self.add(at + ["enum"], record, "compatible", "enum-removed", f"was one of {json_text(oe)}")
            else:
                gone = [v for v in oe if v not in ne]
                extra = [v for v in ne if v not in oe]
                if gone:
                    self.add(at + ["enum"], record, "breaking", "enum-narrowed", f"removed {json_text(gone)}")
                if extra:
                    self.add(at + ["enum"], record, "compatible", "enum-extended", f"added {json_text(extra)}")
        return False

    def _limits(self, old: dict, new: dict, at: list, record: list) -> bool:
        """bounds (``maxLength``, ``minimum``...): loosened or tightened."""
        for key in UPPER + LOWER:
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            tighter = (b is not None and (a is None or (b < a if key in UPPER else b > a)))
            rule = "limit-added" if a is None else "limit-removed" if b is None else (
                "limit-narrowed" if tighter else "limit-loosened")
            self.add(at + [key], record, "breaking" if tighter else "compatible", rule, f"{key} {a} -> {b}")
        return False

    def _pattern_format(self, old: dict, new: dict, at: list, record: list) -> bool:
        """``pattern`` and ``format``."""
        for key in ("pattern", "format"):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            if key == "pattern" and a is not None and b is not None and pattern_widens(a, b):
                self.add(at + [key], record, "compatible", "pattern-widened", f"{a} -> {b}")
            elif key == "pattern" and a is None and isinstance(b, str) and states_format(new, b):
                self.add(at + [key], record, "compatible", "pattern-states-format",
                         f"the grammar `format: {new['format']}` already asserts, now also as a pattern")
            else:
                self.add(at + [key], record, "compatible" if b is None else "breaking",
                         f"{key}-{'removed' if b is None else 'added' if a is None else 'changed'}", f"{a} -> {b}")
        return False

    def _unique(self, old: dict, new: dict, at: list, record: list) -> bool:
        """``uniqueItems``."""
        if bool(old.get("uniqueItems")) != bool(new.get("uniqueItems")):
            tight = bool(new.get("uniqueItems"))
            self.add(at + ["uniqueItems"], record, "breaking" if tight else "compatible",
                     "unique-added" if tight else "unique-removed", f"{old.get('uniqueItems')} -> {new.get('uniqueItems')}")
        return False

    def _default(self, old: dict, new: dict, at: list, record: list) -> bool:
        """``default``: what writers write."""
        if old.get("default") != new.get("default") and ("default" in old or "default" in new):
            self.add(at + ["default"], record, "compatible", "default-changed",
                     f"writers' default {json_text(old.get('default'))} -> {json_text(new.get('default'))}")
        return False

    def _subschemas(self, old: dict, new: dict, at: list, record: list) -> bool:
        """subschemas (``items``, ``propertyNames``...), compared in turn."""
        for key in SUBSCHEMAS:
            a, b = old.get(key), new.get(key)
            if isinstance(a, dict) or isinstance(b, dict):
                sub_record = record + ["*"] if key == "items" else record
                if a is None:
                    self.add(at + [key], record, "breaking", "constraint-added", f"{key}: {json_text(b)}")
                elif b is None:
                    self.add(at + [key], record, "compatible", "constraint-removed", f"{key}: {json_text(a)}")
                else:
                    self.compare(a, b, at + [key], sub_record)
        return False

    def _object_check(self, old: dict, new: dict, at: list, record: list) -> bool:
        """``additionalProperties``, ``properties`` and ``required``."""
        self._object(old, new, at, record)
        return False

    def _object(self, old, new, at, record):
        oa, na = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if oa != na:
            if na is False:
                self.add(at + ["additionalProperties"], record, "breaking", "object-closed",
                         "undeclared fields are no longer allowed")
            elif oa is False:
                self.add(at + ["additionalProperties"], record, "compatible", "object-opened",
                         "undeclared fields are now allowed")
            elif isinstance(oa, dict) and isinstance(na, dict):
                self.compare(oa, na, at + ["additionalProperties"], record + ["*"])
            else:
                self.add(at + ["additionalProperties"], record, "breaking", "additional-changed",
                         f"additionalProperties {json_text(oa)} -> {json_text(na)}")
        op, np_ = old.get("properties", {}), new.get("properties", {})
        oreq, nreq = set(old.get("required", [])), set(new.get("required", []))
        removed = [k for k in op if k not in np_]
        added = [k for k in np_ if k not in op]
        strip = lambda s: {k: v for k, v in s.items() if k not in IGNORED}  # noqa: E731
        renamed: dict[str, str] = {}
        for r in removed:
            for a in added:
                if a not in renamed.values() and strip(op[r]) == strip(np_[a]):
                    renamed[r] = a
                    break
        for r, a in renamed.items():
            self.add(at + ["properties", a], record + [a], "breaking", "field-renamed", f"{r} -> {a}")
        for r in removed:
            if r not in renamed:
                self.add(at + ["properties", r], record + [r], "breaking", "field-removed", f"{r} is gone")
        open_model = oa is not False
        for a in added:
            if a in renamed.values():
                continue
            if open_model:
                self.add(at + ["properties", a], record + [a], "breaking", "typed-field-on-open-object",
                         f"{a} added where old records may already hold it with any value")
            elif a in nreq:
                self.add(at + ["properties", a], record + [a], "needs-default", "field-added-required",
                         f"{a} is new and required: old records need a default")
            else:
                self.add(at + ["properties", a], record + [a], "compatible", "field-added-optional", f"{a} is new")
        for k in op:
            if k in np_:
                if k in nreq and k not in oreq:
                    self.add(at + ["required"], record + [k], "needs-default", "became-required", f"{k} is now required")
                elif k in oreq and k not in nreq:
                    self.add(at + ["required"], record + [k], "compatible", "no-longer-required", f"{k} is now optional")
                self.compare(op[k], np_[k], at + ["properties", k], record + [k])


# The keyword checks of a schema comparison, in the order their changes are reported: one function per keyword
# (or family of keywords), as the API diff's CHECKS table has one per part of the document.
KEYWORD_CHECKS = (_Walker._id, _Walker._const, _Walker._ref, _Walker._type, _Walker._enum, _Walker._limits,
                  _Walker._pattern_format, _Walker._unique, _Walker._default, _Walker._subschemas,
                  _Walker._object_check)


def _charset(items) -> set[int] | None:
    """The code points a character class matches, or None where it cannot be listed (categories, negation)."""
    out: set[int] = set()
    for op, av in items:
        if op is sre.LITERAL:
            out.add(av)
        elif op is sre.RANGE and av[1] - av[0] < 0x3000:
            out.update(range(av[0], av[1] + 1))
        else:
            return None
    return out


def _subsumes(old, new) -> bool:
    """Whether parsed pattern ``new`` has ``old``'s structure with each character class equal or wider."""
    if len(old) != len(new):
        return False
    for (op_a, av_a), (op_b, av_b) in zip(old, new, strict=True):
        if op_a is sre.LITERAL and op_b is sre.IN:
            av_a, op_a = [(sre.LITERAL, av_a)], sre.IN
        if op_a is not op_b:
            return False
        if op_a is sre.IN:
            a, b = _charset(av_a), _charset(av_b)
            if a is None or b is None or not a <= b:
                return False
        elif op_a in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            if av_a[:2] != av_b[:2] or not _subsumes(list(av_a[2]), list(av_b[2])):
                return False
        elif op_a is sre.SUBPATTERN:
            if av_a[:3] != av_b[:3] or not _subsumes(list(av_a[3]), list(av_b[3])):
                return False
        elif op_a is sre.BRANCH:
            if len(av_a[1]) != len(av_b[1]) or not all(
                    _subsumes(list(x), list(y)) for x, y in zip(av_a[1], av_b[1], strict=True)):
                return False
        elif av_a != av_b:
            return False
    return True


def pattern_widens(old: str, new: str) -> bool:
    """Whether every string ``old`` matches is matched by ``new``, shown structurally: the same pattern with
    character classes only widened (``[0-9a-f]`` -> ``[0-9a-fA-F]``).  False when it cannot be shown."""
    try:
        a, b = list(sre.parse(old)), list(sre.parse(new))
        return _subsumes(a, b) or _an_alternative_subsumes(a, b)
    except (re.error, TypeError, ValueError):
        return False


def _an_alternative_subsumes(old: list, new: list) -> bool:
    """Whether ``new`` is ``^(X|Y|...)$`` and one of its alternatives subsumes ``old``'s ``^...$`` body: an anchored
    pattern widened by alternatives (``^A$`` -> ``^(A|B)$``)."""
    at = (sre.AT, sre.AT_BEGINNING), (sre.AT, sre.AT_END)
    if len(new) != 3 or (new[0], new[2]) != at or len(old) < 2 or (old[0], old[-1]) != at:
        return False
    op, av = new[1]
    if op is not sre.SUBPATTERN or av[1:3] != (0, 0):
        return False
    inner = list(av[3])
    if len(inner) != 1 or inner[0][0] is not sre.BRANCH:
        return False
    body = old[1:-1]
    return any(_subsumes(body, list(alt)) for alt in inner[0][1][1])


def compare_schemas(kind: str, old: dict, new: dict, old_version: str, new_version: str) -> list[Change]:
    walker = _Walker(kind, old_version, new_version)
    with jsonfile.deep_enough():  # schemas as deep as the reader's limit: the walk recurses once per level
        walker.compare(old, new, [], [])
    return sorted(walker.out, key=lambda c: (ORDER[c.category], c.record, c.rule))


def _load_dir(spec: Spec, source: str) -> tuple[str, dict[str, dict]]:
    """(version, {kind: schema}) from a version name or a folder of schema files."""
    if source in spec.versions:
        return source, {k: spec.schema(k, source) for k in spec.kinds(source)}
    folder = Path(source)
    if not folder.is_dir():
        raise ProblemError(Problem(source, "", "not-a-version",
                                   f"neither a format version ({', '.join(spec.versions)}) nor a folder of schema files"
                                   + (" (an OpenAPI document? imgspec diff --api OLD NEW)" if folder.is_file() else "")))
    docs = {p.stem: jsonfile.load(p) for p in sorted(folder.glob("*.json"))}
    if not docs:
        raise ProblemError(Problem(source, "", "not-a-version", "the folder holds no schema files (*.json): nothing "
                                   "to compare, which is no proof that nothing changed"))
    for name, doc in docs.items():
        if not isinstance(doc, dict):
            raise ProblemError(Problem(f"{source}/{name}.json", "", "not-a-schema", "a schema is a JSON object"))
        declared = doc.get("properties", {}).get("format_version") if isinstance(doc.get("properties"), dict) else None
        if declared is not None and not (isinstance(declared, dict) and isinstance(declared.get("const"), str)):
            raise ProblemError(Problem(f"{source}/{name}.json", "/properties/format_version", "not-a-schema",
                                       "format_version must state its version as a const string"))
    version = next((d["properties"]["format_version"]["const"] for d in docs.values()
                    if "format_version" in d.get("properties", {})), folder.name)
    return version, docs


def kind_prefix(spec_docs: dict[str, dict], kind: str) -> str:
    """Where objects of ``kind`` sit in an image record of that version (pointer pattern)."""
    if kind in ("image", "store"):
        return ""
    for name, node in spec_docs.get("image", {}).get("properties", {}).items():
        if node.get("$ref") == f"{kind}.json":
            return f"/{name}"
        if node.get("items", {}).get("$ref") == f"{kind}.json":
            return f"/{name}/*"
    return f"/({kind})"


def diff(spec: Spec, old: str, new: str) -> tuple[str, str, list[Change]]:
    """Every change from ``old`` to ``new`` (versions or folders), per object kind."""
    ov, odocs = _load_dir(spec, old)
    nv, ndocs = _load_dir(spec, new)
    changes = []
    for kind in [k for k in odocs if k in ndocs]:
        before, after = kind_prefix(odocs, kind), kind_prefix(ndocs, kind)
        for c in compare_schemas(kind, odocs[kind], ndocs[kind], ov, nv):
            changes.append(Change(c.kind, c.pointer, after + c.record, c.category, c.rule, c.detail,
                                  was=None if before == after else before + c.record))
    for kind in odocs:
        if kind not in ndocs:
            changes.append(Change(kind, "", kind_prefix(odocs, kind), "breaking", "object-removed", f"{kind}.json is gone"))
    for kind in ndocs:
        if kind not in odocs:
            changes.append(Change(kind, "", kind_prefix(ndocs, kind), "compatible", "object-added", f"{kind}.json is new"))
    return ov, nv, sorted(changes, key=lambda c: (ORDER[c.category], c.kind != "image", c.kind, c.shown, c.rule))


def covering_rule(change: Change, ruleset: dict[str, list[dict]] | None) -> int | None:
    """The number (1-based) of the first rule that touches the field of ``change``, if any.

    ``ruleset`` is a step's rules by what they upgrade: ``image`` records or the ``store`` manifest.
    """
    if not ruleset:
        return None
    rules = ruleset["store"] if change.kind in ("store", "placement") else ruleset["image"]
    for i, rule in enumerate(rules, 1):
        for path in operation(rule).paths(rule):
            for record in change.records:
                if path == record or path.startswith(record + "/") or record.startswith(path + "/") or record == "":
                    if record == "" and path != "":
                        continue
                    return i
    return None


def uncovered(changes: list[Change], ruleset: dict[str, list[dict]] | None) -> list[Change]:
    """Non-compatible changes that no upgrade rule covers (all of them when there are no rules)."""
    return [c for c in changes if c.category in NOT_COMPATIBLE and covering_rule(c, ruleset) is None]


def markdown(old: str, new: str, changes: list[Change], rules: dict[str, list[dict]] | None,
             declared: dict[str, str] | None = None) -> str:
    lines = [f"### Record format {old} → {new}", "",
             "| category | object | field | change | covered by |", "| --- | --- | --- | --- | --- |"]
    for c in changes:
        cover = ""
        if c.category in NOT_COMPATIBLE:
            n = covering_rule(c, rules)
            cover = (f"store rule {n}" if c.kind in ("store", "placement") else f"rule {n}") if n else "**not covered**"
        elif c.category == "meaning-changed":
            cover = "declared" if c.record in (declared or {}) else "**not declared**"
        lines.append(f"| {c.category} | {c.kind} | `{c.shown or '/'}` | {c.rule}: {c.detail} | {cover} |")
    bad = uncovered(changes, rules)
    lines += ["", f"{len(bad)} non-compatible change(s) not covered by an upgrade rule."]
    return "\n".join(lines) + "\n"


# -- changes of meaning -------------------------------------------------------------------------------------------
# A schema diff cannot see a value that stays valid but means something else at the new version (2.0's `private`
# covered images shared with members; 2.1's does not). The upgrade rules show it: they rewrite a value that the
# new version would still accept as it stands. Such a field is a change of meaning; the release entry of the new
# version in schemas/releases.json must declare it (``meaning_changes``), and `imgspec diff` fails when it does not.

def _leaves(doc, at: str = "") -> dict[str, object]:
    """Every scalar of a record by pointer (iteratively)."""
    out: dict[str, object] = {}
    stack = [(doc, at)]
    while stack:
        node, here = stack.pop()
        if isinstance(node, dict) and node:
            stack += [(v, f"{here}/{k.replace('~', '~0').replace('/', '~1')}") for k, v in node.items()]
        elif isinstance(node, list) and node:
            stack += [(v, f"{here}/{i}") for i, v in enumerate(node)]
        else:
            out[here] = node
    return out


def _pattern(pointer: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/*", pointer)


def meaning_changes(spec: Spec, old: str, new: str) -> list[Change]:
    """Fields whose value the step from ``old`` to ``new`` rewrites in some valid example of ``old`` although the
    value, left as it was, stays valid at ``new``: the same value means something else there."""
    steps = load_steps(spec)
    step = steps.get(old)
    if step is None or step.target != new:
        return []
    found: dict[str, tuple[str, object, object]] = {}
    for e in ex.record_examples(spec):
        if not e.valid or e.version != old or e.kind != "image":
            continue
        doc = spec.load_once(e.path)
        upgraded = step.apply(doc)
        before, after = _leaves(doc), _leaves(upgraded)
        for pointer, value in before.items():
            if pointer == "/format_version" or pointer not in after or after[pointer] == value:
                continue
            kept = jsonfile.loads(jsonfile.dumps(upgraded))
            tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
            node = kept
            for t in tokens[:-1]:
                node = node[int(t)] if isinstance(node, list) else node[t]
            node[int(tokens[-1]) if isinstance(node, list) else tokens[-1]] = value
            if not errors(kept, "image", new, spec.rel(e.path), spec):  # the old value is still valid at new
                found.setdefault(_pattern(pointer), (e.slug, value, after[pointer]))
    return [Change("image", "", field, "meaning-changed", "value-reinterpreted",
                   f"{json_text(was)} -> {json_text(now)} in example {slug}: the {old} value stays valid at {new} "
                   "but the upgrade rewrites it")
            for field, (slug, was, now) in sorted(found.items())]


def declared_meaning_changes(spec: Spec, version: str) -> dict[str, str]:
    """The changes of meaning the release entry of ``version`` declares: field pattern -> what changed."""
    for entry in spec.load("schemas/releases.json")["record"]:
        if entry["version"] == version:
            return {m["field"]: m["what"] for m in entry.get("meaning_changes", [])}
    return {}


def undeclared_meaning_changes(spec: Spec, old: str, new: str) -> list[Change]:
    declared = declared_meaning_changes(spec, new)
    return [c for c in meaning_changes(spec, old, new) if c.record not in declared]
