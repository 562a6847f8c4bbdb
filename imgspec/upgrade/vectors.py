"""Conformance vectors: records and their expected readings, as data any implementation can be held to.

``examples/vectors/<from>-<to>/<case>.json`` holds one input (a record of version ``from``, as
JSON or, for the reader's own rules, as raw text) and either its reading at every released
version from ``from`` on, or the refusal (JSON pointer, rule, exit status) every reading must end
in.  ``examples/vectors/reader/`` holds inputs with no usable version.  Each file says what it
covers: the upgrade rules that act on it and the reader rule it hits.

The vectors are generated once from the reference implementation (``imgspec vectors --write``),
reviewed, and frozen: ``examples/vectors/lock.json`` locks, per released version, every vector's
content up to that version (input, refusal, readings at versions up to it) by hash; a new vector
may be added at any time, a locked one never changes (:mod:`imgspec.release.vectorlock`).

The runner contract (:func:`run_command`): a command reads a record on standard input, takes the
version to read it at in place of ``{to}``, prints the reading as JSON on standard output and exits
0; or exits 1 (the input is JSON but breaks a rule) or 2 (it cannot be used at all), with the
pointer and the rule on standard error, as ``imgspec read --to {to} -`` does.
"""
from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from imgspec import atomic, jsonfile, resources
from imgspec import pointer as ptr
from imgspec.format.validation import detect_version
from imgspec.pointer import matcher
from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec, version_key
from imgspec.upgrade import chain, upgrade
from imgspec.upgrade.operations import operation, same

FOLDER = "examples/vectors"


def input_bytes(vector: dict) -> bytes:
    if "input_generated" in vector:  # an input too large to keep: prefix, then `repeat` `count` times, then suffix
        g = vector["input_generated"]
        return (g["prefix"] + g["repeat"] * g["count"] + g["suffix"]).encode("utf-8")
    if "input_base64" in vector:
        return base64.b64decode(vector["input_base64"])
    if "input_text" in vector:
        return vector["input_text"].encode("utf-8", "surrogatepass")
    return json.dumps(vector["input"], ensure_ascii=False).encode("utf-8", "surrogatepass")


def read(spec: Spec, data: bytes, to: str, source: str = "<stdin>") -> dict:
    """The reference reading of ``data`` at ``to`` (what ``imgspec read --to`` prints); ProblemError otherwise."""
    return upgrade(jsonfile.loads(data, source), to, spec, source)


# -- the cases ---------------------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    about: str
    base: str | None = None  # an example record the input starts from
    changes: tuple = ()  # (JSON pointer, value) applied to a copy of the base
    text: str | None = None  # the input as raw text (reader rules)
    raw: bytes | None = None  # the input as bytes that are not UTF-8
    generated: dict | None = None  # the input as prefix + repeat * count + suffix (too large to keep)
    read_at: tuple = ()  # the versions to read it at, where not every released one from its own on
    bom: bool = False  # the base record's text after a UTF-8 byte order mark


