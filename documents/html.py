"""HTML to a Layout: lines of text, and tables as grids with rowspan/colspan expanded.

Block elements end a line, inline elements join (Word-pasted pages split one word over
many <span>s). A table that holds another table is a layout table: its cells are read as
ordinary blocks and only the innermost tables become grids. Every grid cell holds the
label or value that covers it; the copies are marked so values are not read twice.

Also reads the page's own publication metadata (``<meta name="PubDate">`` and similar).
This module must not decode bytes, fetch, or map anything to report keys.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from documents.layout import Cell, Layout

_SKIP = {"script", "style", "noscript", "template", "head", "iframe", "svg", "select", "option",
         "button", "input", "textarea", "object", "embed", "video", "audio", "canvas", "-comment"}
_BLOCK = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
          "section", "article", "header", "footer", "nav", "aside", "main", "blockquote", "pre",
          "center", "form", "hr", "tr", "td", "th", "table", "tbody", "thead", "tfoot", "caption",
          "address", "figure", "figcaption", "fieldset", "legend", "body", "html"}
_WS = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)

# <meta> names portals use for the publication date (CMSs differ; all seen on gov sites).
_DATE_META = {"pubdate", "publishdate", "publish_date", "firstpublishedtime", "article:published_time",
              "articlepublishdate", "dc.date.issued", "dc.date", "dcterms.issued", "publishtime", "releasedate"}


def _clean(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _join(parts: list[str]) -> str:
    """Join paragraph pieces of one cell: no space between Chinese pieces (商业|企业)."""
    out = ""
    for part in (p for p in parts if p):
        if out and out[-1].isascii() and out[-1].isalnum() and part[0].isascii() and part[0].isalnum():
            out += " "
        out += part
    return out


def _span(node: LexborNode, name: str, cap: int) -> int:
    m = re.match(r"\s*(\d+)", node.attributes.get(name) or "")
    return min(max(int(m.group(1)), 1), cap) if m else 1


class _Reader:
    def __init__(self) -> None:
        self.layout = Layout()
        self.buffer: list[str] = []
        self.tables = 0

    def flush(self) -> None:
        text = _clean("".join(self.buffer))
        self.buffer = []
        if text:
            self.layout.add_line(text, [Cell(text)])

    def walk(self, node: LexborNode) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                self.buffer.append(child.text(deep=False) or "")
                continue
            if tag in _SKIP or _HIDDEN.search(child.attributes.get("style") or ""):
                continue
            if tag == "br":
                self.flush()
            elif tag == "table" and len(child.css("table")) == 1:  # css() matches the node itself
                self.flush()
                self.grid(child)
            elif tag in _BLOCK:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)

    def cell_text(self, node: LexborNode) -> str:
        sub = _Reader()
        sub.walk(node)
        sub.flush()
        return _join(sub.layout.lines)

    def grid(self, table: LexborNode) -> None:
        """Expand the table into a rectangular grid and add one line per row."""
        index = self.tables
        self.tables += 1
        grid: dict[tuple[int, int], Cell] = {}
        rows = [tr for tr in table.css("tr")]
        for r, tr in enumerate(rows):
            c = 0
            for td in tr.iter():
                if td.tag not in ("td", "th"):
                    continue
                while (r, c) in grid:
                    c += 1
                text = self.cell_text(td)
                colspan, rowspan = _span(td, "colspan", 50), _span(td, "rowspan", 200)
                for dr in range(rowspan):
                    for dc in range(colspan):
                        copy = None if (dr, dc) == (0, 0) else ("col" if dr == 0 else "row")
                        grid.setdefault((r + dr, c + dc), Cell(text, copy))
                c += colspan
        width = max((c for _, c in grid), default=-1) + 1
        for r in range(len(rows)):
            cells = [grid.get((r, c), Cell("", "col")) for c in range(width)]
            shown = [("" if cell.copy == "row" else cell.text) for cell in cells if cell.copy != "col"]
            line = "\t".join(shown).strip("\t")
            if line.strip():
                self.layout.add_line(line, cells, table=index)


def _meta_hints(tree: LexborHTMLParser) -> dict[str, str]:
    hints: dict[str, str] = {}
    for meta in tree.css("meta"):
        name = (meta.attributes.get("name") or meta.attributes.get("property") or "").strip().lower()
        content = (meta.attributes.get("content") or "").strip()
        if name in _DATE_META and content and "published_meta" not in hints:
            hints["published_meta"] = content
    title = tree.css_first("title")
    if title is not None:
        hints["html_title"] = _clean(title.text())
    return hints


def html_to_layout(html: str) -> Layout:
    tree = LexborHTMLParser(html)
    reader = _Reader()
    if tree.body is not None:
        reader.walk(tree.body)
        reader.flush()
    reader.layout.hints.update(_meta_hints(tree))
    return reader.layout


def looks_like_html(text: str) -> bool:
    head = text[:2048].lower()
    return bool(re.search(r"<(!doctype html|html|head|body|meta|table|div|p)[\s>]", head))
