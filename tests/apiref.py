"""Glance's own API reference (api-ref/source/v2 of the glance source package): each operation's section.

``sections()`` gives, for every ``.. rest_method::`` of the .inc files, the method, the path, the normal and
error response codes the section states, and the sample files its "Request Example" and "Response Example"
parts include.  `make test` unpacks the source package into _build/glance-src (make glance-src).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "_build" / "glance-src"


@dataclass
class Section:
    file: str
    method: str
    path: str
    normal: list[str]
    errors: list[str]
    since: str | None = None  # the API version its "*(Since Image API v2.N)*" line states (or its file's, before any)
    samples: list[tuple[str, str]] = field(default_factory=list)  # (request|response, samples/NAME.json)


def api_ref() -> Path:
    found = sorted(SOURCE.glob("glance-*/api-ref/source/v2"))
    if not found:
        raise AssertionError(f"{SOURCE} has no glance source package: `make glance-src` (part of `make test`) unpacks it")
    return found[-1]


def _codes(pattern: str, text: str) -> list[str]:
    m = re.search(pattern + r"\s*([0-9, ]+)", text)
    return [c.strip() for c in m.group(1).split(",") if c.strip()] if m else []


_SINCE = re.compile(r"^\*\(?Since (?:Image API |Images |API )v?(2\.[0-9]+)\)?\*", re.M)


def _since(text: str) -> str | None:
    m = _SINCE.search(text)
    return m.group(1) if m else None


def sections() -> list[Section]:
    out = []
    for inc in sorted(api_ref().glob("*.inc")):
        head, *parts = re.split(r"^\.\. rest_method::\s+", inc.read_text(encoding="utf-8"), flags=re.M)
        for part in parts:
            method, path = part.split()[:2]
            s = Section(inc.name, method, path, _codes(r"Normal response codes?:", part),
                        _codes(r"Error response codes?:", part), _since(part) or _since(head))
            for kind, sample in re.findall(r"^(Request|Response) Example[^\n]*\n[-~=^]+\n(?:.*?\n)*?"
                                           r"\.\. literalinclude::\s+(\S+)", part, flags=re.M):
                s.samples.append((kind.lower(), sample))
            out.append(s)
    return out
