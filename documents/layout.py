"""The reading model every format is turned into: numbered lines, each split into cells.

HTML, plain text, PDF and DOCX readers all produce a ``Layout``; sections, tables and
prose are then read from it the same way, so a rule about "a label on one line and its
values on the next" is written once, not once per format.

This module holds data only: no parsing, no mapping to report keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Cell(NamedTuple):  # not a frozen dataclass: built in 200 ns instead of 320, and a grid makes hundreds
    text: str
    # "col" for a copy made when expanding colspan, "row" for one made by rowspan.
    # Copies let label matching see every grid cell while value reading can ignore them.
    copy: str | None = None


@dataclass
class Row:
    line: int  # 1-based line of Layout.lines where the row stands
    cells: list[Cell]
    table: int | None = None  # index of the source <table> (HTML, DOCX); None for text rows
    run: bool = False  # a row whose numbers run together in one cell (reflow.py, runs.py)


@dataclass
class Layout:
    lines: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)  # one per non-blank line, in order
    table_lines: set[int] = field(default_factory=set)  # lines that are rows of a real table
    hints: dict[str, Any] = field(default_factory=dict)  # e.g. published date, <title>

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def add_line(self, text: str, cells: list[Cell] | None = None, table: int | None = None,
                 keep_blank: bool = False, run: bool = False) -> int:
        """Append a line (and its row when it has content, or ``keep_blank``: a line that
        stands for a blank cell); return its 1-based number."""
        self.lines.append(text)
        number = len(self.lines)
        if cells is not None and (keep_blank or any(c.text.strip() for c in cells)):
            self.rows.append(Row(number, cells, table, run) if run else Row(number, cells, table))
            if table is not None:
                self.table_lines.add(number)
        return number
