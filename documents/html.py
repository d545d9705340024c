"""HTML to a Layout: lines of text, and tables as grids with rowspan/colspan expanded.

Block elements end a line, inline elements join (Word-pasted pages split one word over
many <span>s). A table that holds another table is a layout table: its cells are read as
ordinary blocks and only the innermost tables become grids. Every grid cell holds the
label or value that covers it; the copies are marked so values are not read twice.

Also reads the page's own publication metadata (``<meta name="PubDate">`` and similar), and
notes where the body's pictures stand (``hints["images"]``: after which line, and their
``src``; a link to a picture file too): a report whose tables are pictures, or that is its
linked pictures one a page, is read by OCR (reader.py).
This module must not decode bytes, fetch, or map anything to report keys.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import accumulate
from operator import sub

from selectolax.lexbor import LexborHTMLParser, LexborNode

from documents.errors import DocumentError
from documents.layout import Cell, Layout

_PICTURE_LINK = re.compile(r"\.(?:jpe?g|png|tiff?)(?:[?#].*)?$", re.I)
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


_MAX_COLUMNS = 64  # the widest template table has 16 columns
# Matched in lowercased bytes: a case-insensitive pattern is twice as slow.
_NESTING = re.compile(rb"<(/?)(?:div|span|font|table|section|blockquote|ul|ol|dl|article|center|form|b|i|strong)\b")
_MAX_DEPTH = 1500  # real pages nest < 60 deep; the HTML parser slows quadratically with depth


def check_nesting(html: bytes) -> None:
    """Refuse pathological nesting before parsing (counted only on pages with many tags)."""
    if html.count(b"<") < _MAX_DEPTH:
        return
    # Depth never drops below 0: it is the running sum of +1 (open) / -1 (close) minus
    # the lowest that sum has been. Summed with accumulate, not a Python loop per tag.
    steps = [-1 if slash else 1 for slash in _NESTING.findall(html.lower())]
    sums = list(accumulate(steps, initial=0))
    lows = accumulate(sums, min)
    if max(map(sub, sums, lows)) > _MAX_DEPTH:
        raise DocumentError(f"HTML nested more than {_MAX_DEPTH} elements deep; refused", status="unreadable")


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


def _span(value: str | None, cap: int) -> int:
    """A colspan/rowspan attribute as a number in 1..cap (leading digits; 1 when absent)."""
    if not value:
        return 1
    if value.isdigit() and value.isascii():  # the usual "2": no regex needed
        return min(max(int(value), 1), cap)
    m = _LEADING_INT.match(value)
    return min(max(int(m.group(1)), 1), cap) if m else 1


# A cell needs the careful (walking) reading when its HTML holds one of these: a line
# break, a script or style, a hidden part, or ASCII words in separate <p>/<div> blocks.
_CAREFUL_TAGS = ("<br", "<script", "display", "visibility", "<style")
# The elements that can put a cell on that path, found natively in the DOM: a superset
# (any two sibling blocks, either case), so no cell that needs care is missed.
_CAREFUL_CSS = ("br, script, style, [style*=display i], [style*=visibility i],"
                " p + p, p + div, div + p, div + div")
_BLOCK_JOIN = re.compile(r"</(?=(?:p|div)>\s*<(?:p|div)[^>]*>\s*[A-Za-z0-9])")
_LEADING_INT = re.compile(r"\s*(\d+)")
_NO_COPY = Cell("", "col")  # a grid position no cell covers (cells are immutable: one will do)
_SPANNED = "[colspan],[rowspan]"


@lru_cache(maxsize=4096)  # a report repeats "0" hundreds of times; cells are immutable
def _cell(text: str) -> Cell:
    return Cell(text)


@lru_cache(maxsize=8192)
def _clean_cached(text: str) -> str:
    return _clean(text)


def _ascii_blocks(raw: str) -> bool:
    """An ASCII letter or digit, </p> or </div>, a new <p> or <div>, and another one:
    ``[A-Za-z0-9]</(?:p|div)>\\s*<(?:p|div)[^>]*>\\s*[A-Za-z0-9]``. Searched from each "</"
    (a literal the regex engine skips to) and the character before it checked by hand:
    a pattern that starts with a character class is tried at every character, 5× slower."""
    for m in _BLOCK_JOIN.finditer(raw):
        before = raw[m.start() - 1:m.start()]
        if before.isascii() and before.isalnum():
            return True
    return False


def _cells_of(nodes: list[LexborNode]) -> set[int]:
    """mem_ids of the <td>/<th> that hold one of ``nodes`` (within the innermost table)."""
    cells: set[int] = set()
    for node in nodes:
        while node is not None and node.tag not in ("td", "th", "table"):
            node = node.parent
        if node is not None and node.tag != "table":
            cells.add(node.mem_id)
    return cells


class _Reader:
    def __init__(self, styled: set[int] | None = None) -> None:
        self.layout = Layout()
        self.buffer: list[str] = []
        self.tables = 0
        # mem_ids of the elements that have a style attribute (None: look at every one).
        # Reading attributes builds a dict of all of them, and most elements have no style.
        self.styled = styled

    def hidden(self, node: LexborNode) -> bool:
        if self.styled is not None and node.mem_id not in self.styled:
            return False
        return _HIDDEN.search(node.attributes.get("style") or "") is not None

    def flush(self) -> None:
        text = _clean("".join(self.buffer))
        self.buffer = []
        if text:
            self.layout.add_line(text, [_cell(text)])

    def walk(self, node: LexborNode) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                self.buffer.append(child.text_content or "")
                continue
            if tag in _SKIP or self.hidden(child):
                continue
            if tag == "br":
                self.flush()
            elif tag == "img":
                # A picture in the body (a table pasted as an image): where it stands, for OCR.
                self.flush()
                src = (child.attributes.get("src") or child.attributes.get("data-src") or "").strip()
                if src and not src.startswith("data:"):
                    self.layout.hints.setdefault("images", []).append((len(self.layout.lines), src))
            elif tag == "a" and _PICTURE_LINK.search((child.attributes.get("href") or "").strip()):
                # A linked picture (a report published one picture a page): where it stands, for OCR.
                self.flush()
                self.layout.hints.setdefault("images", []).append((len(self.layout.lines),
                                                                   child.attributes["href"].strip()))
                self.walk(child)
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
        # Fast path: a cell of text and inline tags only (most cells). Word's <p>-wrapped
        # cells ("商业</p><p>企业") join without a space either way; cells holding ASCII
        # words in separate blocks, <br>, scripts or hidden parts take the careful path.
        raw = node.html or ""
        lowered = raw.lower()  # tag names serialise in lower case, style values as written
        if not any(t in lowered for t in _CAREFUL_TAGS):
            text = _clean(node.text(deep=True, separator=""))
            if not _ascii_blocks(raw):
                return text
        sub = _Reader(self.styled)
        sub.walk(node)
        sub.flush()
        return _join(sub.layout.lines)

    def grid(self, table: LexborNode) -> None:
        """Expand the table into a rectangular grid and add one line per row."""
        index = self.tables
        self.tables += 1
        grid = self.expand(table)
        width = max((max(row) for row in grid if row), default=-1) + 1
        for row in grid:
            cells = [row.get(c, _NO_COPY) for c in range(width)]
            shown = [("" if cell.copy == "row" else cell.text) for cell in cells if cell.copy != "col"]
            line = "\t".join(shown).strip("\t")
            if line.strip():
                self.layout.add_line(line, cells, table=index)

    def expand(self, table: LexborNode) -> list[dict[int, Cell]]:
        """One {column: cell} per <tr>, with rowspan and colspan copies filled in."""
        # Only the cells holding a careful element are looked at closely (cell_text): one
        # CSS query, where serialising the table to search its HTML took 0.5 ms for 50 KB.
        careful = _cells_of(table.css(_CAREFUL_CSS))
        rows = table.css("tr")
        grid: list[dict[int, Cell]] = [{} for _ in rows]
        # Reading a cell's attributes builds a dict of all of them; only the few cells
        # with a span need it, and one query finds them all.
        spanned = {node.mem_id for node in table.css(_SPANNED)}
        for r, tr in enumerate(rows):
            row = grid[r]
            c = 0
            for td in tr.iter():
                tag = td.tag
                if tag != "td" and tag != "th":
                    continue
                while c in row:  # taken by a rowspan from above
                    c += 1
                if c >= _MAX_COLUMNS:
                    break  # hostile or broken spans: no report table is this wide
                text = self.cell_text(td) if td.mem_id in careful else _clean_cached(td.text(deep=True, separator=""))
                if td.mem_id not in spanned:  # most cells: no copies to make
                    row[c] = _cell(text)
                    c += 1
                    continue
                attributes = td.attributes
                colspan = min(_span(attributes.get("colspan"), 50), _MAX_COLUMNS - c)
                rowspan = min(_span(attributes.get("rowspan"), 200), len(rows) - r)
                for dr in range(rowspan):
                    below = grid[r + dr]
                    for dc in range(colspan):
                        copy = None if (dr, dc) == (0, 0) else ("col" if dr == 0 else "row")
                        below.setdefault(c + dc, Cell(text, copy))
                c += colspan
        return grid


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


def html_to_layout(html: str | bytes) -> Layout:
    """``html``: text, or bytes already known to be UTF-8 (spares a decode and re-encode)."""
    data = html if isinstance(html, bytes) else html.encode("utf-8", errors="ignore")  # as the parser does
    check_nesting(data)
    tree = LexborHTMLParser(data)
    reader = _Reader({node.mem_id for node in tree.css("[style]")})
    if tree.body is not None:
        reader.walk(tree.body)
        reader.flush()
    reader.layout.hints.update(_meta_hints(tree))
    return reader.layout


def looks_like_html(text: str) -> bool:
    head = text[:2048].lower()
    return bool(re.search(r"<(!doctype html|html|head|body|meta|table|div|p)[\s>]", head))


def image_sources(html: str | bytes, limit: int = 20) -> list[str]:
    """The ``src`` of the pictures in a page's body, in order (at most ``limit``): what
    reading its tables by OCR needs fetched."""
    seen: list[str] = []
    for _, src in html_to_layout(html).hints.get("images", []):
        if src not in seen:
            seen.append(src)
    return seen[:limit]
