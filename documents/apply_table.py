"""Section 三 (applications) rows × columns → ``apply.<row>.<column>`` fields.

Row labels are matched by meaning, not by exact text: numbering, notes and spaces are
ignored, a label containing a canonical label wins, otherwise the closest one by
similarity (typos such as 其他法律行政止公开 still match), and the current group
(（三）不予公开, （四）无法提供, …) settles short labels such as "3.其他". The 2019
template's single （六）其他处理 row becomes ``other.other``. Columns follow the fixed
order of the template (自然人, five 法人或其他组织 columns, 总计).

This module must not decide what a correct report is; it reads what the table states.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache

from documents.cells import Value, display_label, norm_label
from documents.report import APPLICANT_COLUMNS
from documents.rows import TableRow, fit
from documents.tables_common import Sink

COLUMN_LABELS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")

# (key, canonical label, group). Group None = a top-level row.
ROWS: list[tuple[str, str, str | None]] = [
    ("new", "本年新收政府信息公开申请数量", None),
    ("carried", "上年结转政府信息公开申请数量", None),
    ("granted", "予以公开", None),
    ("partial", "部分公开", None),
    ("withheld.state_secret", "属于国家秘密", "withheld"),
    ("withheld.law_forbidden", "其他法律行政法规禁止公开", "withheld"),
    ("withheld.security_stability", "危及三安全一稳定", "withheld"),
    ("withheld.third_party", "保护第三方合法权益", "withheld"),
    ("withheld.internal_affairs", "属于三类内部事务信息", "withheld"),
    ("withheld.process_info", "属于四类过程性信息", "withheld"),
    ("withheld.enforcement_file", "属于行政执法案卷", "withheld"),
    ("withheld.inquiry", "属于行政查询事项", "withheld"),
    ("unable.not_held", "本机关不掌握相关政府信息", "unable"),
    ("unable.needs_creation", "没有现成信息需要另行制作", "unable"),
    ("unable.unclear", "补正后申请内容仍不明确", "unable"),
    ("rejected.petition", "信访举报投诉类申请", "rejected"),
    ("rejected.repeat", "重复申请", "rejected"),
    ("rejected.publication", "要求提供公开出版物", "rejected"),
    ("rejected.mass_repeat", "无正当理由大量反复申请", "rejected"),
    ("rejected.confirm_existing", "要求行政机关确认或重新出具已获取信息", "rejected"),
    ("other.no_correction", "申请人无正当理由逾期不补正行政机关不再处理其政府信息公开申请", "other"),
    ("other.unpaid_fee", "申请人逾期未按收费通知要求缴纳费用行政机关不再处理其政府信息公开申请", "other"),
    ("other.other", "其他处理", "other"),
    ("results_total", "总计", None),
    ("carry_forward", "结转下年度继续办理", None),
]
# Canonical labels that name one row unambiguously (other.other's "其他处理" is a group word).
_EXACT = {canon: key for key, canon, _ in ROWS if key != "other.other"}
_GROUPS = [("withheld", "不予公开"), ("unable", "无法提供"), ("rejected", "不予处理"), ("other", "其他处理")]
_ITEM_NUMBER = re.compile(r"^\s*(\d+)\s*[.、．]")
_THRESHOLD = 0.6


def _group_of(text: str) -> str | None:
    norm = norm_label(text)
    for group, word in _GROUPS:
        if word in norm:
            return group
    return None


def _score(text: str, canon: str) -> float:
    if not text:
        return 0.0
    if text == canon:
        return 1.0
    if canon in text:
        return 0.5 + 0.5 * len(canon) / len(text)
    return SequenceMatcher(None, text, canon).ratio()


def match_row(labels: list[str], group: str | None) -> tuple[str | None, str]:
    """(row key or None, the label text that matched) for a row's label cells."""
    item = labels[-1] if labels else ""
    texts = [norm_label(item)]
    if len(labels) > 1:
        texts.append(norm_label("".join(labels)))
    return _match(tuple(texts), group, item), item


@lru_cache(maxsize=4096)  # labels repeat from report to report: match each spelling once
def _match(texts: tuple[str, ...], group: str | None, item: str) -> str | None:
    if texts[0] == "其他" and group in (None, "other"):
        return "other.other"  # "3.其他" under （六）其他处理
    exact = _EXACT.get(texts[0])
    if exact is not None:
        return exact
    best, best_score = None, 0.0
    for key, canon, grp in ROWS:
        for text in texts:
            score = _score(text, canon) + (0.05 if group and grp == group else 0.0)
            if score > best_score:
                best, best_score = key, score
    if best_score >= _THRESHOLD:
        return best
    m = _ITEM_NUMBER.match(item)
    if m and group:  # a badly garbled item label: fall back on its number within the group
        members = [key for key, _, grp in ROWS if grp == group]
        n = int(m.group(1))
        if 1 <= n <= len(members):
            return members[n - 1]
    return None


def _row_adds_up(values: list[Value]) -> bool:
    nums = [v.number if v.kind == "number" else 0 for v in values]
    return values[-1].kind == "number" and sum(nums[:-1]) == nums[-1]


# Header words → column. 社会组织 / 公益组织 are local names of 社会公益组织; 小计 is a
# 法人或其他组织 subtotal some agencies add (not in the template: read, then left out).
_HEADER_WORDS = [
    ("natural", re.compile(r"^自然人$")), ("business", re.compile(r"^商业企业$")),
    ("research", re.compile(r"^科研机构$")), ("nonprofit", re.compile(r"^(?:社会公益组织|社会组织|公益组织)$")),
    ("legal", re.compile(r"^法律服务机构$")), ("other_org", re.compile(r"^其他(?:组织)?$")),
    ("subtotal", re.compile(r"小计$")), ("total", re.compile(r"^(?:总计|合计)$")),
    ("group", re.compile(r"^法人或其他组织$")),
]


