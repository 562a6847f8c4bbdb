"""Checking placement where it is declared: a policy file, a store manifest holding one, or a store directory (its
manifest's policy, then each of its records against it), with any more records named.  The rules themselves are
:mod:`imgspec.format.placement`'s; this module only finds the policy and the records."""
from __future__ import annotations

from pathlib import Path

from imgspec import jsonfile
from imgspec.format import placement, validation
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec
from imgspec.store.upgrade import record_files


def check_source(source: str, records: list[str]) -> tuple[list[Problem], int]:
    """The problems of the policy ``source`` names and of each record held to it; and how many records were named."""
    path = Path(source)
    records = list(records)
    if path.is_dir():
        records += [str(p) for p in record_files(path)]
        path = path / "manifest.json"
    name = str(path)
    doc = jsonfile.load(path, display=name)
    if isinstance(doc, dict) and doc.get("kind") == "imgspec.store":
        problems = validation.check(doc, name)  # the policy's semantic checks included
        doc = doc.get("placement")
        if not problems and doc is None:
            return [Problem(name, "/placement", "placement", "the store declares no placement policy")], len(records)
    else:
        problems = validation.errors(doc, "placement", Spec.default().latest, name)
    for rec in records if not problems else []:
        try:
            record = jsonfile.load(rec, display=rec)
        except ProblemError as exc:
            problems += exc.problems
            continue
        found = validation.check(record, rec)
        problems += found or placement.check_record(record, doc, rec)
    return problems, len(records)
