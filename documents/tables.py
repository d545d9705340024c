"""Find the three statistical tables of a report and read them into canonical keys.

Which rows belong to which table: a real table (HTML, DOCX) is classified by its words
(本年新收 → applications, 结果维持 → appeals, 第二十条 → 主动公开); rows of plain text
and PDF are taken from the section they stand in (二, 三, 四); with no heading found, the
whole document is offered to each reader, which only takes rows it recognises.

The readers live in ``active_table``, ``apply_table`` and ``appeals_table``; this module
only routes rows to them. It must not read prose.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from documents.active_table import read_active
from documents.apply_table import read_apply
from documents.appeals_table import read_appeals
from documents.encoding import nfkc
from documents.layout import Cell, Layout, Row
from documents.report import Section
from documents.rows import TableRow, assemble
from documents.sections import regions
from documents.tables_common import Sink

_KINDS = {
    # The second half of a table split in two has only the later rows (不予处理 … 结转下年度).
    "requests": re.compile(r"本年新收|予以公开|上年结转|不予处理|无法提供|结转下年度"),
    "appeals": re.compile(r"结果维持|未经复议"),
    "active": re.compile(r"第二十条|本年制发|处理决定数量|本年新制作|规范性文件"),
}


def classify_tables(layout: Layout) -> dict[str, set[int]]:
    """Section key → indexes of real tables whose words say they hold that section's data."""
    text: dict[int, str] = {}
    for row in layout.rows:
        if row.table is not None:
            text[row.table] = text.get(row.table, "") + "".join(c.text for c in row.cells if not c.copy)
    out: dict[str, set[int]] = {key: set() for key in _KINDS}
    for index, words in text.items():
        words = re.sub(r"\s+", "", nfkc(words))
        for key, pattern in _KINDS.items():
            if pattern.search(words):
                out[key].add(index)
    return out


_APPLICANTS = re.compile(r"^(?:自然人|商业企业|科研机构|社会公益组织|社会组织|公益组织|法律服务机构|其他|总计|合计|小计)$")


def _transposed(rows: list[Row]) -> bool:
    """A section 三 grid laid out sideways: applicant types down the first column."""
    firsts = [re.sub(r"\s+", "", nfkc(r.cells[0].text)) for r in rows if r.cells and not r.cells[0].copy]
    return sum(1 for t in firsts if _APPLICANTS.match(t)) >= 4


def _transpose(rows: list[Row]) -> list[Row]:
    """Turn the grid back: row i, column j → row j, column i (spans swap direction)."""
    width = max(len(r.cells) for r in rows)
    swap = {"row": "col", "col": "row", None: None}
    out = []
    for j in range(width):
        cells = [Cell(r.cells[j].text, swap[r.cells[j].copy]) if j < len(r.cells) else Cell("", "row") for r in rows]
        out.append(Row(rows[0].line, cells, rows[0].table))
    return out


def _rows_for(key: str, layout: Layout, tables: dict[str, set[int]],
              spans: dict[str, tuple[int, int]], sink: Sink) -> list[Row]:
    if tables[key]:
        out: list[Row] = []
        for index in sorted(tables[key]):
            rows = [r for r in layout.rows if r.table == index]
            if key == "requests" and _transposed(rows):
                sink.problems.append({"kind": "transposed_table", "where": f"三 table at line {rows[0].line}",
                                      "detail": "applicant types are rows and results are columns; read turned back"})
                rows = _transpose(rows)
            out += rows
        return out
    if key in spans:
        first, last = spans[key]
        return [r for r in layout.rows if first <= r.line <= last]
    return list(layout.rows)


def read_tables(layout: Layout, sections: dict[str, Section]) -> tuple[Sink, str | None, bool]:
    """Read all three tables. Returns (sink, template shown by table 二, found an application table)."""
    sink = Sink()
    tables = classify_tables(layout)
    spans = regions(sections, len(layout.lines))
    readers: list[tuple[str, Callable[[list[TableRow], Sink], object]]] = [
        ("active", read_active), ("requests", read_apply), ("appeals", read_appeals)]
    template = None
    for key, reader in readers:
        rows = assemble(_rows_for(key, layout, tables, spans, sink))
        result = reader(rows, sink)
        if key == "active":
            template = result  # type: ignore[assignment]
    sink.finish()
    if template is None and any(k.startswith(("apply.other.no_correction.", "apply.other.unpaid_fee."))
                                for k in sink.fields):
        template = "2021"  # the three （六）其他处理 sub-rows exist only in the 2021 format
    found_apply = any(k.startswith("apply.") for k in sink.fields) or bool(tables["requests"])
    return sink, template, found_apply
