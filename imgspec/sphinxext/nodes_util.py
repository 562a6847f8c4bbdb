"""Small builders of docutils nodes: tables and inline text with `code` spans."""
from __future__ import annotations

import re

from docutils import nodes

_CODE = re.compile(r"`([^`]+)`")


def inline(text: str) -> list[nodes.Node]:
    """Text where `backticked` spans become literals (the schema descriptions use them)."""
    out: list[nodes.Node] = []
    pos = 0
    for m in _CODE.finditer(text or ""):
        if m.start() > pos:
            out.append(nodes.Text(text[pos:m.start()]))
        out.append(nodes.literal(m.group(1), m.group(1)))
        pos = m.end()
    if pos < len(text or ""):
        out.append(nodes.Text(text[pos:]))
    return out


def para(*parts) -> nodes.paragraph:
    p = nodes.paragraph()
    for part in parts:
        if isinstance(part, str):
            p.extend(inline(part))
        elif isinstance(part, list):
            p.extend(part)
        else:
            p.append(part)
    return p


def table(headers: list[str], rows: list[list], widths: list[int] | None = None, classes=()) -> nodes.table:
    """A table whose cells are strings (with `code` spans), nodes or lists of nodes."""
    tbl = nodes.table(classes=["imgspec-table", *classes])
    group = nodes.tgroup(cols=len(headers))
    tbl += group
    for w in widths or [1] * len(headers):
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for h in headers:
        row += nodes.entry("", nodes.paragraph(text=h))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            if isinstance(cell, nodes.Element) and not isinstance(cell, nodes.Inline):
                entry += cell
            else:
                entry += para(cell if cell is not None else "")
            row += entry
        body += row
    return tbl
