"""The reader contract (``schemas/reader/contract.json``): every refusal, limit and output rule of a reader.

The data file is normative; the page ``docs/format/reader-contract.md`` is generated from it and the
tests hold the reference reader (``imgspec read``) and a second reader in another language to it.
"""
from __future__ import annotations

from imgspec.spec import Spec

FILE = "schemas/reader/contract.json"
SCHEMA_KEYWORD = "(a JSON Schema keyword)"


def load(spec: Spec) -> dict:
    return spec.load(FILE)


def refusals(spec: Spec) -> dict[str, dict]:
    """``{rule: row}`` of the refusal table (the JSON Schema keywords share one row)."""
    return {r["rule"]: r for r in load(spec)["refusals"]}


def exit_of(spec: Spec, rule: str) -> int:
    """The exit status the contract gives ``rule`` (a rule not in the table is a JSON Schema keyword)."""
    table = refusals(spec)
    return table.get(rule, table[SCHEMA_KEYWORD])["exit"]


def limit(spec: Spec, name: str) -> int:
    return load(spec)["limits"][name]["value"]
