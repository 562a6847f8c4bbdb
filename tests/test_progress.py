"""Progress lines: tqdm where installed, a plain line without it, silence off a terminal."""
import io
import sys

from imgspec.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_plain_line_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now fails
    out = Terminal()
    with Progress("file", stream=out) as progress:
        for done in range(0, 2001, 500):
            progress(done, 2000)
    assert out.getvalue() == "".join(f"\r{d:,}/2,000 files ({d * 100 // 2000}%)" for d in range(0, 2001, 500)) + "\n"


def test_silent_when_quiet_small_or_not_a_terminal():
    for progress, out in ((Progress("file", quiet=True, stream=Terminal()), None),
                          (Progress("file", stream=Terminal()), 999),
                          (Progress("file", stream=io.StringIO()), None)):
        with progress:
            progress(10, out or 5000)
        assert progress.stream.getvalue() == ""


def test_tqdm_is_used_where_installed():
    out = Terminal()
    with Progress("record", stream=out) as progress:
        progress(1500, 3000)
        progress(3000, 3000)
    assert "3000/3000" in out.getvalue() and "record" in out.getvalue()
