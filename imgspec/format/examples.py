"""Example files and what each one is expected to show.

Layout (the directory says what a file is; nothing else needs to)::

    examples/record/<version>/<kind>/valid/<slug>.json
    examples/record/<version>/<kind>/invalid/<slug>.json
    examples/record/<version>/<kind>/invalid/<slug>.expect.json   {"pointer", "rule", "description"}

A valid example must have no problem.  An invalid example must have exactly one
problem, the one its expectation names: failing for another reason is a failure.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jsonschema import Draft202012Validator

from imgspec import jsonfile
from imgspec.format import validation
from imgspec.problems import Problem, ProblemError, mismatch
from imgspec.spec import Spec

EXPECT_SUFFIX = ".expect.json"


@dataclass(frozen=True)
class Example:
    path: Path
    version: str
    kind: str
    valid: bool

    @property
    def expect_path(self) -> Path:
        return self.path.with_name(self.path.name[: -len(".json")] + EXPECT_SUFFIX)

    @property
    def slug(self) -> str:
        return self.path.name[: -len(".json")]


def record_examples(spec: Spec) -> list[Example]:
    out = []
    for path in sorted((spec.examples / "record").glob("*/*/*/*.json")):
        if path.name.endswith(EXPECT_SUFFIX):
            continue
        version, kind, validity = path.parent.parent.parent.name, path.parent.parent.name, path.parent.name
        out.append(Example(path, version, kind, validity == "valid"))
    return out


def expectation(spec: Spec, example: Example) -> dict:
    """The declared error of an invalid example."""
    exp = jsonfile.load(example.expect_path, display=spec.rel(example.expect_path))
    missing = {"pointer", "rule", "description"} - set(exp)
    if missing:
        raise ProblemError(Problem(spec.rel(example.expect_path), "", "required",
                                   f"an expectation needs {', '.join(sorted(missing))}"))
    return exp


SCHEMA_KEYWORDS = frozenset(Draft202012Validator.VALIDATORS)  # the rules a JSON Schema validator itself states


def beyond_json_schema(spec: Spec) -> list[tuple[Example, dict]]:
    """The invalid examples (with their expectation) whose rule no JSON Schema keyword states: a JSON Schema
    validator given the (bundled) schema alone accepts them, only imgspec's reader or semantic checks refuse them
    (a duplicate key, the placement rules).  The implementers page lists them; the cross-validator test holds
    every validator to accepting them."""
    out = []
    for e in record_examples(spec):
        if not e.valid:
            exp = expectation(spec, e)
            if exp["rule"] not in SCHEMA_KEYWORDS:
                out.append((e, exp))
    return out


def problems_of(spec: Spec, example: Example) -> list[Problem]:
    """What validating the example finds (reader problems, schema errors or semantic checks)."""
    name = spec.rel(example.path)
    try:
        doc = jsonfile.load(example.path, display=name)
    except ProblemError as exc:
        return exc.problems
    return validation.errors(doc, example.kind, example.version, name, spec)


def verdict(spec: Spec, example: Example) -> list[str]:
    """Why the example does not show what its place says (empty when it does)."""
    name = spec.rel(example.path)
    if example.version not in spec.versions:
        return [f"{name}: (root): unknown-version: no format version {example.version!r}"]
    try:
        found = problems_of(spec, example)
    except ProblemError as exc:  # the schemas themselves are broken (a $ref that resolves nowhere): say so
        return [str(p) for p in exc.problems]
    if example.valid:
        return [f"{p} (a valid example must pass {spec.rel(spec.schema_path(example.kind, example.version))})"
                for p in found]
    try:
        exp = expectation(spec, example)
    except ProblemError as exc:
        return [str(p) for p in exc.problems]
    return mismatch(name, exp, found)
