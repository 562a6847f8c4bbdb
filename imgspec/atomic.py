"""Writing files so that a crash at any instant leaves the old file or the new one, never a mix."""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from imgspec import resources

TMP_MARK = ".tmp-"


def write_text(path: Path, text: str, durable: bool = True) -> os.stat_result:
    """Replace ``path`` with ``text`` atomically (temporary file in the same folder, then rename); the status of
    the file written (its inode and modification time are those ``path`` has now).

    A write that fails (a read-only or full file system, a folder where the file belongs) leaves ``path`` as it
    was and no temporary file behind, and is ``unwritable`` naming ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            if durable:
                os.fsync(f.fileno())
            written = os.fstat(f.fileno())
        try:
            os.replace(tmp, path)
        except IsADirectoryError:  # rename(2) never puts a file in a folder's place: said in these words
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path)) from None
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise resources.unwritable(str(path), exc) from None
    return written


def sync_dir(path: Path) -> None:
    with resources.writes(str(path)):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def clean_leftovers(folder: Path) -> list[Path]:
    """Remove temporary files an interrupted writer left behind (the originals are intact)."""
    try:
        with os.scandir(folder) as it:
            gone = [folder / e.name for e in it if e.name.startswith(".") and TMP_MARK in e.name and e.is_file()]
        for p in gone:
            p.unlink()
    except OSError as exc:
        raise resources.unwritable(str(folder), exc) from None
    return gone
