"""Turning command-line paths into documents: files, folders and JSON Lines streams.

Each item is ``(source, line, doc, problems)``: ``problems`` is non-empty when the
input could not be read as JSON (then ``doc`` is None).  Nothing here raises for
bad input; every failure is a Problem naming the file (and line).
"""
from __future__ import annotations

import functools
import io
import os
from collections.abc import Iterator
from pathlib import Path

from imgspec import jsonfile, resources
from imgspec.problems import Problem, ProblemError

SUFFIXES = (".json", ".jsonl", ".ndjson")


def expand(paths: list[str]) -> Iterator[tuple[str, str | None, list[Problem]]]:
    """``(source, file to open or None for standard input, problems)`` of the files named and of the record files
    found below the folders named (sorted by their parts, as paths compare).

    A folder's files are named as ``Path`` writes them (``./a//b/`` gives ``a/b/...``), built as strings: a
    folder of many files costs a listing, not a path object per name."""
    for raw in paths:
        path = Path(raw)
        if raw == "-":
            yield raw, None, []
        elif path.is_dir():
            failed: list[Problem] = []
            if (path / "manifest.json").is_file() and (path / "records").is_dir():
                # a directory store: its manifest and records, not the reports beside them
                try:
                    found = [str(path / "manifest.json"), *map(str, resources.entries(path / "records"))]
                except ProblemError as exc:
                    found, failed = [str(path / "manifest.json")], exc.problems
            else:
                found = []
                for top, dirs, names in os.walk(str(path), onerror=functools.partial(_unlisted, failed)):
                    dirs.sort()
                    found += [os.path.join(top, n) for n in names
                              if n.lower().endswith(SUFFIXES) and not n.lower().endswith(".expect.json")]
                found.sort(key=_parts)
            for name in found:
                yield name, name, []
            for problem in failed:  # a folder below that cannot be listed: its records were not checked
                yield problem.file, None, [problem]
        else:
            try:
                resources.regular_file(path, raw)  # a FIFO or a device (/dev/zero) would never end
            except ProblemError as exc:  # no such file, a symbolic link loop, permission, not a file
                yield raw, None, exc.problems
            else:
                yield raw, raw, []


def _parts(name: str) -> list[str]:
    """The sort key of a path as ``Path`` compares them: by its parts (``a/b`` before ``a-b``)."""
    return name.split(os.sep)


def _unlisted(failed: list[Problem], exc: OSError) -> None:
    failed.append(Problem(str(exc.filename), "", "unreadable", resources.reason(exc)))


class _Joined(io.RawIOBase):
    """``head`` (bytes already read) and then the rest of ``stream``, as one stream."""

    def __init__(self, head: bytes, stream):
        self.head, self.stream = io.BytesIO(head), stream

    def read1(self, size: int = -1) -> bytes:
        return self.head.read1(size) or getattr(self.stream, "read1", self.stream.read)(size)


def stdin_input(stream) -> tuple[bytes | None, object]:
    """Standard input is JSON Lines, unless its first line is not a JSON value by itself and the whole input is one
    document (a pretty-printed record, as ``cat record.json |`` gives): then ``(document, None)``, the whole read
    up to the size limit. Otherwise ``(None, lines)``: a stream of its lines, the first one included."""
    first = stream.readline(jsonfile.MAX_BYTES + 1)
    if first.strip() and len(first) <= jsonfile.MAX_BYTES and first.lstrip()[:1] in (b"{", b"["):
        try:
            jsonfile.loads(first)
        except ProblemError:
            whole = first + stream.read(jsonfile.MAX_BYTES + 1 - len(first))
            try:
                jsonfile.loads(whole)
            except ProblemError:
                return None, _Joined(whole, stream)  # not one document either: the JSON Lines it says it is
            return whole, None
    return None, _Joined(first, stream)


