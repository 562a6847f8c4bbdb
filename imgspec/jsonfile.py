"""Strict JSON reading: every way a file can be unusable becomes one Problem.

The standard library parser accepts duplicate keys (the last one wins), NaN and
Infinity, and raises RecursionError on deep nesting.  A published format cannot
let any of that through silently, so :func:`loads` rejects all of them, naming
the JSON pointer where it can.  Nesting is limited to :data:`MAX_DEPTH` levels
exactly (the reader contract, ``schemas/reader/contract.json``): every document
within it is read, written (:func:`dumps`) and copied without reaching Python's
recursion limit, and one nested deeper is refused with ``max-depth`` naming the
first value too deep.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from types import ModuleType
from typing import Any

from imgspec import resources
from imgspec.problems import Problem, ProblemError, pointer_from_parts

orjson: ModuleType | None
try:
    import orjson
except ImportError:  # pragma: no cover - orjson is optional: the strict parser alone gives the same results
    orjson = None

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 1024  # containers nested in each other, the outermost counting 1: `[[]]` is 2 deep


@contextlib.contextmanager
def deep_enough():
    """Python's recursion limit raised (never lowered) for the standard library's C parser and encoder, which
    recurse once or twice per level: enough for MAX_DEPTH levels."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, 4 * MAX_DEPTH + 1000))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def too_deep(doc, max_depth: int = MAX_DEPTH) -> bool:
    """Whether ``doc`` has a container nested deeper than ``max_depth`` (iteratively)."""
    if not isinstance(doc, dict | list):
        return False
    stack = [(doc, 1)]  # containers only: a scalar is never too deep
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return True
        stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value)
                     if isinstance(v, dict | list))
    return False


