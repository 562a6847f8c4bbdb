"""Turning command-line paths into documents: files, folders and JSON Lines streams.

Each item is ``(source, line, doc, problems)``: ``problems`` is non-empty when the
input could not be read as JSON (then ``doc`` is None).  Nothing here raises for
bad input; every failure is a Problem naming the file (and line).
"""
from __future__ import annotations

import functools
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
                    found += [Path(top) / n for n in names if n.endswith(SUFFIXES) and not n.endswith(".expect.json")]
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
            batch: list[tuple[int, bytes]] = []
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
            yield from _lines(stdin or sys.stdin.buffer, "<stdin>")
        elif path.suffix in (".jsonl", ".ndjson"):
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