def parsed(source: str, numbered) -> Iterator[tuple[str, int | None, object, list[Problem]]]:
    """``(source, line, document, problems)`` of numbered JSON Lines (blank lines skipped)."""
    for number, line in numbered:
        if line.strip():
            try:
                yield source, number, jsonfile.loads(line, source, line=number), []
            except ProblemError as exc:
                yield source, number, None, exc.problems


BLOCK = 1 << 20  # bytes of whole lines per JSON Lines task


def line_blocks(stream, block: int = BLOCK) -> Iterator[bytes | list[tuple[int, bytes]]]:
    """A JSON Lines stream as blocks of whole lines (bytes, each ending at a newline but perhaps the last), read
    ``block`` bytes at a time: the workers split and number them, so the reading process neither does per line
    nor copies lines one by one.  A line is its bytes without the newline.  One longer than the size limit (or an
    endless stream without a newline) comes as ``[(1, its first MAX_BYTES + 1 bytes)]`` in its place, refused by
    the parser as ``max-size``, and the rest of it is skipped, never read whole into memory."""
    read = getattr(stream, "read1", stream.read)
    carry: list[bytes] = []  # the start of a line not ended yet
    held, pending = 0, b""
    while data := pending or read(block):
        pending = b""
        cut = data.rfind(b"\n")
        if cut < 0:
            carry.append(data)
            held += len(data)
            if held > jsonfile.MAX_BYTES:  # cut there; refused by the parser as max-size
                yield [(1, b"".join(carry)[:jsonfile.MAX_BYTES + 1])]
                carry, held = [], 0
                while (data := read(block)) and (cut := data.find(b"\n")) < 0:
                    pass  # the rest of the line too long, skipped a piece at a time
                pending = data[cut + 1:]  # the lines after it (nothing at the end of the stream)
            continue
        yield b"".join([*carry, data[:cut + 1]]) if carry else data[:cut + 1]
        carry = [data[cut + 1:]] if cut + 1 < len(data) else []
        held = len(data) - cut - 1
    if carry:
        yield b"".join(carry)


def block_lines(block: bytes) -> tuple[list[tuple[int | None, bytes]], int]:
    """The numbered lines of one block (numbers from 1 within it) and how many lines it covers."""
    pieces = block.split(b"\n")
    if pieces[-1] == b"":  # the block ended with a newline: no line after it
        pieces.pop()
    return list(enumerate(pieces, 1)), len(pieces)


def line_batches(paths: list[str], stdin=None):
    """``(stream number, source, payload)`` tasks of every JSON Lines input, in order, read lazily: the payload is a
    block of whole lines (:func:`line_blocks`, numbered from 1 within it), a list of ``(line, bytes)`` (a cut
    line, or standard input that is one document over several lines: line None), or, for an input that cannot be
    read, its problems."""
    import sys
    for number, (source, path, problems) in enumerate(expand(paths)):
        if problems:
            yield number, source, problems
            continue
        try:
            stream = open(path, "rb") if path is not None else (stdin or sys.stdin.buffer)
        except OSError as exc:
            yield number, source, [Problem(source, "", "unreadable", exc.strerror or str(exc))]
            continue
        name = source if path is not None else "<stdin>"
        try:
            if path is None:
                one, stream = stdin_input(stream)
                if one is not None:  # standard input holds one JSON document over several lines, not JSON Lines
                    yield number, name, [(None, one)]
                    continue
            for payload in line_blocks(stream):
                yield number, name, payload
        except OSError as exc:
            yield number, name, [Problem(name, "", "unreadable", exc.strerror or str(exc))]
        finally:
            if path is not None:
                stream.close()


def documents(names: list[str]) -> Iterator[tuple[str, int | None, object, list[Problem]]]:
    """``(name, None, document, problems)`` of record files :func:`expand` listed, each read whole."""
    for name in names:
        try:
            yield name, None, jsonfile.load(name), []
        except ProblemError as exc:
            yield name, None, None, exc.problems
