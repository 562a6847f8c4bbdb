"""Validating many inputs at once, on every core: files in chunks, JSON Lines in batches of lines, results in input
order and never read ahead whole (a stream is consumed as it is validated).  The command line prints what
:meth:`Run.results` yields; nothing here prints."""
from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from imgspec.format import inputs, profiles, validation
from imgspec.problems import OK, Problem, exit_status
from imgspec.spec import Spec

CHUNK = 256  # files per task


@dataclass
class Found:
    """What one task found: its problems, the worst exit status, how many documents, the versions files declare
    (for the store check), how many documents declare a draft version, and how many files it covered."""
    problems: list[Problem]
    status: int
    count: int
    versions: dict[str, str]
    drafts: int = 0
    files: int = 0


@dataclass
class Run:
    paths: list[str]
    kind: str | None = None
    version: str | None = None
    profile: str | None = None
    jobs: int = 1
    files: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for source, path, problems in inputs.expand(self.paths):
            if path is not None and path.suffix.lower() == ".json" and not problems:
                self.files.append(source)
            else:
                self.streams.append(source)

    def results(self) -> Iterator[Found]:
        """Every task's findings, in input order: the files first, then the JSON Lines streams."""
        work = functools.partial(_check_files, kind=self.kind, version=self.version, profile=self.profile)
        chunks = [self.files[i:i + CHUNK] for i in range(0, len(self.files), CHUNK)]
        if self.jobs > 1 and len(chunks) > 1:
            with ProcessPoolExecutor(max_workers=self.jobs) as pool:
                for part, result in zip(chunks, pool.map(work, chunks), strict=True):
                    yield Found(*result, files=len(part))
        else:
            for part in chunks:
                yield Found(*work(part), files=len(part))
        if self.streams:  # JSON Lines: batches of lines on every core, results in input order
            lines_work = functools.partial(_check_lines, kind=self.kind, version=self.version, profile=self.profile)
            batches = inputs.line_batches(self.streams)
            if self.jobs > 1:
                with ProcessPoolExecutor(max_workers=self.jobs) as pool:
                    for _, result in ordered_map(pool, lines_work, batches, self.jobs * 3):
                        yield Found(*result)
            else:
                for one in batches:
                    yield Found(*lines_work(one))


def check_documents(items, kind: str | None = None, version: str | None = None,
                    profile: str | None = None) -> tuple[list[Problem], int, int, dict[str, str], int]:
    """Validate ``(source, line, doc, problems)`` items: problems, exit status, count, declared versions, drafts.

    ``kind`` and ``version``, when given, say what every document is (a fragment such as a
    location has no ``format_version`` of its own); otherwise each record says it.
    """
    spec = Spec.default()
    layer = profiles.load(spec, profile) if profile else None
    found: list[Problem] = []
    status, count, drafts, versions = OK, 0, 0, {}
    draft = {v for v in spec.versions if v not in spec.released}
    quick = kind is None and version is None and layer is None
    fast: dict = {}
    for source, line, doc, problems in items:
        count += 1
        declared = doc.get("format_version") if isinstance(doc, dict) else None
        if line is None and isinstance(declared, str):
            versions[source] = declared  # what a store check needs of each file
        said = version or declared
        drafts += isinstance(said, str) and said in draft  # a list or object format_version is refused by check
        if not problems:
            if quick and validation.surely_valid(spec, doc, fast):
                continue
            problems = validation.check(doc, source, spec, kind=kind, version=version, line=line, profile=layer)
        found += problems
        status = max(status, exit_status(problems)) if problems else status
    return found, status, count, versions, drafts


def _check_files(names: list[str], kind: str | None = None, version: str | None = None,
                 profile: str | None = None) -> tuple[list[Problem], int, int, dict[str, str], int]:
    """Worker: validate whole files (runs in a process pool)."""
    return check_documents(inputs.documents(names), kind, version, profile)


def _check_lines(batch: tuple, kind: str | None = None, version: str | None = None,
                 profile: str | None = None) -> tuple[list[Problem], int, int, dict[str, str], int]:
    """Worker: validate one batch of JSON Lines (runs in a process pool), or report an unreadable input."""
    source, lines = batch
    if lines and isinstance(lines[0], Problem):
        return check_documents([(source, None, None, lines)], kind, version, profile)
    return check_documents(inputs.parsed(source, lines), kind, version, profile)


def ordered_map(pool, fn, items, window: int):
    """``pool.map`` that keeps at most ``window`` tasks in flight (a stream is never read ahead whole)."""
    pending: deque = deque()
    for item in items:
        pending.append((item, pool.submit(fn, item)))
        if len(pending) >= window:
            first, future = pending.popleft()
            yield first, future.result()
    while pending:
        first, future = pending.popleft()
        yield first, future.result()