def _boundaries() -> list[Case]:
    """Inputs at the boundaries the proofs and the issues found; every other case is a valid example."""
    v22 = "examples/record/2.2/image/valid/active-public.json"
    v23 = "examples/record/2.3/image/valid/active-public.json"
    v20 = "examples/record/2.0/image/valid/active-public.json"
    v10 = "examples/record/1.0/image/valid/active-public.json"
    out = [Case(f"metadata-{name}", f"2.2 location metadata {what}: kept whole aside at 2.3 (erratum 2.3-E2)", v22,
                (("/locations/0/metadata", meta),))
           for name, what, meta in [("store-5", "with a store that is a number", {"store": 5}),
                                    ("backend-null", "with a null backend", {"backend": None}),
                                    ("backend-empty", "with an empty backend", {"backend": ""}),
                                    ("backend-7", "with a backend that is a number", {"backend": 7})]]
    out += [
        Case("metadata-store-only", "2.2 metadata with a store and no backend: names the store at 2.3 (erratum 2.3-E3)",
             v22, (("/locations/0/metadata", {"store": "fs", "x": 1}),)),
        Case("metadata-backend-and-store", "both keys: backend becomes store, the old store is kept aside", v22,
             (("/locations/0/metadata", {"backend": "fs", "store": "other"}),)),
        Case("location-pending-delete", "a pending_delete location stays pending_delete (delayed_delete)", v22,
             (("/status", "pending_delete"), ("/locations/0/status", "pending_delete"))),
        Case("location-without-status", "a 2.0 location without status reads it from the image (erratum 2.0-E1)",
             v20, (("/status", "pending_delete"), ("/locations/0", {"url": "file:///a", "metadata": {},
                                                                    "created_at": "2012-03-01T10:00:00Z",
                                                                    "updated_at": None, "deleted": False,
                                                                    "deleted_at": None}))),
        Case("upper-case-id", "Glance stores an id as given: upper-case hex is an id (erratum 1.0-E1)", v10,
             (("/id", "C1A2B3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D"),)),
        Case("time-forms", "every RFC 3339 form: lower-case t and z, an offset, a fraction, a leap second, year 0000",
             v23, (("/created_at", "0000-02-29t00:00:00z"), ("/updated_at", "1998-12-31T15:59:60.123-08:00"))),
        Case("time-with-a-space", "a space for T is not RFC 3339 (some validators accept it)", v23,
             (("/created_at", "2024-03-05 09:12:44Z"),)),
        Case("time-offset-without-colon", "+0000 is not an RFC 3339 offset", v23, (("/created_at", "2024-03-05T09:12:44+0000"),)),
        Case("time-february-30", "a day the calendar lacks", v23, (("/created_at", "2023-02-29T00:00:00Z"),)),
        Case("duplicate-key", "a member named twice: refused, never silently one of the two",
             text='{"format_version": "2.3", "format_version": "2.2"}'),
        Case("nan", "NaN is not JSON", text='{"format_version": "2.3", "size": NaN}'),
        Case("infinity", "Infinity is not JSON", text='{"format_version": "2.3", "size": Infinity}'),
        Case("not-json", "text that is not JSON", text='{"format_version": "2.3",'),
        Case("not-utf8", "bytes that are not UTF-8", raw=b'{"format_version": "2.3", "name": "\xff"}'),
        Case("not-an-object", "a record is a JSON object", text='["2.3"]'),
        Case("unknown-version", "a format version the spec does not define", text='{"format_version": "9.9"}'),
        Case("no-version", "a record without format_version", text='{"id": "x"}'),
        Case("too-deep", "nesting deeper than any record", text='{"format_version": "2.3", "properties": ' + "[" * 3000
             + "]" * 3000 + "}"),
    ]
    out += _contract_cases(v22, v23)
    return out


def _nested(levels: int) -> str:
    """An object nested ``levels`` deep as JSON text (``{"x": {"x": ... {}}}``)."""
    return '{"x": ' * (levels - 1) + "{}" + "}" * (levels - 1)


def _contract_cases(v22: str, v23: str) -> list[Case]:
    """One case for each row and point of the reader contract (schemas/reader/contract.json)."""
    deep = '{"format_version": "2.2", "locations": [{"metadata": ' + _nested(1022) + "}]}"  # 1 + 1 + 1 + 1022 = 1025
    return [
        Case("max-size-stdin", "an input one byte over max_size (64 MiB): refused before it is parsed",
             generated={"prefix": '{"format_version": "2.3", "name": "', "repeat": "a",
                        "count": jsonfile.MAX_BYTES - 35 + 1, "suffix": '"}'}),
        Case("not-json-binary", "a NUL byte in the first 8,192 bytes: binary data, not JSON text",
             raw=b'\x00{"format_version": "2.3"}'),
        Case("bom", "a UTF-8 byte order mark before the record is ignored", v23, bom=True),
        Case("overflow", "1e400 is JSON, but its value overflows a double: refused at the number's own pointer",
             text='{"format_version": "2.3", "size": 1e400}'),
        Case("version-not-a-string", "format_version is a string: the number 2.3 names no version",
             text='{"format_version": 2.3}'),
        Case("depth-1025", "a container at the 1,025th level: refused (max_depth is 1,024)", text=deep),
        Case("several-problems", "a record with three problems: all are reported, sorted by pointer; the first is the "
             "vector's", v23, (("/size", -1), ("/name", 7), ("/visibility", "everyone"))),
        Case("time-leap-second-at-midday", "second 60 is a leap second only at 23:59 UTC: 09:12:60Z is no time "
             "(the format check refuses it; the pattern alone cannot)", v22, (("/created_at", "2016-12-31T09:12:60Z"),)),
        Case("id-with-a-final-newline", "patterns are ECMA-262: `$` does not match before a final newline", v22,
             (("/id", "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d\n"),)),
        Case("metadata-depth-255", "metadata nested 255 levels deep: read and upgraded like any other", v22,
             (("/locations/0/metadata", json.loads(_nested(251))),)),
        Case("integer-written-with-a-fraction", "1.0 and 1e3 are integers by value: valid where an integer is asked "
             "for, and compared by value", v22, (("/min_ram", 1.0), ("/size", 1e3))),
        Case("store-manifest", "read reads image records only: a store manifest is refused",
             text='{"format_version": "2.3", "kind": "imgspec.store", "created_at": "2026-01-01T00:00:00Z", '
                  '"generator": "x", "upgrade_in_progress": null}'),
        Case("downgrade", "a valid 2.3 record read at 2.2: readers never downgrade", v23, read_at=("2.2",)),
        Case("year-0000", "year 0000 exists in RFC 3339 (proleptic Gregorian; a leap year): read", v23,
             (("/created_at", "0000-02-29T12:00:00Z"),)),
    ]


