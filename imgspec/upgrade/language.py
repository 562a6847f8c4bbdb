"""The upgrade rule language: its definitions (in ``step.schema.json``) and its worked examples (``examples/rules``).

The normative text of each term lives once, as the ``description`` of the part of
``schemas/upgrades/step.schema.json`` that defines it; the schema's ``x-imgspec-language`` lists the
terms in reading order with a pointer to each.  An example file holds one rule (or names a step
file), a document before, and the document after, or the refusal (pointer and rule) the rule
must end in.  The page shows both; the tests run every example.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from imgspec import pointer as ptr
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec
from imgspec.upgrade.operations import json_copy, operation
from imgspec.upgrade.rules import load_steps, uses_deployment, with_settings

STEP_SCHEMA = "schemas/upgrades/step.schema.json"
EXAMPLES = "examples/rules"


@dataclass
class Term:
    term: str
    pointer: str
    text: str


def terms(spec: Spec) -> list[Term]:
    """The defined terms, in reading order, each with its normative text."""
    schema = spec.load(STEP_SCHEMA)
    out = []
    for entry in schema["x-imgspec-language"]:
        node = ptr.get(schema, ptr.parse(entry["pointer"]), None)
        if not isinstance(node, dict) or not node.get("description"):
            raise ProblemError(Problem(STEP_SCHEMA, entry["pointer"], "undefined-term",
                                       f"the term {entry['term']!r} points at no description"))
        out.append(Term(entry["term"], entry["pointer"], node["description"]))
    return out


def example_files(spec: Spec) -> list[Path]:
    return sorted((spec.root / EXAMPLES).glob("*.json"))


def run(spec: Spec, example: dict) -> dict:
    """The document the example's rule (or step) makes of its ``before``; raises ProblemError on a refusal."""
    doc = json_copy(example["before"])
    if "step" in example:
        step = next(s for s in load_steps(spec).values() if spec.rel(s.path) == example["step"])
        return step.apply(doc, deployment=example.get("deployment"))
    rule = example["rule"]
    if uses_deployment(rule):
        rule = with_settings(rule, example.get("deployment"), "example", 1, "image")
    operation(rule).apply(doc, rule, lambda tokens: None)
    return doc


def check(spec: Spec, path: Path) -> list[Problem]:
    """[] when the example's rule does exactly what the file says."""
    name = spec.rel(path)
    data = spec.load(path)
    try:
        got = run(spec, data)
    except ProblemError as exc:
        found = exc.problems[0]
        want = data.get("refused")
        if want and (found.pointer, found.rule) == (want["pointer"], want["rule"]):
            return []
        return [Problem(name, "/refused", "example-drift", f"the rule refuses with {found.pointer}: {found.rule}, "
                                                          f"the file says {json.dumps(want)}")]
    if "refused" in data:
        return [Problem(name, "/refused", "example-drift", "the file says the rule refuses, yet it applies")]
    if json.dumps(got, ensure_ascii=False) != json.dumps(data["after"], ensure_ascii=False):
        return [Problem(name, "/after", "example-drift", f"the rule gives {json.dumps(got)[:300]}")]
    return []
