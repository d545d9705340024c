"""Section 二 (主动公开) table → ``active.*`` (2021 template) or ``active2019.*`` keys.

The table is a series of blocks (第二十条第（一）项, （五）, （六）, （八）, and in 2019 （九）),
each a header row naming its columns and rows naming an item. Columns are read from
the header words, so the same code reads both templates; a block whose header has a
2019-only column (本年新制作数量, 上一年项目数量, 采购项目数量, …) gives 2019 keys.

2021 keys (report-fields.md): active.rules|normative.issued|repealed|in_force,
active.licensing|penalty|enforcement.decisions, active.fees.amount (万元).

2019 keys, defined here (domain.md §2.2):
  active2019.rules|normative.new        本年新制作数量
  active2019.rules|normative.published  本年新公开数量
  active2019.rules|normative.total      对外公开总数量
  active2019.licensing|other_services|penalty|enforcement.prior_items  上一年项目数量
  active2019.licensing|other_services|penalty|enforcement.change       本年增/减 (may be negative)
  active2019.licensing|other_services|penalty|enforcement.decisions    处理决定数量
  active2019.fees.prior_items / active2019.fees.change                 行政事业性收费
  active2019.procurement.items          采购项目数量
  active2019.procurement.amount         采购总金额, in 万元 (a cell written in 元 is converted)

This module must not guess columns the header does not name.
"""

from __future__ import annotations

import re
from functools import lru_cache

from documents.cells import display_label, norm_label
from documents.layout import Cell
from documents.rows import Fit, TableRow, fit
from documents.runs import agreed, is_run, readings
from documents.tables_common import Sink

# (pattern on the normalised header, column key, template it belongs to or None for both)
_COLUMNS = [
    (r"本年制发", "issued", "2021"), (r"本年废止", "repealed", "2021"), (r"现行有效", "in_force", "2021"),
    (r"本年新制作", "new", "2019"), (r"本年新公开", "published", "2019"), (r"对外公开总", "total", "2019"),
    (r"上一年项目|上年项目", "prior_items", "2019"), (r"本年增减|增减", "change", "2019"),
    (r"采购项目数", "items", "2019"), (r"采购总金额", "amount", "2019"),
    (r"处理决定", "decisions", None), (r"收费金额", "amount", "2021"),
]
_ROWS = [
    (r"^规章", "rules"), (r"规范性文件", "normative"), (r"其他对外管理服务", "other_services"),
    (r"行政许可", "licensing"), (r"行政处罚", "penalty"), (r"行政强制", "enforcement"),
    (r"行政事业性收费|^收费", "fees"), (r"集中采购", "procurement"),
]


_COLUMN_PATTERNS = [(re.compile(pattern), key, template) for pattern, key, template in _COLUMNS]
_ROW_PATTERNS = [(re.compile(pattern), key) for pattern, key in _ROWS]


@lru_cache(maxsize=4096)  # header words repeat from row to row and report to report
def _token_columns(token: str) -> tuple[tuple[int, str, str, str | None], ...]:
    """(position, key, label as written, template) of each column one header word names."""
    norm = norm_label(token, keep_notes=True)
    found = []
    for pattern, key, template in _COLUMN_PATTERNS:
        m = pattern.search(norm)
        if m:
            found.append((m.start(), key, display_label(token), template))
    return tuple(found)


def _header(labels: list[str]) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """Columns named in header cells, in order: (key, label as written, template); and the
    key of every header cell naming one, repeats kept (a spanned cell written in each of
    its columns: 本年增/减 | 本年增/减)."""
    found = []
    for ci, cell in enumerate(labels):
        for ti, token in enumerate(cell.split()):
            for start, key, label, template in _token_columns(token):
                found.append((ci, ti, start, key, label, template))
    found.sort()
    cols: list[tuple[str, str, str | None]] = []
    for *_, key, label, template in found:
        if not any(c[0] == key for c in cols):
            cols.append((key, label, template))
    return cols, [f[3] for f in found]


def _spanned(cells: list, cell_keys: list[str], keys: list[str]) -> list | None:
    """A row written under a header whose spanned cells repeat (one value per header cell):
    one value per column, when the repeated cells hold the same value; else None."""
    if len(cells) != len(cell_keys) or len(cell_keys) <= len(keys) or set(cell_keys) != set(keys):
        return None
    values: dict[str, str] = {}
    for cell, key in zip(cells, cell_keys):
        text = cell.text.strip()
        if values.setdefault(key, text) != text:
            return None
    return [values[k] for k in keys]


def _run(text: str, columns: list[str]) -> Fit:
    """A row whose numbers run together: read where the cut is certain. Section 二 has no
    identity between its columns, so a row that can be cut two ways stays doubtful."""
    kinds = ["signed" if c == "change" else "amount" if c == "amount" else "count" for c in columns]
    found = readings(text, kinds)
    if not found:
        return Fit([], "short", len(text))
    values, differ = agreed(found, len(columns))
    return Fit(values, "run_differ" if differ else "run", len(text), differ,
               reason=f"the row's numbers run together ({text}) and can be cut into its {len(columns)}"
                      f" columns {len(found)} ways")


def read_active(rows: list[TableRow], sink: Sink) -> str | None:
    """Read the table; return the template its columns show ("2021", "2019") or None."""
    columns: list[tuple[str, str, str | None]] = []
    cell_keys: list[str] = []  # the header's cells, repeats kept
    fresh = False  # the last row was a header: a further header row extends it (stacked)
    mode: str | None = None
    for row in rows:
        cols, named = _header(row.written or row.labels)
        if cols and not row.has_numbers:
            if fresh:
                columns += [c for c in cols if c[0] not in {x[0] for x in columns}]
                cell_keys += named
            else:
                columns, cell_keys = cols, named
            fresh = True
            templates = {c[2] for c in columns if c[2]}
            if len(templates) == 1:
                mode = templates.pop()
            continue
        fresh = False
        if not columns or not row.labels or not row.values:
            continue
        label = norm_label(row.labels[-1])
        item = next((key for pattern, key in _ROW_PATTERNS if pattern.search(label)), None)
        if item is None:
            continue
        prefix = "active2019" if mode == "2019" else "active"
        keys = [f"{prefix}.{item}.{c[0]}" for c in columns]
        labels = [c[1] for c in columns]
        wan = [i for i, c in enumerate(columns) if c[0] == "amount"]
        if row.run and len(row.values) == 1 and (len(keys) == 1 or is_run(row.values[0].text, len(keys))):
            result = _run(row.values[0].text, [c[0] for c in columns])
        else:
            cells = row.value_cells(len(keys))
            one_each = _spanned(cells, cell_keys, [c[0] for c in columns])
            result = fit([Cell(t) for t in one_each] if one_each else cells, len(keys))
        sink.take_row(section="二", label=display_label(row.labels[-1]), line=row.line, result=result,
                      keys=keys, columns=labels, wan_yuan=wan)
    return mode
