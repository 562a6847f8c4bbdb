"""Where failing resources become problems: files, folders, HTTP servers, databases and commands.

Every command reads and writes through these, so that a resource that fails (a read-only or full file
system, a FIFO where a file belongs, a server that never answers, a database that refuses the
credentials, a command that hangs or prints without end) ends as one problem naming the resource, with a
rule of the reader contract's ``resources`` table (``schemas/reader/contract.json``) and exit status 2,
never a traceback, a hang or a partial write.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imgspec.problems import Problem, ProblemError

# The bounds, stated once; each is a row of the reader contract's resources table.
HTTP_SECONDS = 30.0  # connecting to a server, each read, and a whole response (conformance --timeout sets it)
HTTP_MAX_BODY = 64 * 1024 * 1024  # a response body read (the reader contract's max_size)
HTTP_MAX_HEADERS = 100  # header lines of a response (http.client's own limit)
DB_CONNECT_SECONDS = 10  # connecting to a database server
DB_READ_SECONDS = 300  # one statement of a database server
COMMAND_SECONDS = 30.0  # a command under test, per run
COMMAND_MAX_OUTPUT = 64 * 1024 * 1024  # what a command under test may print, per stream

BOUNDS = {  # each bound as a reader sees it: its words, unit and related bounds
    "HTTP_SECONDS": ("connect, each read, each whole response", "s"),
    "HTTP_MAX_BODY": ("a response body", "bytes"),
    "HTTP_MAX_HEADERS": ("header lines of a response", "lines"),
    "DB_CONNECT_SECONDS": ("connecting", "s"),
    "DB_READ_SECONDS": ("each statement", "s"),
    "COMMAND_SECONDS": ("each run", "s"),
    "COMMAND_MAX_OUTPUT": ("output per stream", "bytes"),
}
RELATED = {"HTTP_MAX_BODY": ["HTTP_MAX_HEADERS"], "DB_CONNECT_SECONDS": ["DB_READ_SECONDS"],
           "COMMAND_SECONDS": ["COMMAND_MAX_OUTPUT"]}


def shown(name: str) -> str:
    """A bound (and those that go with it) in words, with its value: ``each run: 30 s; output per stream: ...``."""
    out = []
    for n in [name, *RELATED.get(name, [])]:
        words, unit = BOUNDS[n]
        value = globals()[n]
        out.append(f"{words}: {value:,g} {unit}" if unit == "s" else f"{words}: {value:,} {unit}")
    return "; ".join(out)


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def reason(exc: OSError) -> str:
    """The operating system's reason, in its words (``No space left on device``)."""
    return exc.strerror or str(exc)


def unreadable(name: str, exc: OSError | str) -> ProblemError:
    return ProblemError(Problem(name, "", "unreadable", exc if isinstance(exc, str) else reason(exc)))


def unwritable(name: str, exc: OSError | str) -> ProblemError:
    return ProblemError(Problem(name, "", "unwritable", exc if isinstance(exc, str) else reason(exc)))


def regular_file(path: Path | str, name: str | None = None) -> os.stat_result:
    """The file's status, refusing (``unreadable``) what is not a regular file, without opening it: a FIFO
    would block the reader until a writer comes, a device never ends."""
    name = name or str(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise unreadable(name, exc) from None
    return regular(st, name)


def regular(st: os.stat_result, name: str) -> os.stat_result:
    """``st`` if it is a regular file's status, else ``unreadable`` naming ``name`` and what it is."""
    if not stat.S_ISREG(st.st_mode):
        raise unreadable(name, f"not a regular file ({_KINDS.get(stat.S_IFMT(st.st_mode), 'special')})")
    return st


def entries(folder: Path, pattern_suffix: str = ".json") -> list[Path]:
    """The files of ``folder`` whose names end in ``pattern_suffix`` and do not start with a dot, sorted;
    a folder that cannot be listed is ``unreadable`` (``Path.glob`` would give nothing and say nothing)."""
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it if e.name.endswith(pattern_suffix) and not e.name.startswith(".")]
    except OSError as exc:
        raise unreadable(str(folder), exc) from None
    return [folder / n for n in sorted(names)]


