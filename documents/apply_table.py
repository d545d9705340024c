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
from documents.rows import Fit, TableRow, fit
from documents.runs import agreed, is_run, readings, solve
from documents.shredded import is_shredded, pair
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
_NUMBERED_LABEL = re.compile(r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|[(（]\s*[一二三四五六七八九十\d]+\s*[)）]|\d+\s*[.、．])")
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


_LEGAL = {"business", "research", "nonprofit", "legal", "other_org", "subtotal"}


def _flattened(cols: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A two-row header flattened into one row (自然人 法人或其他组织 总计 商业企业 … 其他): the
    columns written after the group's siblings are the group's own, in its place."""
    names = [k for k, _ in cols]
    if "group" not in names:
        return cols
    at = names.index("group")
    later = [c for c in cols[at + 1:] if c[0] in _LEGAL]
    if not later or names[at + 1:at + 1 + len(later)] == [k for k, _ in later]:
        return [c for c in cols if c[0] != "group"] if later else cols
    rest = [c for c in cols[at + 1:] if c[0] not in _LEGAL]
    return cols[:at] + later + rest


class _Columns:
    """The value columns the table's header names; the template's seven by default.

    Header rows stack (自然人 | 法人或其他组织 | 总计 over 商业企业 … 其他) or come one cell per
    line (自然人, 法人或其他组织, 总计, 商业企业, …): the 法人或其他组织 columns take the
    group's place, in the order written."""

    def __init__(self) -> None:
        self.header: list[tuple[str, str]] = []
        self.fresh = False
        self.insert_at: int | None = None  # where further 法人或其他组织 columns go

    def see_header(self, labels: list[str]) -> bool:
        cols = _header_columns(labels)
        starts = sum(1 for k, _ in cols if k != "group") >= 2 or (cols and cols[0][0] == "natural")
        if not cols or not (starts or self.fresh):
            self.fresh = False
            return False
        if self.fresh:
            self._merge(cols)
        else:
            self.header, self.insert_at = _flattened(cols), None
        self.fresh = True
        return True

    def _merge(self, new: list[tuple[str, str]]) -> None:
        names = [k for k, _ in self.header]
        add = [c for c in new if c[0] not in names]
        legal = bool(add) and all(c[0] in _LEGAL for c in add)
        if legal and "group" in names:
            at = names.index("group")
            self.header[at:at + 1] = add
            self.insert_at = at + len(add)
        elif legal and self.insert_at is not None:
            self.header[self.insert_at:self.insert_at] = add
            self.insert_at += len(add)
        elif len(new) == 1:
            self.header += add  # one header cell per line: in the order written
        elif len(new) >= len(self.header):
            self.header, self.insert_at = list(new), None

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
    runs: list[tuple[str, str, int, str]] = []  # rows whose numbers run together: read last, together
    shredded = is_shredded(rows, k)  # rows of numbers without labels: matched by order at the end
    for index, row in enumerate(rows):
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
        if shredded and row.joined:
            continue  # its label and numbers may not belong together: paired at the end
        if not row.values or not row.labels and not row.has_numbers:
            continue
        key, item = match_row(row.labels, group)
        following = rows[index + 1] if index + 1 < len(rows) else None
        if key is None and row.labels and following is not None and following.labels and not following.has_numbers \
                and not _NUMBERED_LABEL.match(following.labels[0]):
            # A row split over two lines, its numbers with the first part of its label
            # ("| 1.申请人无正当理由逾 | 3 | 0 | …" then "| 期不补正、…申请 | | …").
            key, item = match_row(["".join(row.labels) + "".join(following.labels)], group)
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
        if row.run and len(row.values) == 1:
            order = [c for c, _ in layout] if layout else list(APPLICANT_COLUMNS)
            if is_run(row.values[0].text, len(order)):
                runs.append((key, label, row.line, row.values[0].text))
                continue
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
    if runs:
        _read_runs(runs, layout, sink)
    if shredded:
        _read_shredded(rows, sink)
    if matched_lines:
        for line, text in unknown:
            if matched_lines[0] < line < matched_lines[-1] + 3:
                sink.problems.append({"kind": "unknown_row", "where": f"三 {text}, line {line}",
                                      "detail": "a row the template does not have; its numbers are not read"})


_TOP = ("new", "carried", "results_total", "carry_forward")
_RESULTS = [key for key, _, _ in ROWS if key not in _TOP]


def _read_runs(runs: list[tuple[str, str, int, str]], layout: list[tuple[str, str]] | None, sink: Sink) -> None:
    """Rows whose numbers run together: every reading of each row that adds up, then the
    ones the whole table's identities allow (runs.py), read or marked doubtful."""
    order = [c for c, _ in layout] if layout else list(APPLICANT_COLUMNS)
    check = _adds_up_with(layout) if layout else _row_adds_up
    at = {c: i for i, c in enumerate(order)}
    options: dict[str, list[tuple[Value, ...]]] = {}
    for key, _, _, text in runs:
        every = readings(text, ["count"] * len(order))
        options[key] = [r for r in every if check(list(r))] or every
    fixed: dict[str, list[Value]] = {}
    for key, _, _ in ROWS:
        found = [sink.fields.get(f"apply.{key}.{c}") for c in order if c != "subtotal"]
        if key not in options and any(v is not None for v in found):
            fixed[key] = [Value("number", v) if v is not None else Value("blank") for v in found]
            if "subtotal" in at:
                fixed[key].insert(at["subtotal"], Value("blank"))

    def holds(table) -> bool:
        return _identities_hold(table, at)

    kept, settled = solve(options, fixed, holds)
    keep = [i for i, c in enumerate(order) if c != "subtotal"]
    names = dict(layout) if layout else dict(zip(APPLICANT_COLUMNS, COLUMN_LABELS))
    for key, label, line, text in runs:
        found = kept[key]
        if not found:
            result = Fit([], "short", len(text))
        else:
            values, differ = agreed(found, len(order))
            how = ("the table's identities allow" if settled else
                   "each add up to the row's 总计 (the table's identities, which do not hold, cannot settle it)")
            result = Fit([values[i] for i in keep], "run" if not differ else "run_differ", len(text),
                         {keep.index(i) for i in differ if i in keep},
                         reason=f"the row's numbers run together ({text}) and can be read {len(found)} ways that {how}")
        sink.take_row(section="三", label=label, line=line, result=result,
                      keys=[f"apply.{key}.{order[i]}" for i in keep], columns=[names[order[i]] for i in keep])


_GROUP_WORDS = {"不予公开", "无法提供", "不予处理", "本年度办理结果", "办理结果"}
_ORDER = [key for key, _, _ in ROWS]


def _mention(text: str, subrows: bool) -> str | None:
    """The row a label names, matched strictly (a group label or a header fragment names
    none). ``subrows``: the table has the 2021 sub-rows of （六）, so 其他处理 is their group."""
    norm = norm_label(text)
    if len(norm) < 2 or norm in _GROUP_WORDS or norm.startswith("本列数据") or (subrows and norm == "其他处理"):
        return None
    key = _match((norm,), _group_of(text), text)
    if key is None:
        return None
    canon = next(c for k, c, _ in ROWS if k == key)
    return key if key == "other.other" or _score(norm, canon) >= 0.7 else None


def _read_shredded(rows: list[TableRow], sink: Sink) -> None:
    """Rows whose numbers lost their labels (shredded.py): paired by order, then checked
    against the table's identities; rows that cannot be paired with certainty are doubtful."""
    k = len(APPLICANT_COLUMNS)
    trusted = {key for key, _, _ in ROWS if f"apply.{key}.total" in sink.fields or f"apply.{key}.natural" in sink.fields}
    texts = ["".join(r.labels) for r in rows if r.labels]
    subrows = any(_mention(t, False) in ("other.no_correction", "other.unpaid_fee") for t in texts)
    found = pair(rows, k, trusted, _ORDER, lambda text: _mention(text, subrows))
    if not found.pairs and not found.unsure:
        return
    fits = {key: (label, row, fit(row.value_cells(k), k, _row_adds_up)) for key, label, row in found.pairs}
    reason = found.reason
    if fits:
        table = {key: [Value("number", sink.fields[f"apply.{key}.{c}"]) if f"apply.{key}.{c}" in sink.fields
                       else Value("blank") for c in APPLICANT_COLUMNS] for key in trusted}
        table.update({key: f.values for key, (_, _, f) in fits.items() if f.status == "exact"})
        if len(table) < len(trusted) + len(fits) or not _identities_hold(table):
            reason = ("rows of numbers stand apart from their labels; matched in order they break the table's"
                      " identities, so the match is not certain")
            found.unsure += [(key, label) for key, (label, _, _) in fits.items()]
            fits = {}
    for key, (label, row, result) in fits.items():
        sink.take_row(section="三", label=display_label(label), line=row.line, result=result,
                      keys=[f"apply.{key}.{c}" for c in APPLICANT_COLUMNS], columns=COLUMN_LABELS)
    for key, label in found.unsure:
        for c in APPLICANT_COLUMNS:
            sink.doubtful.setdefault(f"apply.{key}.{c}", f"{reason} (三 {display_label(label)}); not read")
    sink.problems.append({"kind": "shredded_rows", "where": "三",
                          "detail": (f"{len(fits)} row(s) had their numbers apart from their labels (a converted"
                                     f" PDF); matched in the table's order and checked against its identities"
                                     if fits else "") + ("; " if fits and found.unsure else "")
                                    + (f"{len(found.unsure)} row(s) could not be matched: {reason}"
                                       if found.unsure else "")})


def _identities_hold(table: dict[str, list[Value]], at: dict[str, int] | None = None) -> bool:
    """The column identities of table 三 on rows given as value lists (``at``: column →
    position, the template's order by default). A check that needs a blank cell is skipped:
    a blank says nothing either way."""
    at = at or {c: i for i, c in enumerate(APPLICANT_COLUMNS)}
    results = [k for k in _RESULTS if k in table]
    for col in APPLICANT_COLUMNS:
        i = at[col]

        def n(key: str) -> float | None:
            value = table[key][i]
            return value.number if value.kind == "number" else None

        if all(k in table for k in _TOP):
            parts = [n(k) for k in _TOP]
            if None not in parts and parts[0] + parts[1] != parts[2] + parts[3]:
                return False
        if "results_total" in table and results:
            parts = [n(k) for k in results]
            total = n("results_total")
            if total is not None and None not in parts and total != sum(parts):
                return False
    return True


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
