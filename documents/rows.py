"""From layout rows to table rows: a label and its values, however the source spelled them.

Handles the spellings seen in real reports: one grid row per table row (HTML, DOCX);
a label on one line and its values on the next (Pingqiao); a label wrapped over several
lines before its values (PDF text); one cell per line (stacked). Then ``fit`` reads a
row's values into k columns, and when a row carries more values than columns it works
out every reading (drop one value at each position) and says whether they agree.

This module must not know report keys; the table mappers give it a plausibility check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from documents.cells import UNREAD_REASON, Value, read_cell
from documents.layout import Cell, Row

# A label line that starts with numbering starts a new label; an unnumbered line right
# after a label continues it (a wrapped label).
_SENTENCE = re.compile(r"[。；;！？]")
_STARTS_NUMBERED = re.compile(r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|[(（]\s*[一二三四五六七八九十\d]+\s*[)）]|\d+\s*[.、．])")


@dataclass
class TableRow:
    line: int  # the line holding the values (or the label when there are none)
    labels: list[str]  # label cells, in order, consecutive duplicates (spans) removed
    values: list[Cell] = field(default_factory=list)  # cells after the last label
    stacked: bool = False  # built from value-only lines that followed a label
    run: bool = False  # its numbers run together in one cell ("5000005"): runs.py reads them
    joined: bool = False  # its values stood on a later line than its label (label lines before them)
    written: list[str] = field(default_factory=list)  # label cells as written, repeats kept (one line)

    @property
    def label(self) -> str:
        return " ".join(self.labels)

    def value_cells(self, k: int) -> list[Cell]:
        """Values without colspan copies, unless only the copies make the count right."""
        own = [c for c in self.values if c.copy != "col"]
        if len(own) != k and len(self.values) == k:
            return list(self.values)
        return own

    @property
    def has_numbers(self) -> bool:
        return any(read_cell(c.text).kind == "number" for c in self.values)


def _split(row: Row) -> tuple[list[str], list[Cell], list[str]]:
    """(label cells without repeats, value cells, label cells as written)."""
    kinds = [read_cell(c.text).kind for c in row.cells]
    last = max((i for i, k in enumerate(kinds) if k == "label"), default=-1)
    labels: list[str] = []
    written: list[str] = []
    for cell in row.cells[: last + 1]:
        text = cell.text.strip()
        if text and not cell.copy:
            written.append(text)
        if text and (not labels or labels[-1] != text):
            labels.append(text)
    return labels, list(row.cells[last + 1:]), written


def assemble(rows: Sequence[Row]) -> list[TableRow]:
    """Join layout rows into table rows (see the module docstring)."""
    out: list[TableRow] = []
    run: list[tuple[list[str], int]] = []  # label-only lines waiting for their values
    written: dict[int, list[str]] = {}  # line → its label cells as written

    def flush_run() -> None:
        for labels, line in run:
            out.append(TableRow(line, labels, written=written.get(line, labels)))
        run.clear()

    for row in rows:
        if row.run:  # label, then its numbers run together (reflow.py): one cell, not a label
            flush_run()
            out.append(TableRow(row.line, [row.cells[0].text], list(row.cells[1:]), run=True))
            continue
        labels, values, written[row.line] = _split(row)
        numbers = any(read_cell(c.text).kind == "number" for c in values)
        if labels and not numbers:
            text = " ".join(labels)
            if run and (_STARTS_NUMBERED.match(text) or len(labels) > 1 or row.table is not None):
                flush_run()  # a new label begins; earlier lines were headers or groups
            if (row.table is not None and values) or any(c.text.strip() for c in values):
                # A grid row left blank, or a text row whose cells say "—" / "/": a row
                # with its values not filled in, not a label waiting for values.
                flush_run()
                out.append(TableRow(row.line, labels, values))
                continue
            run.append((labels, row.line))
            continue
        if labels:  # a label with its values on one line
            text = " ".join(labels)
            if run and len(labels) == 1 and not _STARTS_NUMBERED.match(text) and row.table is None \
                    and _STARTS_NUMBERED.match(run[-1][0][0]) and not _SENTENCE.search(run[-1][0][0] + text):
                # The end of a wrapped label beside its values ("5.要求行政机关确认或重新" then
                # "出具已获取信息 0 0 0 …": a text layer puts the values on the middle line).
                labels = ["".join(" ".join(lb) for lb, _ in run[-1:]) + text]
                del run[-1:]
            flush_run()
            out.append(TableRow(row.line, labels, values, run=row.run))
            continue
        # Values without a label: they belong to the label line(s) just before, or
        # continue a stacked row (one value per line).
        if run:
            # The label is the last label line, joined with the lines it wraps from: back
            # to the last numbered line ("5.要求…重 新出具" + "已获取信息"). Earlier lines
            # are headers (stacked 信息内容 / 本年制发件数 / …) and stay rows of their own.
            numbered = [i for i, (labels, _) in enumerate(run) if _STARTS_NUMBERED.match(labels[0])]
            start = numbered[-1] if numbered else len(run) - 1
            parts = run[start:]
            joined = parts[0][0] if len(parts) == 1 else ["".join(" ".join(lb) for lb, _ in parts)]
            del run[start:]
            flush_run()
            out.append(TableRow(row.line, joined, values, stacked=row.table is None and len(values) == 1,
                                joined=True))
        elif out and out[-1].stacked and len(values) == 1 and row.table is None:
            out[-1].values.extend(values)
        else:
            out.append(TableRow(row.line, [], values))
    flush_run()
    return out


@dataclass
class Fit:
    values: list[Value]  # exactly k entries when status is not "short"
    # "exact", "extra_agree", "extra_differ", "short_placed" (fewer values than columns,
    # placed where every plausible placement agrees; the rest are "unknown"), "short"
    status: str
    given: int  # how many value cells the row had
    doubtful: set[int] = field(default_factory=set)  # column positions whose reading differs
    reason: str | None = None  # why those positions are doubtful, when the status does not say

UNKNOWN = Value("unknown")


def fit(cells: Sequence[Cell], k: int, check: Callable[[list[Value]], bool] | None = None) -> Fit:
    """Read ``cells`` into ``k`` columns. A cell OCR saw ink in but recognised no number in
    (cells.UNREAD_CELL) holds its column and is doubtful, with the reason, never a blank."""
    result = _fit(cells, k, check)
    unread = {i for i, v in enumerate(result.values) if v.kind == "unread"}
    if unread and result.status != "short":
        result.reason = result.reason or (UNREAD_REASON if not result.doubtful else None)
        result.doubtful |= unread
    return result


def _fit(cells: Sequence[Cell], k: int, check: Callable[[list[Value]], bool] | None = None) -> Fit:
    vals = [read_cell(c.text) for c in cells]
    while len(vals) > k and vals and vals[0].kind == "blank":
        vals.pop(0)  # spacer cells between a label and its values (tab-separated copies)
    while len(vals) > k and vals and vals[-1].kind == "blank":
        vals.pop()
    given = len(vals)
    if given == k:
        return Fit(vals, "exact", given)
    if given < k:
        return _place(vals, k, check) if check is not None else Fit(vals, "short", given)
    if given - k > 3:
        return Fit(vals, "short", given)
    readings: dict[tuple, list[Value]] = {}
    counts: dict[tuple, int] = {}
    for drop in combinations(range(given), given - k):
        reading = [v for i, v in enumerate(vals) if i not in drop]
        key = tuple((v.kind, v.number) for v in reading)
        readings.setdefault(key, reading)
        counts[key] = counts.get(key, 0) + 1
    if len(readings) == 1:
        return Fit(next(iter(readings.values())), "extra_agree", given)
    plausible = [key for key, r in readings.items() if check is not None and check(r)]
    if len(plausible) == 1:
        return Fit(readings[plausible[0]], "extra_agree", given)
    pool = plausible or list(readings)
    best = max(pool, key=lambda key: counts[key])  # max keeps the first of equal counts
    differ = {i for i in range(k) if len({key[i] for key in pool}) > 1}
    return Fit(readings[best], "extra_differ", given, differ)


def _place(vals: list[Value], k: int, check: Callable[[list[Value]], bool]) -> Fit:
    """Fewer values than columns: blank cells the text does not show (a PDF text layer
    drops empty cells). Try every order-keeping placement of the values into the k
    columns; keep those the check accepts; a column is read only where every kept
    placement gives it the same value, and is doubtful ("unknown") otherwise."""
    given = len(vals)
    if given < 2 or any(v.kind != "number" for v in vals) or k - given > 6:
        return Fit(vals, "short", given)
    blank = Value("blank")
    kept: list[list[Value]] = []
    for where in combinations(range(k), given):
        reading = [blank] * k
        for pos, v in zip(where, vals):
            reading[pos] = v
        if check(reading):
            kept.append(reading)
    if not kept:
        return Fit(vals, "short", given)
    out: list[Value] = []
    unsure: set[int] = set()
    for i in range(k):
        seen = {(r[i].kind, r[i].number) for r in kept}
        if len(seen) == 1:
            out.append(kept[0][i])
        else:
            out.append(UNKNOWN)
            unsure.add(i)
    return Fit(out, "short_placed", given, unsure)
