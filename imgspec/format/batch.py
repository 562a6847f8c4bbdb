"""Validating many inputs at once, on every core: files in chunks, JSON Lines in batches of lines, results in input
order and never read ahead whole (a stream is consumed as it is validated).  The command line prints what
:meth:`Run.results` yields; nothing here prints."""
from __future__ import annotations

import dataclasses
import functools
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from imgspec import jsonfile
from imgspec.format import inputs, profiles, validation
from imgspec.problems import OK, Problem, ProblemError, exit_status
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
    lines: int = 0  # of a JSON Lines task: the lines it covered (its problems are numbered from 1 within it)


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
            if path is not None and path.lower().endswith(".json") and not problems:
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
        if self.streams:  # JSON Lines: blocks of lines on every core, results in input order
            lines_work = functools.partial(_check_lines, kind=self.kind, version=self.version, profile=self.profile)
            tasks = inputs.line_batches(self.streams)
            workers = ProcessPoolExecutor(max_workers=self.jobs) if self.jobs > 1 else None
            if workers is not None:
                results = ordered_map(workers, lines_work, tasks, self.jobs * 3, key=lambda task: task[0])
            else:
                results = ((task[0], lines_work(task)) for task in tasks)
            try:
                before: dict[int, int] = {}  # per stream: the lines its earlier tasks covered
                for stream, result in results:
                    found = Found(*result)
                    base = before.get(stream, 0)
                    before[stream] = base + found.lines
                    if base:
                        found.problems = [p if p.line is None else dataclasses.replace(p, line=p.line + base)
                                          for p in found.problems]
                    yield found
            finally:
                if workers is not None:
                    workers.shutdown(cancel_futures=True)


def check_documents(items, kind: str | None = None, version: str | None = None,
                    profile: str | None = None) -> tuple[list[Problem], int, int, dict[str, str], int]:
    """Validate ``(source, line, doc, problems)`` items: problems, exit status, count, declared versions, drafts.

    ``kind`` and ``version``, when given, say what every document is (a fragment such as a
    location has no ``format_version`` of its own); otherwise each record says it.  The workers give it what
    :func:`_sorted_out` left: records the fast path was not sure of.
    """
    spec = Spec.default()
    layer = profiles.load(spec, profile) if profile else None
    found: list[Problem] = []
    status, count, drafts, versions = OK, 0, 0, {}
    draft = _draft_versions(spec)
    for source, line, doc, problems in items:
        count += 1
        declared = doc.get("format_version") if isinstance(doc, dict) else None
        if line is None and isinstance(declared, str):
            versions[source] = declared  # what a store check needs of each file
        said = version or declared
        drafts += isinstance(said, str) and said in draft  # a list or object format_version is refused by check
        if not problems:
            problems = validation.check(doc, source, spec, kind=kind, version=version, line=line, profile=layer)
        found += problems
        status = max(status, exit_status(problems)) if problems else status
    return found, status, count, versions, drafts


def _check_files(names: list[str], kind: str | None = None, version: str | None = None,
                 profile: str | None = None) -> tuple[list[Problem], int, int, dict[str, str], int]:
    """Worker: validate whole files (runs in a process pool)."""
    sure: list[tuple[str, str]] = []
    if kind is None and version is None and profile is None:
        names, sure = _sorted_out(names, _file_text)
    found, status, count, versions, drafts = check_documents(inputs.documents(names), kind, version, profile)
    return found, status, count + len(sure), {**dict(sure), **versions}, drafts + _drafts(sure)


def _file_text(name: str) -> bytes | None:
    try:
        return jsonfile.read(name, name)
    except ProblemError:
        return None  # read again by check_documents, which reports the problem


def _check_lines(task: tuple, kind: str | None = None, version: str | None = None,
                 profile: str | None = None) -> tuple[list[Problem], int, int, dict[str, str], int, int, int]:
    """Worker: validate one JSON Lines task of :func:`imgspec.format.inputs.line_batches` (runs in a process pool),
    or report an unreadable input; the last figure is how many lines the task covered."""
    _, source, payload = task
    if payload and isinstance(payload[0], Problem):
        return (*check_documents([(source, None, None, payload)], kind, version, profile), 0, 0)
    lines: list[tuple[int | None, bytes]]
    lines, covered = inputs.block_lines(payload) if isinstance(payload, bytes) else (payload, len(payload))
    sure: list = []
    if kind is None and version is None and profile is None:
        lines, sure = _sorted_out(lines, lambda item: item[1])
    found, status, count, versions, drafts = check_documents(inputs.parsed(source, lines), kind, version, profile)
    return found, status, count + len(sure), versions, drafts + _drafts(sure), 0, covered


def _sorted_out(items: list, text_of) -> tuple[list, list]:
    """``(the items check_documents must see, [(item, declared version)] of the others)``: those whose text
    (``text_of(item)``, None if unreadable) the fast parse and the fast validator both accept, read as they declare
    themselves.  The one loop most records take: the others cost what :func:`check_documents` costs."""
    spec = Spec.default()
    fast: dict = {}
    rest: list = []
    sure: list = []
    quick, surely = jsonfile.quick_loads, validation.surely_valid
    for item in items:
        text = text_of(item)
        doc = None if text is None else quick(text)
        if doc is not None and surely(spec, doc, fast):
            sure.append((item, doc["format_version"]))
        else:
            rest.append(item)
    return rest, sure


def _draft_versions(spec: Spec) -> frozenset[str]:
    return frozenset(v for v in spec.versions if v not in spec.released)


def _drafts(sure: list) -> int:
    """How many of the records sorted out (``[(item, declared version)]``) declare a draft version."""
    draft = _draft_versions(Spec.default())
    return sum(version in draft for _, version in sure)


def ordered_map(pool, fn, items, window: int, key=lambda item: item):
    """``pool.map`` that keeps at most ``window`` tasks in flight (a stream is never read ahead whole), yielding
    ``(key(item), result)``."""
    pending: deque = deque()
    for item in items:
        pending.append((key(item), pool.submit(fn, item)))
        if len(pending) >= window:
            first, future = pending.popleft()
            yield first, future.result()
    while pending:
        first, future = pending.popleft()
        yield first, future.result()
