"""DOCX to a Layout: paragraphs as lines, tables as grids (gridSpan / vMerge expanded).

The table XML is walked directly instead of python-docx's ``row.cells``: it is several
times faster on merged tables and tells a merged copy from a real cell, which
``rows.py`` needs to avoid reading a spanned value twice.

This module must not map anything to report keys.
"""

from __future__ import annotations

import io
import re

from documents.errors import DocumentError
from documents.layout import Cell, Layout

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _text(element) -> str:
    parts = []
    for node in element.iter(f"{_W}t", f"{_W}tab", f"{_W}br"):
        parts.append((node.text or "") if node.tag == f"{_W}t" else " ")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _grid(tbl) -> list[list[Cell]]:
    grid: list[list[Cell]] = []
    for tr in tbl.iterchildren(f"{_W}tr"):
        row: list[Cell] = []
        for tc in tr.iterchildren(f"{_W}tc"):
            props = tc.find(f"{_W}tcPr")
            span, merge = 1, None
            if props is not None:
                gs = props.find(f"{_W}gridSpan")
                if gs is not None:
                    span = max(1, int(gs.get(f"{_W}val", "1") or 1))
                vm = props.find(f"{_W}vMerge")
                if vm is not None:
                    merge = vm.get(f"{_W}val", "continue")
            col = len(row)
            if merge == "continue" and grid and col < len(grid[-1]):
                above = grid[-1][col]
                cell = Cell(above.text, "row")
            else:
                cell = Cell(" ".join(_text(p) for p in tc.iterchildren(f"{_W}p")).strip())
            row.append(cell)
            row += [Cell(cell.text, "col")] * (span - 1)
        grid.append(row)
    return grid


# A zip bomb is refused before anything is inflated: zipfile never inflates an entry past
# its declared size, so checking the declared sizes bounds memory and time.
MAX_ENTRIES = 2000
MAX_TOTAL = 200 * 1024 * 1024
MAX_DOCUMENT_XML = 30 * 1024 * 1024
MAX_RATIO = 200  # real DOCX XML compresses ~10×; bombs ~1000×


def check_package(data: bytes) -> None:
    import zipfile

    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as exc:
        raise DocumentError(f"damaged DOCX package: {exc}") from exc
    if len(infos) > MAX_ENTRIES:
        raise DocumentError(f"DOCX package with {len(infos)} entries; refused (zip bomb?)", status="too_large")
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL:
        raise DocumentError(f"DOCX package inflates to {total:,} bytes; refused (zip bomb?)", status="too_large")
    for info in infos:
        if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise DocumentError(f"DOCX entry {info.filename} would inflate {info.file_size // max(1, info.compress_size)}×"
                                " its size; refused (zip bomb?)", status="too_large")
        if info.filename == "word/document.xml" and info.file_size > MAX_DOCUMENT_XML:
            raise DocumentError(f"word/document.xml of {info.file_size:,} bytes; refused", status="too_large")


def docx_to_layout(data: bytes) -> Layout:
    check_package(data)
    try:
        from docx import Document

        body = Document(io.BytesIO(data)).element.body
    except Exception as exc:  # python-docx raises several types for damaged packages
        raise DocumentError(f"unreadable DOCX: {exc}") from exc
    layout = Layout()
    tables = 0
    for child in body.iterchildren():
        if child.tag == f"{_W}p":
            text = _text(child)
            if text:
                layout.add_line(text, [Cell(text)])
        elif child.tag == f"{_W}tbl":
            for cells in _grid(child):
                shown = ["" if c.copy == "row" else c.text for c in cells if c.copy != "col"]
                line = "\t".join(shown).strip("\t")
                if line.strip():
                    layout.add_line(line, cells, table=tables)
            tables += 1
    return layout