def colons(doc) -> int:
    """The colons JSON text of ``doc`` holds: one per member, and those inside keys and strings (iteratively)."""
    count = 0
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            count += len(value) + sum(k.count(":") for k in value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            count += value.count(":")
    return count


class _DupDict(dict):
    """A parsed object that had a duplicate key (remembered for the pointer)."""

    duplicate: str = ""


def _pairs_hook(state):
    def hook(pairs):
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            dup = ""
            for key, _ in pairs:
                if key in seen:
                    dup = key
                    break
                seen.add(key)
            obj = _DupDict(obj)
            obj.duplicate = dup
            state["walk"] = True
        return obj

    return hook


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _float_checker(state):
    def parse_float(text):
        value = float(text)
        if not math.isfinite(value):
            state["walk"] = True
        return value

    return parse_float


MAX_FOUND = 100  # duplicate keys and overflowing numbers reported of one document, at most


def _walk(doc, max_depth) -> list[tuple[tuple, str, str]]:
    """Every duplicate key and non-finite number (up to MAX_FOUND), in document order (depth first, members in
    order), or the one container nested deeper than ``max_depth``: (pointer parts, rule, message) each."""
    found: list[tuple[tuple, str, str]] = []
    stack: list[tuple[Any, tuple]] = [(doc, ())]
    while stack and len(found) < MAX_FOUND:
        value, path = stack.pop()
        if isinstance(value, dict | list) and len(path) + 1 > max_depth:  # pointer (root): the reader contract
            return [((), "max-depth", f"nesting deeper than {max_depth} levels")]
        if isinstance(value, _DupDict):
            found.append((path + (value.duplicate,), "duplicate-key",
                          f"key {value.duplicate!r} appears more than once in one object"))
        if isinstance(value, dict):
            stack.extend((v, path + (k,)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((v, path + (i,)) for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, float) and not math.isfinite(value):
            found.append((path, "non-finite-number", "number out of range (overflows to infinity)"))
    return found


_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))  # digits to "0", the rest to " "
_LONG_RUN = b"0" * 19  # 19 digits may exceed 64 bits
_LINE_ENDS = (b"", b"\n", b"\r", b"\r\n")  # what may follow the text of one JSON Lines record (JSON whitespace)


def quick_loads(data: bytes | bytearray):
    """The document ``data`` holds where orjson's parse provably means the same as the strict one, else None (also
    for ``null`` and beyond :data:`MAX_BYTES`): then :func:`loads` decides, and says what is wrong.  The loops
    over many records ask this first.

    orjson refuses NaN, Infinity, over-long floats, bad UTF-8, a BOM and deep
    nesting (the strict parser then says why), but keeps the last of duplicate
    keys and turns integers beyond 64 bits into floats.  Text that is exactly
    orjson's own writing of what it read (compact JSON, as orjson, ``jq -c`` and
    ``JSON.stringify`` write it) is read faithfully: a serialized dict has no
    duplicate keys and a written float never looks like an integer.  Otherwise
    long digit runs go to the strict parser, and duplicates are ruled out by
    counting colons: a dropped pair takes at least its own colon with it, so equal
    counts in the text and in the re-serialized tree mean no pair was dropped
    (escaped colons are counted too).
    """
    if orjson is None or len(data) > MAX_BYTES:
        return None
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    try:
        written: bytes | None = orjson.dumps(doc)
    except TypeError:  # orjson writes 254 levels at most
        written = None
    if written is not None and data.startswith(written) and data[len(written):] in _LINE_ENDS:
        return doc
    if _LONG_RUN in data.translate(_DIGITS):
        return None
    in_text = data.count(b":")
    if b"\\u" in data:
        in_text += data.count(b"\\u003a") + data.count(b"\\u003A")
    in_tree = written.count(b":") if written is not None else colons(doc)  # beyond 254 levels: counted in Python
    if in_text != in_tree:
        return None
    return doc


def loads(data, source: str = "<string>", *, line: int | None = None, max_depth: int | None = None):
    """Parse ``data`` (str or bytes) strictly; raise ProblemError naming ``source``.

    Nesting is limited to :data:`MAX_DEPTH` levels (``max-depth`` beyond, naming the first value too deep);
    ``max_depth`` sets a lower limit.
    """
    if len(data) > MAX_BYTES:
        raise ProblemError(Problem(source, "", "max-size", f"input is more than {MAX_BYTES} bytes", line))
    if max_depth is None:
        doc = quick_loads(data if isinstance(data, (bytes, bytearray)) else data.encode("utf-8", "surrogatepass"))
        if doc is not None:
            return doc
    if isinstance(data, (bytes, bytearray)):
        if b"\x00" in data[:8192]:
            raise ProblemError(Problem(source, "", "not-json", "binary data (NUL byte), not JSON text", line))
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ProblemError(Problem(source, "", "not-utf8", f"not UTF-8 text: invalid byte at offset {exc.start}",
                                       line)) from None
    limit = MAX_DEPTH if max_depth is None else min(max_depth, MAX_DEPTH)
    state = {"walk": True}  # the strict path always checks the depth: orjson's limit is no longer there
    try:
        with deep_enough():
            doc = json.loads(data, object_pairs_hook=_pairs_hook(state), parse_constant=_reject_constant,
                             parse_float=_float_checker(state))
    except json.JSONDecodeError as exc:
        where = exc.lineno if line is None else line
        col = f" (column {exc.colno})" if line is not None else f" (line {exc.lineno}, column {exc.colno})"
        raise ProblemError(Problem(source, "", "malformed-json", f"{exc.msg}{col}", where)) from None
    except ValueError as exc:  # NaN / Infinity
        raise ProblemError(Problem(source, "", "non-finite-number", str(exc), line)) from None
    except RecursionError:
        raise ProblemError(Problem(source, "", "max-depth", f"nesting deeper than {MAX_DEPTH} levels", line)) from None
    found = _walk(doc, limit) if state["walk"] else []
    if found:  # every duplicate key of the document, not only the first
        raise ProblemError([Problem(source, pointer_from_parts(parts), rule, message, line)
                            for parts, rule, message in found])
    return doc


def read(path, name: str, max_bytes: int = MAX_BYTES, status: os.stat_result | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (``unreadable`` for anything else, ``max-size`` beyond
    ``max_bytes``), named ``name`` in the problem; ``status`` is its ``os.stat`` where the caller has it."""
    # a FIFO or a device is refused without being opened
    size = (resources.regular_file(path, name) if status is None else resources.regular(status, name)).st_size
    if size > max_bytes:
        raise ProblemError(Problem(name, "", "max-size", f"file is {size} bytes; the limit is {max_bytes}"))
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise ProblemError(Problem(name, "", "unreadable", exc.strerror or str(exc))) from None


def load(path, *, display: str | None = None, max_bytes: int = MAX_BYTES, max_depth: int | None = None,
         status: os.stat_result | None = None):
    """Read and strictly parse the JSON file at ``path`` (``status``: its ``os.stat``, where the caller has it)."""
    name = display or str(path)
    return loads(read(path, name, max_bytes, status), name, max_depth=max_depth)


def dumps(doc) -> str:
    """The canonical text form imgspec writes: two-space indent, key order kept, UTF-8, final newline."""
    if orjson is not None:
        try:
            return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode("utf-8")
        except TypeError:  # integers beyond 64 bits, or more than 254 levels: the standard library writes them
            pass
    with deep_enough():
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def compact(doc) -> str:
    """``doc`` as one line of JSON text (``json.dumps``' form), at any depth within MAX_DEPTH."""
    with deep_enough():
        return json.dumps(doc, ensure_ascii=False)
