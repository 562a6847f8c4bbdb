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


def expand(paths: list[str]) -> Iterator[tuple[str, Path | None, list[Problem]]]:
    """Files named, and the record files found below folders named (sorted)."""
    for raw in paths:
        path = Path(raw)
        if raw == "-":
            yield raw, None, []
        elif path.is_dir():
            failed: list[Problem] = []
            if (path / "manifest.json").is_file() and (path / "records").is_dir():
                # a directory store: its manifest and records, not the reports beside them
                try:
                    found = [path / "manifest.json", *resources.entries(path / "records")]
                except ProblemError as exc:
                    found, failed = [path / "manifest.json"], exc.problems
            else:
                found = []
                for top, dirs, names in os.walk(path, onerror=functools.partial(_unlisted, failed)):
                    dirs.sort()
                    found += [Path(top) / n for n in names
                              if n.lower().endswith(SUFFIXES) and not n.lower().endswith(".expect.json")]
                found.sort()
            for p in found:
                yield str(p), p, []
            for problem in failed:  # a folder below that cannot be listed: its records were not checked
                yield problem.file, None, [problem]
        else:
            try:
                resources.regular_file(path, raw)  # a FIFO or a device (/dev/zero) would never end
            except ProblemError as exc:  # no such file, a symbolic link loop, permission, not a file
                yield raw, None, exc.problems
            else:
                yield raw, path, []


def _unlisted(failed: list[Problem], exc: OSError) -> None:
    failed.append(Problem(str(exc.filename), "", "unreadable", resources.reason(exc)))


class _Joined(io.RawIOBase):
    """``head`` (bytes already read) and then the rest of ``stream``, as one stream of lines."""

    def __init__(self, head: bytes, stream):
        self.head, self.stream = io.BytesIO(head), stream

    def readline(self, limit: int | None = -1) -> bytes:
        limit = -1 if limit is None else limit
        line = self.head.readline(limit)
        if line.endswith(b"\n") or (limit >= 0 and len(line) >= limit):
            return line
        return line + self.stream.readline(-1 if limit < 0 else limit - len(line))


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


def numbered_lines(stream) -> Iterator[tuple[int, bytes]]:
    """``(number, line)`` of a JSON Lines stream, each line read up to one byte past the size limit: a longer
    line (or an endless stream without a newline) is cut there and refused by the parser as ``max-size``,
    never read whole into memory."""
    number = 0
    while line := stream.readline(jsonfile.MAX_BYTES + 1):
        number += 1
        if len(line) > jsonfile.MAX_BYTES and not line.endswith(b"\n"):
            while (rest := stream.readline(jsonfile.MAX_BYTES + 1)) and not rest.endswith(b"\n"):
                pass  # the rest of the line too long, skipped a piece at a time
        yield number, line


def _lines(stream, source: str):
    yield from parsed(source, numbered_lines(stream))


def parsed(source: str, numbered) -> Iterator[tuple[str, int | None, object, list[Problem]]]:
    """``(source, line, document, problems)`` of numbered JSON Lines (blank lines skipped)."""
    for number, line in numbered:
        if line.strip():
            try:
                yield source, number, jsonfile.loads(line, source, line=number), []
            except ProblemError as exc:
                yield source, number, None, exc.problems


def line_batches(paths: list[str], stdin=None, size: int = 2000):
    """``(source, [(line number, bytes)])`` batches of every JSON Lines input, in order, read lazily.

    Inputs that cannot be read come as ``(source, problems)`` in their place.
    """
    import sys
    for source, path, problems in expand(paths):
        if problems:
            yield source, problems
            continue
        try:
            stream = open(path, "rb") if path is not None else (stdin or sys.stdin.buffer)
        except OSError as exc:
            yield source, [Problem(source, "", "unreadable", exc.strerror or str(exc))]
            continue
        name = source if path is not None else "<stdin>"
        try:
            batch: list[tuple[int | None, bytes]] = []
            if path is None:
                one, stream = stdin_input(stream)
                if one is not None:  # standard input holds one JSON document over several lines, not JSON Lines
                    yield name, [(None, one)]
                    continue
            for number, line in numbered_lines(stream):
                batch.append((number, line))
                if len(batch) == size:
                    yield name, batch
                    batch = []
            if batch:
                yield name, batch
        finally:
            if path is not None:
                stream.close()


def documents(paths: list[str], stdin=None) -> Iterator[tuple[str, int | None, object, list[Problem]]]:
    for source, path, problems in expand(paths):
        if problems:
            yield source, None, None, problems
        elif path is None:  # "-": JSON Lines on standard input
            import sys
            one, lines = stdin_input(stdin or sys.stdin.buffer)
            if one is not None:
                try:
                    yield "<stdin>", None, jsonfile.loads(one, "<stdin>"), []
                except ProblemError as exc:
                    yield "<stdin>", None, None, exc.problems
            else:
                yield from _lines(lines, "<stdin>")
        elif path.suffix.lower() in (".jsonl", ".ndjson"):
            try:
                with open(path, "rb") as stream:
                    yield from _lines(stream, source)
            except OSError as exc:
                yield source, None, None, [Problem(source, "", "unreadable", exc.strerror or str(exc))]
        else:
            try:
                yield source, None, jsonfile.load(path, display=source), []
            except ProblemError as exc:
                yield source, None, None, exc.problems
