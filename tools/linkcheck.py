"""Offline check of a built site's internal links: every relative href/src names a file that
exists and, with a fragment, an element with that id.  External links are not followed.

    python tools/linkcheck.py _build/html
"""
from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from imgspec.problems import Problem


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, int]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and attrs.get("rel") in ("preconnect", "canonical")):
                self.links.append((attrs[key], self.getpos()[0]))


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def check(site: Path) -> tuple[list[Problem], int]:
    site = site.resolve()
    pages = {p: _parse(p) for p in site.rglob("*.html")}
    problems, count = [], 0
    for page_path, page in sorted(pages.items()):
        name = page_path.relative_to(site).as_posix()
        for link, line in page.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("//", "mailto:", "javascript:", "data:")):
                continue
            count += 1
            target = (page_path.parent / unquote(parts.path)).resolve() if parts.path else page_path
            if target.is_dir():
                target = target / "index.html"
            if site not in target.parents and target != site:
                problems.append(Problem(name, "", "outside-site", f"{link} points outside the site", line))
            elif not target.exists():
                problems.append(Problem(name, "", "broken-link", f"{link}: no such file", line))
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(Problem(name, "", "broken-anchor", f"{link}: no element with id {parts.fragment!r}", line))
    return problems, count


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    site = Path(argv[0] if argv else "_build/html")
    if not (site / "index.html").exists():
        print(f"{site}: (root): no-site: build the site first (make html)", file=sys.stderr)
        return 2
    problems, count = check(site)
    for p in problems:
        print(p)
    print(f"linkcheck: {count} internal links checked, {len(problems)} broken", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
