"""Section 四 (行政复议、行政诉讼) table → ``review.*``, ``litigation.direct.*``, ``litigation.after_review.*``.

The official layout is one row of 15 numbers under stacked headers: 行政复议 (5), then
行政诉讼 split into 未经复议直接起诉 (5) and 复议后起诉 (5), each 结果维持 · 结果纠正 ·
其他结果 · 尚未审结 · 总计. Some agencies transpose it into three labelled rows of five;
both are read. A 16-value row is resolved like any row with an extra value, checking
that each group's 总计 equals its four parts.

This module must not read prose; narrative.py reads "没有行政诉讼" and the like.
"""

from __future__ import annotations

from documents.cells import Value, display_label, norm_label
from documents.rows import Fit, TableRow, fit
from documents.runs import agreed, is_run, readings
from documents.tables_common import Sink

PARTS = ("upheld", "corrected", "other", "pending", "total")
PART_LABELS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
GROUPS = (("review", "行政复议"), ("litigation.direct", "未经复议直接起诉"), ("litigation.after_review", "复议后起诉"))


def _adds_up(values: list[Value]) -> bool:
    nums = [v.number if v.kind == "number" else 0 for v in values]
    return all(sum(nums[g * 5: g * 5 + 4]) == nums[g * 5 + 4] for g in range(len(nums) // 5))


def _group_of(label: str) -> int | None:
    norm = norm_label(label, keep_notes=True)  # 行政诉讼（复议后起诉）: the note is the group
    if "复议后" in norm:
        return 2
    if "直接起诉" in norm or "未经复议" in norm:
        return 1
    if "复议" in norm:
        return 0
    return None


def read_appeals(rows: list[TableRow], sink: Sink) -> None:
    keys = [f"{g}.{p}" for g, _ in GROUPS for p in PARTS]
    columns = [f"{gl} / {pl}" for _, gl in GROUPS for pl in PART_LABELS]
    for row in rows:
        if row.run and len(row.values) == 1 and is_run(row.values[0].text, 15):
            text = row.values[0].text
            found = [r for r in readings(text, ["count"] * 15) if _adds_up(list(r))]
            values, differ = agreed(found, 15) if found else ([], set())
            result = Fit(values, "short" if not found else "run_differ" if differ else "run", len(text), differ,
                         reason=f"the row's numbers run together ({text}) and can be read {len(found)} ways"
                                f" in which each group adds up to its 总计")
            sink.take_row(section="四", label="", line=row.line, result=result, keys=keys, columns=columns)
            return
        cells = row.value_cells(15)
        if sum(1 for c in cells if c.text.strip()) >= 15:
            result = fit(cells, 15, _adds_up)
            sink.take_row(section="四", label="", line=row.line, result=result, keys=keys, columns=columns)
            return
    # Transposed layout: one labelled row of five per group.
    for row in rows:
        if not row.labels or not row.has_numbers:
            continue
        g = _group_of(row.labels[-1])
        if g is None or any(k in sink.fields for k in keys[g * 5: g * 5 + 5]):
            continue
        if row.run and len(row.values) == 1 and is_run(row.values[0].text, 5):
            text = row.values[0].text
            found = [r for r in readings(text, ["count"] * 5) if _adds_up(list(r))]
            values, differ = agreed(found, 5) if found else ([], set())
            result = Fit(values, "short" if not found else "run_differ" if differ else "run", len(text), differ,
                         reason=f"the row's numbers run together ({text}) and can be read {len(found)} ways"
                                f" that add up to its 总计")
        else:
            result = fit(row.value_cells(5), 5, _adds_up)
        sink.take_row(section="四", label=display_label(row.labels[-1]), line=row.line, result=result,
                      keys=keys[g * 5: g * 5 + 5], columns=PART_LABELS)
