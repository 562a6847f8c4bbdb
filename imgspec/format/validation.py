"""Validating records against the format, with errors that carry a path: the one notion of "valid".

A record is valid when its schema accepts it *and* the semantic checks of its kind
find nothing.  ``validator(kind, version)`` gives the ``jsonschema`` validator (formats
checked, references resolved from the local registry only); :data:`SEMANTIC_CHECKS`
is the table of meaning beyond the schema (placement: never both, never neither),
one function per kind.  ``errors`` and ``check`` apply both and return problems as
:class:`imgspec.problems.Problem`, one per error; every caller (command line,
``imgspec check``, the examples, the Sphinx directives, upgrades and the SQL export)
asks them, so that "valid" means the same everywhere.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import regress
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

from imgspec import jsonfile
from imgspec.format import placement, profiles, registry
from imgspec.format.formats import FORMATS, PATTERNS, SURELY
from imgspec.messages import problem
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec, version_key

FORMAT_CHECKER = FormatChecker(list(Draft202012Validator.FORMAT_CHECKER.checkers))
for _name, _check in FORMATS.items():  # one definition for every validator (imgspec.format.formats)
    FORMAT_CHECKER.checks(_name)(_check)


@functools.lru_cache(maxsize=256)
def _ecma(pattern: str) -> regress.Regex:
    return regress.Regex(pattern)


def _pattern(validator, pattern, instance, schema):
    """``pattern`` as JSON Schema defines it: an ECMA-262 regular expression (``$`` is the end of the string, never
    before a final newline as in Python's ``re``), searched anywhere in the string."""
    if validator.is_type(instance, "string") and _ecma(pattern).find(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# The reference validator: Draft 2020-12 with ECMA-262 patterns (regress), as the fast path and ajv read them.
Validator = extend(Draft202012Validator, {"pattern": _pattern})


def validator(kind: str, version: str, spec: Spec | None = None) -> Draft202012Validator:
    """The validator for object ``kind`` (image, location, member, tag, store) at ``version``, built once."""
    spec = spec or Spec.default()
    if version not in spec.versions:  # named as the caller asked, not the releases file
        spec.release(version, f"imgspec.validator({kind!r}, {version!r})")
    return spec.once(("validator", kind, version), lambda: Validator(
        spec.schema(kind, version), registry=registry.of(spec), format_checker=FORMAT_CHECKER))


def fast_validator(spec: Spec, kind: str, version: str):
    """A jsonschema-rs validator built once (None where it is not installed), whose ``is_valid`` is True only for
    a valid document; False means "ask the reference validator".  Its schemas assert each ``format`` as a
    pattern every match of which satisfies it (:data:`imgspec.format.formats.SURELY`), in native code, rather
    than calling the Python format function for every value: a rare valid value the pattern leaves out (a Feb 29,
    a leap second) only costs the reference validator's time."""
    def make():
        try:
            import jsonschema_rs
        except ImportError:  # pragma: no cover - the fast path is optional for implementers
            return None
        registry.of(spec)  # the same checks as the reference path: broken schemas never validate anything
        resources = [(s["$id"], surely(s)) for s in (spec.load_once(p) for p in spec.schema_files())]
        return jsonschema_rs.validator_for(surely(spec.schema(kind, version)), registry=jsonschema_rs.Registry(resources),
                                           validate_formats=True, offline=True, formats=FORMATS)
    return spec.once(("fast-validator", kind, version), make)


_NOT_SCHEMAS = frozenset({"const", "enum", "default", "examples"})  # keywords whose values are data, not schemas


def surely(node):
    """A copy of schema ``node`` with each ``format`` of :data:`SURELY` replaced by its pattern (in ``allOf``, beside
    any ``pattern`` the schema states): stricter than ``format``, never looser."""
    if isinstance(node, list):
        return [surely(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in _NOT_SCHEMAS else
               {name: surely(sub) for name, sub in v.items()} if k in ("properties", "patternProperties", "$defs")
               else surely(v)) for k, v in node.items()}
    name = out.get("format")
    if isinstance(name, str) and name in SURELY:
        del out["format"]
        out["allOf"] = [*out.get("allOf", []), {"pattern": SURELY[name]}]
    return out


def is_valid(spec: Spec, doc, kind: str, version: str) -> bool:
    """Pass/fail against the schema only: the fast validator where it is installed and sure, else the reference."""
    fast = fast_validator(spec, kind, version)
    return bool(fast and fast.is_valid(doc)) or validator(kind, version, spec).is_valid(doc)


def detect_version(doc, source: str = "<record>", spec: Spec | None = None, line: int | None = None) -> str:
    """The format version a record declares in ``format_version``; a clear problem otherwise."""
    spec = spec or Spec.default()
    if not isinstance(doc, dict) or "format_version" not in doc:
        raise ProblemError(Problem(source, "", "format_version", "a record must be an object with a 'format_version'", line))
    version = doc["format_version"]
    if not isinstance(version, str):
        raise ProblemError(Problem(source, "/format_version", "format_version",
                                   f"format_version must be a string such as {spec.latest_released!r}, not "
                                   f"{type(version).__name__ if version is not None else 'null'} {version!r}", line))
    if version not in spec.versions:
        newest = spec.latest
        hint = (" (newer than this reader supports)"
                if isinstance(version, str) and version_key(version) > version_key(newest) else "")
        raise ProblemError(Problem(source, "/format_version", "unknown-version",
                                   f"format version {version!r} is not one of {', '.join(spec.versions)}{hint}", line))
    return version


# Files imgspec writes beside records that say what they are (validate names them instead of reading them as records)
NOT_RECORDS = {"imgspec.export-report": "the report imgspec export-sql writes beside the store it made"}


def detect_kind(doc) -> str:
    """``store`` for a manifest, ``image`` for any other record."""
    return "store" if isinstance(doc, dict) and doc.get("kind") == "imgspec.store" else "image"


def _store_policy(doc: dict, source: str) -> list[Problem]:
    """A store manifest's placement policy, when it declares one."""
    policy = doc.get("placement")
    return placement.check_policy(policy, source, "/placement") if policy else []


# Meaning beyond the schema, per record kind: each function gets a schema-valid document.
SEMANTIC_CHECKS: dict[str, Callable[[dict, str], list[Problem]]] = {
    "placement": lambda doc, source: placement.check_policy(doc, source),
    "store": _store_policy,
}


def schema_errors(doc, kind: str, version: str, source: str = "<record>", spec: Spec | None = None,
                  line: int | None = None) -> list[Problem]:
    """Every error of ``doc`` against its schema alone, sorted by pointer."""
    spec = spec or Spec.default()
    fast = fast_validator(spec, kind, version)
    if fast is not None and fast.is_valid(doc):
        return []
    v = validator(kind, version, spec)
    with jsonfile.deep_enough():  # jsonschema's messages repr the instance, which recurses through it
        found = reasons(v.iter_errors(doc))
    return sorted(problem(e, source, line) for e in found)


def reasons(found):
    """The errors, less a ``pattern`` error where the pattern only states the grammar of the node's ``format``
    (imgspec.format.formats.PATTERNS): the format check already fails there, and one reason is given once."""
    found = list(found)
    failed_format = {tuple(e.absolute_path) for e in found if e.validator == "format"}
    return [e for e in found if not (e.validator == "pattern" and tuple(e.absolute_path) in failed_format
                                     and PATTERNS.get(e.schema.get("format")) == e.schema.get("pattern"))]


def reference_errors(spec: Spec, doc, kind: str, version: str, source: str = "<record>") -> list[Problem]:
    """As :func:`errors`, on the reference validator alone (no fast path): the verdict proofs rest on."""
    v = validator(kind, version, spec)
    with jsonfile.deep_enough():
        errors_found = reasons(v.iter_errors(doc))
    found = sorted(problem(e, source)
                   for e in errors_found)
    if found or kind not in SEMANTIC_CHECKS:
        return found
    return SEMANTIC_CHECKS[kind](doc, source)


def errors(doc, kind: str, version: str, source: str = "<record>", spec: Spec | None = None,
           line: int | None = None) -> list[Problem]:
    """Every problem of ``doc`` as a ``kind`` at ``version``: schema errors, else the semantic checks'."""
    found = schema_errors(doc, kind, version, source, spec, line)
    if found or kind not in SEMANTIC_CHECKS:
        return found
    return [dataclasses.replace(p, line=line) for p in SEMANTIC_CHECKS[kind](doc, source)]


def check(doc, source: str = "<record>", spec: Spec | None = None, kind: str | None = None,
          version: str | None = None, line: int | None = None, profile: dict | None = None) -> list[Problem]:
    """Problems of a record whose kind and version are read from the record unless given.

    ``profile`` (a deployment profile, :mod:`imgspec.format.profiles`) adds its quotas to a valid image record.
    """
    if kind is None and isinstance(doc, dict) and isinstance(doc.get("kind"), str) and doc["kind"] in NOT_RECORDS:
        return [Problem(source, "/kind", "not-a-record", f"{NOT_RECORDS[doc['kind']]} (kind {doc['kind']}), not a "
                        "record: nothing of the format to validate", line)]
    try:
        version = version or detect_version(doc, source, spec, line)
    except ProblemError as exc:
        return exc.problems
    kind = kind or detect_kind(doc)
    found = errors(doc, kind, version, source, spec, line)
    if found or profile is None or kind != "image":
        return found
    return profiles.errors(doc, profile, source, line)


def surely_valid(spec: Spec, doc, fast: dict) -> bool:
    """True only where :func:`check` would find nothing in ``doc`` read as it declares itself (no kind, version or
    profile given): an image record (no ``kind``) of a version this spec has, which the fast validator accepts.
    False means "ask :func:`check`".  ``fast`` caches the validators by version for a caller's batch: the one
    dispatch per record a validating loop pays."""
    if type(doc) is not dict or "kind" in doc or "image" in SEMANTIC_CHECKS:
        return False
    version = doc.get("format_version")
    try:
        validator_ = fast[version]
    except (KeyError, TypeError):  # a version not seen yet in the batch, or not a string (unhashable)
        if not isinstance(version, str) or version not in spec.versions:
            return False
        validator_ = fast[version] = fast_validator(spec, "image", version)
    return validator_ is not None and validator_.is_valid(doc)


def validate(doc, spec: Spec | None = None) -> None:
    """Raise ProblemError unless ``doc`` is a valid record of the version it declares."""
    problems = check(doc, spec=spec)
    if problems:
        raise ProblemError(problems)
