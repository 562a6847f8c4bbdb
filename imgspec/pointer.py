"""JSON pointers (RFC 6901) with one extension for rules: ``*`` stands for every array index.

``expand(doc, "/locations/*/status")`` gives the concrete token lists of every
location's ``status`` (present or not).  A pointer starting with ``./`` is
relative to the array item a ``*`` matched (``./deleted`` next to
``/locations/*/status`` means that location's ``deleted``).
"""
from __future__ import annotations

import functools
import re

MISSING = object()
_INDEX = re.compile(r"0|[1-9][0-9]*", re.ASCII)


@functools.lru_cache(maxsize=1024)
def parse(pointer: str) -> tuple[str, ...]:
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/"))


def render(tokens) -> str:
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


def _step(node, token):
    if isinstance(node, dict):
        return node.get(token, MISSING)
    if isinstance(node, list):
        if type(token) is int:  # from expand(): already an index
            return node[token] if 0 <= token < len(node) else MISSING
        if isinstance(token, str) and _INDEX.fullmatch(token) and int(token) < len(node):  # RFC 6901: no leading 0
            return node[int(token)]
    return MISSING


def get(doc, tokens, default=MISSING):
    node = doc
    for t in tokens:
        node = _step(node, t)
        if node is MISSING:
            return default
    return node


@functools.lru_cache(maxsize=1024)
def _starred(pointer: str) -> bool:
    return "*" in parse(pointer)


def expand(doc, pointer: str) -> list[list]:
    """Concrete token lists for a pointer that may contain ``*``; parents must exist."""
    tokens = parse(pointer)
    if not _starred(pointer):  # one path at most: each parent an object that has the next member
        node = doc
        for token in tokens[:-1]:
            node = node.get(token, MISSING) if isinstance(node, dict) else MISSING
            if node is MISSING:
                return []
        return [list(tokens)] if not tokens or isinstance(node, dict) else []
    paths: list[tuple[list, object]] = [([], doc)]  # each concrete path with the node it reaches
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        nxt: list[tuple[list, object]] = []
        for p, node in paths:
            if token == "*":
                if isinstance(node, list):
                    nxt.extend((p + [k], item) for k, item in enumerate(node))
            elif isinstance(node, dict):
                child = node.get(token, MISSING)
                if i == last or child is not MISSING:
                    nxt.append((p + [token], child))
        paths = nxt
    return [p for p, _ in paths]


def resolve(relative: str, item_prefix: list) -> list:
    """Tokens of ``relative`` (absolute, or ``./x`` against the matched item)."""
    if relative.startswith("./"):
        return list(item_prefix) + list(parse(relative[1:]))
    return list(parse(relative))


def item_prefix(pattern: str, concrete: list) -> list:
    """The concrete tokens up to and including the last ``*`` of ``pattern``."""
    tokens = parse(pattern)
    stars = [i for i, t in enumerate(tokens) if t == "*"]
    return concrete[: stars[-1] + 1] if stars else []


def set_(doc, tokens, value):
    parent = get(doc, tokens[:-1])
    parent[tokens[-1] if isinstance(parent, dict) else int(tokens[-1])] = value


def remove(doc, tokens):
    parent = get(doc, tokens[:-1])
    if isinstance(parent, dict):
        parent.pop(tokens[-1], None)


def move(doc, src, dst, value) -> None:
    """Set ``dst`` to ``value`` and remove ``src``; a member renamed within its object keeps its place there."""
    src, dst = list(src), list(dst)
    parent = get(doc, src[:-1])
    if src[:-1] == dst[:-1] and isinstance(parent, dict) and src[-1] in parent:
        items = [(dst[-1] if k == src[-1] else k, value if k == src[-1] else v)
                 for k, v in parent.items() if k != dst[-1]]
        parent.clear()
        parent.update(items)
        return
    set_(doc, dst, value)
    remove(doc, src)


@functools.lru_cache(maxsize=256)
def matcher(pattern: str, below: bool = False) -> re.Pattern:
    """A regular expression for the concrete pointers a ``*`` pattern names (``*``: any array index); with
    ``below``, the pointers inside them too."""
    return re.compile("^" + re.escape(pattern).replace(r"\*", "[0-9]+") + ("(/|$)" if below else "$"))
