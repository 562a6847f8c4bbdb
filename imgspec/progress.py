"""Progress on standard error for long runs on a terminal: tqdm where installed, a plain line otherwise.

Silent unless standard error is a terminal and the run has 1,000 items or more; never
a requirement (tqdm is optional: implementers who install the package alone get the
plain line).  Lines printed while a run goes on go through :meth:`Progress.write`,
which clears the progress line first and draws it again after, so that a problem
line never starts in the middle of ``4,864/20,000 files (24%)``.
"""
from __future__ import annotations

import sys
from typing import Any, TextIO

THRESHOLD = 1000
CLEAR_LINE = "\r\x1b[K"  # back to the column 0, erase to the end of the line (ECMA-48 EL)


class Progress:
    """Call ``progress(done, total)`` as work advances; use as a context manager to close it."""

    def __init__(self, unit: str, quiet: bool = False, stream=None):
        self.unit, self.quiet, self.stream = unit, quiet, stream or sys.stderr
        self.bar: Any = None  # a tqdm bar, False where tqdm is not installed, None before the first call
        self.shown = -1  # the last percentage the plain line showed
        self.line = ""  # the plain line as last drawn ("" when none is on the terminal)

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
            self.line = f"{done:,}/{total:,} {self.unit}s ({percent}%)"
            self.stream.write("\r" + self.line)
            self.stream.flush()

    def write(self, text: str, file: TextIO | None = None) -> None:
        """Print ``text`` as a line of its own (on standard output unless ``file``), above the progress line."""
        file = file or sys.stdout
        if self.bar:
            self.bar.write(text, file=file)  # tqdm clears its bar, prints, and draws the bar again
            return
        if not self.line:
            print(text, file=file)
            return
        self.stream.write(CLEAR_LINE)
        self.stream.flush()
        print(text, file=file)
        file.flush()
        self.stream.write(self.line)
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.close()
        elif self.line:
            self.stream.write("\n")
            self.stream.flush()
            self.line = ""