def _header_columns(labels: list[str]) -> list[tuple[str, str]]:
    """(column, label) for each header cell naming an applicant column, in order."""
    out: list[tuple[str, str]] = []
    for text in labels:
        norm = norm_label(text)
        for key, pattern in _HEADER_WORDS:
            if pattern.search(norm):
                if not out or out[-1][0] != key:
                    out.append((key, display_label(text)))
                break
    return out


def _merge_header(current: list[tuple[str, str]], new: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Stacked header rows: 自然人 | 法人或其他组织 | 总计 over 商业企业 … 其他."""
    if not current:
        return new
    names = [k for k, _ in current]
    if "group" in names:
        at = names.index("group")
        extra = [c for c in new if c[0] not in names or c[0] == "group"]
        return current[:at] + [c for c in extra if c[0] != "group"] + current[at + 1:]
    if len(new) >= len(current):
        return new
    return current


class _Columns:
    """The value columns the table's header names; the template's seven by default."""

    def __init__(self) -> None:
        self.header: list[tuple[str, str]] = []
        self.fresh = False

    def see_header(self, labels: list[str]) -> bool:
        cols = _header_columns(labels)
        if sum(1 for k, _ in cols if k != "group") < 2 and not (cols and self.fresh):
            self.fresh = False
            return False
        self.header = _merge_header(self.header if self.fresh else [], cols)
        self.fresh = True
        return True

    def layout(self) -> list[tuple[str, str]] | None:
        """Leaf columns when the header is usable and differs from the template's order."""
        leaves = [c for c in self.header if c[0] != "group"]
        keys = [k for k, _ in leaves]
        if "natural" not in keys or "total" not in keys or len(set(keys)) != len(keys):
            return None
        if set(keys) - {"subtotal"} != set(APPLICANT_COLUMNS):
            return None
        return leaves


def read_apply(rows: list[TableRow], sink: Sink) -> None:
    group: str | None = None
    k = len(APPLICANT_COLUMNS)
    columns = _Columns()
    layout: list[tuple[str, str]] | None = None
    noted: set[str] = set()
    matched_lines: list[int] = []
    unknown: list[tuple[int, str]] = []
    for row in rows:
        for text in row.labels:
            found = _group_of(text)
            if found:
                group = found
        if not row.has_numbers and row.labels and columns.see_header(row.labels):
            layout = columns.layout() or layout
            if layout:
                _note_header(layout, sink, row.line, noted)
            continue
        columns.fresh = False
        if not row.values or not row.labels and not row.has_numbers:
            continue
        key, item = match_row(row.labels, group)
        if key is None:
            if row.labels and row.has_numbers:
                unknown.append((row.line, display_label(" ".join(row.labels))))
            continue
        matched_lines.append(row.line)
        if "." not in key and key != "other.other":
            group = None  # a top-level row ends the current group
        if any(f"apply.{key}.{c}" in sink.fields for c in APPLICANT_COLUMNS):
            continue  # the first row with a label wins; a repeat is usually a header echo
        label = display_label(item)
        if layout and [c for c, _ in layout] != list(APPLICANT_COLUMNS):
            n = len(layout)
            result = fit(row.value_cells(n), n, _adds_up_with(layout))
            order = [c for c, _ in layout]
            if result.status in ("exact", "extra_agree", "extra_differ", "short_placed"):
                keep = [i for i, c in enumerate(order) if c != "subtotal"]
                result.values = [result.values[i] for i in keep]
                result.doubtful = {keep.index(i) for i in result.doubtful if i in keep}
                order = [order[i] for i in keep]
            sink.take_row(section="三", label=label, line=row.line, result=result,
                          keys=[f"apply.{key}.{c}" for c in order],
                          columns=[dict(layout)[c] for c in order])
            continue
        result = fit(row.value_cells(k), k, _row_adds_up)
        sink.take_row(
            section="三", label=label, line=row.line, result=result,
            keys=[f"apply.{key}.{c}" for c in APPLICANT_COLUMNS], columns=COLUMN_LABELS,
        )
    if matched_lines:
        for line, text in unknown:
            if matched_lines[0] < line < matched_lines[-1] + 3:
                sink.problems.append({"kind": "unknown_row", "where": f"三 {text}, line {line}",
                                      "detail": "a row the template does not have; its numbers are not read"})


def _adds_up_with(layout: list[tuple[str, str]]):
    order = [c for c, _ in layout]

    def check(values: list[Value]) -> bool:
        nums = {c: (v.number if v.kind == "number" else 0) for c, v in zip(order, values)}
        parts = sum(nums[c] for c in APPLICANT_COLUMNS[:-1])
        if values[order.index("total")].kind != "number" or parts != nums["total"]:
            return False
        return "subtotal" not in nums or nums["subtotal"] == sum(nums[c] for c in APPLICANT_COLUMNS[1:6])

    return check


def _note_header(layout: list[tuple[str, str]], sink: Sink, line: int, noted: set[str]) -> None:
    for key, label in layout:
        if key == "subtotal" and "subtotal" not in noted:
            noted.add("subtotal")
            sink.problems.append({"kind": "extra_column", "where": f"三 header, line {line}",
                                  "detail": f"a column {label} the template does not have; read and left out"})
        if key == "nonprofit" and norm_label(label) != "社会公益组织" and "nonprofit" not in noted:
            noted.add("nonprofit")
            sink.problems.append({"kind": "renamed_column", "where": f"三 header, line {line}",
                                  "detail": f"column {label} read as 社会公益组织 (nonprofit)"})