def cases(spec: Spec) -> list[Case]:
    """Every valid image example of a released version, then the boundary cases."""
    out = []
    for v in spec.released:
        for path in sorted((spec.examples / "record" / v / "image" / "valid").glob("*.json")):
            out.append(Case(f"example-{path.stem}", f"the valid example {spec.rel(path)}", spec.rel(path)))
    return out + _boundaries()


def _input(spec: Spec, case: Case) -> dict:
    if case.generated is not None:
        return {"input_generated": case.generated}
    if case.raw is not None:
        return {"input_base64": base64.b64encode(case.raw).decode()}
    if case.text is not None:
        return {"input_text": case.text}
    doc = json.loads((spec.root / str(case.base)).read_text())
    for where, value in case.changes:
        ptr.set_(doc, ptr.parse(where), value)
    if case.bom:
        return {"input_base64": base64.b64encode(b"\xef\xbb\xbf" + json.dumps(doc).encode("utf-8")).decode()}
    return {"input": doc}


def make(spec: Spec, case: Case) -> tuple[str, dict]:
    """(the vector's path, the vector) as the reference implementation reads the case."""
    vec: dict = {"description": case.about, **_input(spec, case)}
    if case.read_at:
        vec["read_at"] = list(case.read_at)
    data = input_bytes(vec)
    versions = spec.released
    try:
        doc = jsonfile.loads(data, "<stdin>")
        start = detect_version(doc, "<stdin>", spec)
    except ProblemError:
        start = None
    folder = "reader"  # no usable version; otherwise the input's version and the next (draft or not)
    if start in versions:
        later = spec.versions[spec.versions.index(start) + 1:]
        folder = f"{start}-{later[0] if later else start}"
    readings, covers = {}, set()
    for to in case.read_at or [v for v in versions if start is None or version_key(v) >= version_key(start)]:
        try:
            touched: list = []
            readings[to] = read(spec, data, to)
            upgrade(jsonfile.loads(data, "<stdin>"), to, spec, touched=touched)
            covers |= _rules_touching(spec, start, to, touched)
        except ProblemError as exc:
            p = exc.problems[0]
            vec["refused"] = {"pointer": p.pointer, "rule": p.rule, "exit": exc.status}
            covers.add(f"reader: {p.rule}")
            readings = {}
            break
    if readings:
        vec["readings"] = readings
    vec["covers"] = sorted(covers)
    return f"{FOLDER}/{folder}/{case.name}.json", vec


def _rules_touching(spec: Spec, start: str | None, to: str, touched: list[str]) -> set[str]:
    """``step#/rules/N`` of every rule whose paths a touched pointer falls under."""

    if start is None:
        return set()
    out = set()
    for step in chain(spec, start, to):
        for i, rule in enumerate(step.rules):
            for pattern in operation(rule).paths(rule):
                rx = matcher(pattern, below=True)
                if any(rx.match(t) for t in touched):
                    out.add(f"{step.source}-{step.target}#/rules/{i}")
                    break
    return out


