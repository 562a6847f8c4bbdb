"""Writing files so that a crash at any instant leaves the old file or the new one, never a mix."""
from __future__ import annotations

import os
from pathlib import Path

TMP_MARK = ".tmp-"


def write_text(path: Path, text: str, durable: bool = True) -> None:
    """Replace ``path`` with ``text`` atomically (temporary file in the same folder, then rename)."""
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_leftovers(folder: Path) -> list[Path]:
    """Remove temporary files an interrupted writer left behind (the originals are intact)."""
    gone = [p for p in folder.glob(f".*{TMP_MARK}*") if p.is_file()]
    for p in gone:
        p.unlink()
    return gone