@contextlib.contextmanager
def writes(name: str) -> Iterator[None]:
    """Turn an OS error while writing ``name`` into ``unwritable`` (read-only, full, not a folder...)."""
    try:
        yield
    except OSError as exc:
        raise unwritable(exc.filename if isinstance(exc.filename, str) else name, exc) from None


def is_space(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


# --- HTTP ------------------------------------------------------------------------------------------------------

def http_problem(url: str, exc: BaseException) -> Problem:
    """What a failed HTTP exchange with ``url`` was: ``timeout``, ``unreachable`` or ``bad-response``."""
    import http.client
    import socket
    import ssl
    import urllib.error

    inner = exc.reason if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException) else exc
    if isinstance(inner, (TimeoutError, socket.timeout)):
        return Problem(url, "", "timeout", f"no answer within the time bound: {inner}")
    if isinstance(inner, ssl.SSLError):
        return Problem(url, "", "unreachable", f"TLS failed: {inner.reason or inner}")
    if isinstance(inner, http.client.HTTPException):
        text = str(inner) or type(inner).__name__
        if isinstance(inner, http.client.RemoteDisconnected):
            return Problem(url, "", "unreachable", f"the server closed the connection: {text}")
        return Problem(url, "", "bad-response", f"not an HTTP response: {type(inner).__name__}: {text[:120]}")
    if isinstance(inner, ValueError):  # a malformed URL or header, found by http.client before sending
        return Problem(url, "", "usage", str(inner))
    if isinstance(inner, OSError):
        return Problem(url, "", "unreachable", reason(inner))
    return Problem(url, "", "unreachable", str(inner))


# --- commands ----------------------------------------------------------------------------------------------------

@dataclass
class Ran:
    status: int  # -1: killed (time bound or output bound)
    stdout: bytes
    stderr: bytes
    killed: str = ""  # why it was killed, when it was


def run_bounded(argv: list[str], data: bytes, seconds: float = COMMAND_SECONDS,
                max_output: int = COMMAND_MAX_OUTPUT) -> Ran:
    """Run ``argv`` with ``data`` on its standard input, killed after ``seconds`` or once it prints more than
    ``max_output`` bytes on either stream. A command that does not exist is ``command-not-found``."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except FileNotFoundError:
        raise ProblemError(Problem("--command", "", "command-not-found", f"{argv[0]!r}: no such command")) from None
    except OSError as exc:
        raise ProblemError(Problem("--command", "", "command-not-found", f"{argv[0]!r}: {reason(exc)}")) from None
    out: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
    why: list[str] = []

    def kill(text: str) -> None:
        if not why:
            why.append(text)
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, 9)

    def drain(name: str, stream) -> None:
        buf = out[name]
        while chunk := stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536):
            if len(buf) + len(chunk) > max_output:
                buf += chunk[: max_output - len(buf)]
                kill(f"killed: printed more than {max_output} bytes on {name}")
                break
            buf += chunk

    def feed() -> None:
        with contextlib.suppress(OSError):
            proc.stdin.write(data)  # type: ignore[union-attr]
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]

    threads = [threading.Thread(target=drain, args=(n, getattr(proc, n)), daemon=True) for n in out]
    threads.append(threading.Thread(target=feed, daemon=True))
    for t in threads:
        t.start()
    try:
        status = proc.wait(seconds)
    except subprocess.TimeoutExpired:
        kill(f"killed after {seconds:g} s (the time bound of a command under test)")
        status = proc.wait()
    for t in threads:
        t.join(5)
    return Ran(-1 if why else status, bytes(out["stdout"]), bytes(out["stderr"]), why[0] if why else "")
