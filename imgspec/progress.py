"""Progress on standard error for long runs on a terminal: tqdm where installed, a plain line otherwise.

Silent unless standard error is a terminal and the run has 1,000 items or more; never
a requirement (tqdm is optional: implementers who install the package alone get the
plain line).
"""
from __future__ import annotations

import sys
from typing import Any

THRESHOLD = 1000


class Progress:
    """Call ``progress(done, total)`` as work advances; use as a context manager to close it."""

    def __init__(self, unit: str, quiet: bool = False, stream=None):
        self.unit, self.quiet, self.stream = unit, quiet, stream or sys.stderr
        self.bar: Any = None  # a tqdm bar, False where tqdm is not installed, None before the first call
        self.shown = -1  # the last percentage the plain line showed

    def __call__(self, done: int, total: int) -> None:
        if self.quiet or total < THRESHOLD or not self.stream.isatty():
            return
        if self.bar is None:
            try:
                from tqdm import tqdm
            except ImportError:
                self.bar = False
            else:
                self.bar = tqdm(total=total, unit=self.unit, file=self.stream)
        if self.bar:
            self.bar.update(done - self.bar.n)
            return
        percent = done * 100 // total
        if percent != self.shown:
            self.shown = percent
            self.stream.write(f"\r{done:,}/{total:,} {self.unit}s ({percent}%)")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.close()
        elif self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()