def write(spec: Spec) -> list[str]:
    """Generate every vector file from the reference implementation; returns the paths written."""
    written = []
    for case in cases(spec):
        rel, vec = make(spec, case)
        path = spec.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, json.dumps(vec, indent=2, ensure_ascii=False) + "\n")
        written.append(rel)
    return written


def files(spec: Spec) -> list[Path]:
    return sorted(p for p in (spec.root / FOLDER).glob("*/*.json"))


# -- holding an implementation to them ------------------------------------------------------------

@dataclass
class Reading:
    reading: dict | None
    status: int
    stderr: str


def run_reference(spec: Spec, data: bytes, to: str) -> Reading:
    try:
        return Reading(read(spec, data, to), 0, "")
    except ProblemError as exc:
        return Reading(None, exc.status, str(exc))


def check_command(command: str) -> None:
    """Refuse, in one line, a command that cannot be run: empty, unbalanced quotes, a program not found."""
    import shutil
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise ProblemError(Problem("--command", "", "usage", f"{command!r}: {exc}")) from None
    if not words:
        raise ProblemError(Problem("--command", "", "usage", "the command is empty: nothing to hold to the vectors"))
    if shutil.which(words[0]) is None:
        raise ProblemError(Problem("--command", "", "command-not-found", f"{words[0]!r} is not a program found here"))


def run_command(command: str, data: bytes, to: str, timeout: float = resources.COMMAND_SECONDS,
                max_output: int = resources.COMMAND_MAX_OUTPUT) -> Reading:
    """Run an implementation under the runner contract (``{to}`` in ``command`` is the version); a run that takes
    longer than ``timeout`` seconds, or prints more than ``max_output`` bytes, is killed and is a disagreement."""
    try:
        ran = resources.run_bounded(shlex.split(command.replace("{to}", to)), data, timeout, max_output)
    except ProblemError as exc:
        return Reading(None, -1, f"cannot run: {exc.problems[0].message}")
    if ran.killed:
        return Reading(None, -1, ran.killed)
    reading = None
    if ran.status == 0:
        try:
            reading = json.loads(ran.stdout)
        except (ValueError, RecursionError):  # not JSON (or not a reading any record has): a disagreement
            reading = None
    return Reading(reading, ran.status, ran.stderr.decode("utf-8", "replace"))


def targets(spec: Spec, rel: str, vec: dict | None = None) -> list[str]:
    """The released versions a vector is read at: its ``read_at``, else from its input's version on (every one for
    reader/)."""
    if vec and "read_at" in vec:
        return list(vec["read_at"])
    folder = rel.split("/")[-2]
    start = None if folder == "reader" else folder.split("-")[0]
    return [v for v in spec.released if start is None or version_key(v) >= version_key(start)]


def verdicts(spec: Spec, runner) -> list[Problem]:
    """Every disagreement of ``runner(data, to) -> Reading`` with the vectors, one problem each."""
    out = []
    for path in files(spec):
        rel = spec.rel(path)
        vec = json.loads(path.read_text())
        data = input_bytes(vec)
        if "refused" in vec:
            want = vec["refused"]
            mark = f": {want['pointer'] or '(root)'}: {want['rule']}: "
            for to in targets(spec, rel, vec):
                got = runner(data, to)
                if got.status != want["exit"] or mark not in got.stderr:
                    out.append(Problem(rel, "/refused", "vector-disagrees",
                                       f"at {to}: want exit {want['exit']} and `{mark.strip(': ')}`, "
                                       f"got exit {got.status}: {got.stderr.strip()[:200]}"))
            continue
        for to, want in vec["readings"].items():
            got = runner(data, to)
            if got.status != 0 or not same_reading(got.reading, want):
                out.append(Problem(rel, f"/readings/{to}", "vector-disagrees",
                                   f"exit {got.status}; {got.stderr.strip()[:200] or json.dumps(got.reading)[:200]}"))
    return out


def same_reading(got, want) -> bool:
    """Readings compared as the reader contract says: JSON values, member order aside, numbers by value (``1.0`` is
    ``1``), ``true`` never ``1``."""
    return same(got, want)
