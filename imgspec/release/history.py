"""Released files in the repository's history: a file's content hash (what every lock records), and the content of
a file whose hash a lock names, taken back from git.  Format errata, the vectors' lock and API corrections all lock
files this way."""
from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from imgspec.problems import Problem, ProblemError
from imgspec.spec import Spec


def content_hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def previous_content(spec: Spec, rel: str, want: str) -> bytes:
    """The content of ``rel`` whose hash is ``want``, from the git history of the spec tree (looked up once per spec
    tree: the pages and checks of one build ask for the same contents many times)."""
    return spec.once(("previous-content", rel, want), lambda: _previous_content(spec, rel, want))


def _previous_content(spec: Spec, rel: str, want: str) -> bytes:
    def git(*args: str) -> bytes:
        return subprocess.run(["git", "-C", str(spec.root), *args], capture_output=True, check=True).stdout
    try:
        revisions = git("log", "--format=%H", "--", rel).decode().split()
        for rev in revisions:
            try:
                blob = git("show", f"{rev}:{rel}")
            except subprocess.CalledProcessError:
                continue  # the file was removed in that commit
            if content_hash(blob) == want:
                return blob
    except (OSError, subprocess.CalledProcessError):
        pass
    raise ProblemError(Problem(rel, "", "erratum-base-unknown",
                               f"the content this erratum replaces ({want[:19]}…) is not in the git history here"))


def locked(entry: dict, corrections: str) -> dict[str, str]:
    """The hash each file of a release entry is locked at now: the release's own hashes, then those of each of its
    corrections in the order recorded (``errata`` of a format version, ``corrections`` of an API release)."""
    out = dict(entry.get("files", {}))
    for correction in entry.get(corrections, []):
        out.update(correction["files"])
    return out


@contextlib.contextmanager
def schemas_at(spec: Spec, revision: str) -> Iterator[Spec]:
    """The spec tree's ``schemas/`` as git revision ``revision`` holds it (without its generated bundles), as a
    spec tree in a temporary folder for as long as the context lasts."""
    shown = subprocess.run(["git", "-C", str(spec.root), "archive", revision, "schemas"], capture_output=True)
    if shown.returncode:
        raise ProblemError(Problem(revision, "", "unreadable", "neither a file nor a git revision of this tree"))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["tar", "-x", "-C", tmp], input=shown.stdout, check=True)
        shutil.rmtree(Path(tmp) / "schemas" / "bundled", ignore_errors=True)
        yield Spec(Path(tmp))
