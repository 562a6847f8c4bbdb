"""Small builders of docutils nodes: tables and inline text with `code` spans."""
from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

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


class wbr(nodes.Inline, nodes.Element):
    """A place a long identifier may break at (HTML ``<wbr>``): copying the text gives it unchanged."""


_BREAK_AFTER = re.compile(r"(?<=[/_.\-|,=])(?=[^/_.\-|,=])")


def breakable(tree: nodes.Node, longer_than: int = 16) -> None:
    """Let each long code span below ``tree`` wrap after ``/ _ . - | , =`` (and nowhere else)."""
    for literal in list(tree.findall(nodes.literal)):
        text = literal.astext()
        if len(text) <= longer_than or literal.get("classes") and "imgspec-pattern" in literal["classes"]:
            continue
        pieces = _BREAK_AFTER.split(text)
        if len(pieces) < 2:
            continue
        literal.children = []
        for i, piece in enumerate(pieces):
            if i:
                literal += wbr()
            literal += nodes.Text(piece)


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
    breakable(tbl)
    return tbl


def definitions(items: list[tuple[str, list[str]]], cls: str) -> nodes.definition_list:
    """A definition list: each term (text with `code` spans) and its paragraphs, for entries too wide for a table."""
    out = nodes.definition_list(classes=[cls])
    for term_text, paragraphs in items:
        item = nodes.definition_list_item()
        term = nodes.term()
        term.extend(inline(term_text))
        item += term
        body = nodes.definition()
        for text in paragraphs:
            body += para(text)
        item += body
        out += item
    breakable(out)
    return out


class details(nodes.General, nodes.Element):
    """A block the reader opens on demand (HTML ``<details>``): evidence and raw JSON one click away."""


class summary(nodes.TextElement):
    """The always-visible line of a :class:`details` block."""


def _visit_details(self, node):
    self.body.append(self.starttag(node, "details", CLASS=" ".join(node.get("classes", []))))


def _depart_details(self, node):
    self.body.append("</details>\n")


def _visit_summary(self, node):
    self.body.append(self.starttag(node, "summary", ""))


def _depart_summary(self, node):
    self.body.append("</summary>\n")


def _skip(self, node):  # non-HTML builders show the content as it is
    pass


def folded(title, *content, classes=()) -> details:
    """A :class:`details` block: ``title`` (text with `code` spans, or nodes) visible, ``content`` folded."""
    box = details(classes=list(classes))
    head = summary()
    head.extend(inline(title) if isinstance(title, str) else list(title))
    box += head
    for part in content:
        box += part
    return box


class GlanceLinks(SphinxPostTransform):
    """Every code span that names a Glance source file (``glance/api/v2/images.py``) links to that file at the
    release the spec cites, on every page, prose included."""

    default_priority = 900
    formats = ("html",)

    def run(self, **kwargs) -> None:
        for literal in list(self.document.findall(nodes.literal)):
            text = literal.astext()
            if "*" in text or not _GLANCE_PATH.fullmatch(text) or isinstance(literal.parent, nodes.reference):
                continue
            ref = glance_ref(self.config, text)
            ref.children = [literal.deepcopy()]
            literal.replace_self(ref)


def _visit_wbr(self, node):
    self.body.append("<wbr>")


def setup(app) -> None:
    app.add_post_transform(GlanceLinks)
    app.add_node(wbr, html=(_visit_wbr, _skip), latex=(_skip, _skip), text=(_skip, _skip), man=(_skip, _skip),
                 texinfo=(_skip, _skip))
    for node in (details, summary):
        visit, depart = (_visit_details, _depart_details) if node is details else (_visit_summary, _depart_summary)
        app.add_node(node, html=(visit, depart), latex=(_skip, _skip), text=(_skip, _skip), man=(_skip, _skip),
                     texinfo=(_skip, _skip))


_GLANCE_PATH = re.compile(r"\b(?:glance|etc)/[\w/.*-]+\.(?:py|json|ini|yaml)\b")


def glance_text(config, text: str) -> list[nodes.Node]:
    """Text where each Glance source path becomes a link to that file, shown by its base name."""
    out: list[nodes.Node] = []
    pos = 0
    for m in _GLANCE_PATH.finditer(text or ""):
        out.extend(inline(text[pos:m.start()]))
        path = m.group(0)
        if "*" in path:
            out.append(nodes.literal(text=path.rsplit("/", 1)[-1]))
        else:
            out.append(glance_ref(config, path, path.rsplit("/", 1)[-1]))
        pos = m.end()
    out.extend(inline(text[pos:]))
    return out


def glance_ref(config, path: str, text: str | None = None) -> nodes.reference:
    """A link to a Glance source file at the release the spec cites (``imgspec_glance_tags``: the newest
    release by default, an older one for files Glance has since removed)."""
    tags = config.imgspec_glance_tags
    prefix = max((p for p in tags if path.startswith(p)), key=len)
    url = config.imgspec_glance_source.format(tag=tags[prefix], path=path)
    return nodes.reference("", "", nodes.literal(text=text or path), refuri=url, classes=["imgspec-glance"])
