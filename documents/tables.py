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
from documents.layout import Layout, Row
from documents.report import Section
from documents.rows import TableRow, assemble
from documents.sections import regions
from documents.tables_common import Sink

_KINDS = {
    "requests": re.compile(r"本年新收|予以公开|上年结转"),
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


def _rows_for(key: str, layout: Layout, tables: dict[str, set[int]],
              spans: dict[str, tuple[int, int]]) -> list[Row]:
    if tables[key]:
        return [r for r in layout.rows if r.table in tables[key]]
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
        rows = assemble(_rows_for(key, layout, tables, spans))
        result = reader(rows, sink)
        if key == "active":
            template = result  # type: ignore[assignment]
    sink.finish()
    found_apply = any(k.startswith("apply.") for k in sink.fields) or bool(tables["requests"])
    return sink, template, found_apply
