"""Check kinds about the form of a report: ``problems`` (what the parser noticed, as
format findings), ``cells`` (count cells are whole numbers ≥ 0), ``layout`` (the rows and
columns of a table are all there), ``headings`` (the numbering of the six headings, and
lists inside a section numbered like headings) and ``carryover`` (applications carried
into next year against the reply period of 条例 第三十三条, in working days).
Must not load files or score.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from documents.report import SECTION_KEYS, ParsedReport
from rules.checks import Kind, _message, field_values, outcome, register
from rules.fields import KNOWN_FIELDS, NAMED_LISTS, label_of, layout_label
from rules.messages import format_date, render_value
from rules.model import Context, Outcome, Rule
from rules.params import Issues, check_keys
from rules.yamlmarks import line_of

_SECTION_NUMERALS = {"一": "第一部分", "二": "第二部分", "三": "第三部分", "四": "第四部分", "五": "第五部分", "六": "第六部分"}


def _strings(raw: Any, key: str, check: dict, issues: Issues, example: str) -> tuple[str, ...]:
    raw = [raw] if isinstance(raw, str) else raw
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) and x for x in raw):
        issues.add(line_of(check, key, getattr(check, "line", None)), "names_required", key=key, example=example)
        return ()
    return tuple(raw)


# --- problems ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ProblemsParams:
    kinds: tuple[str, ...]


def parse_problems(check: dict, issues: Issues) -> ProblemsParams | None:
    check_keys(check, ("kind", "kinds"), "'problems' 检查", issues)
    kinds = _strings(check.get("kinds"), "kinds", check, issues, "例如 'kinds: [column_count]'")
    return ProblemsParams(kinds) if kinds else None


_COUNTS = re.compile(r"(\d+) row\(s\) have (\d+) values for (\d+) columns")
_ONE = re.compile(r"(\d+) values for (\d+) columns")
_BLANK = re.compile(r"(\d+) cell\(s\) left blank")
_LINES = re.compile(r"lines? (\d+)(?:–(\d+))?")


def describe_problem(problem: dict) -> str:
    """The parser's English note as a Chinese sentence for the agency."""
    where = str(problem.get("where") or "")
    detail = str(problem.get("detail") or "")
    part = _SECTION_NUMERALS.get(where[:1], "")
    table = f"{part}表格" if part else "表格"
    lines = _LINES.search(detail) or _LINES.search(where)
    at = ""
    if lines:
        at = f"（第{lines.group(1)}行" + (f"至第{lines.group(2)}行" if lines.group(2) else "") + "）"
    kind = problem.get("kind")
    if kind == "column_count":
        m = _COUNTS.search(detail)
        if m:
            return f"{table}有{m.group(1)}行填写了{m.group(2)}个数值，而模板为{m.group(3)}列{at}，列数与格式不一致"
        m = _ONE.search(detail)
        if m:
            return f"{table}一行填写了{m.group(1)}个数值，而模板为{m.group(2)}列{at}，列数与格式不一致"
        return f"{table}列数与格式不一致{at}"
    if kind == "blank_cells":
        m = _BLANK.search(detail)
        return f"{table}有{m.group(1) if m else '若干'}个单元格空白或以“—”“/”等代替数字，应填写数字（没有则填0）"
    if kind == "unit":
        return f"{table}金额单位与表头不一致（表头为万元，单元格写作元{at}）"
    if kind == "extra_column":
        return f"{table}多出模板没有的一列{at}，该列未计入"
    if kind == "renamed_column":
        return f"{table}的“社会公益组织”列名称与模板不同{at}，已按该列读取"
    if kind == "unknown_row":
        return f"{table}有模板没有的一行{at}，该行数字未读取"
    if kind == "transposed_table":
        return f"{table}行列颠倒（申请人类型为行、办理结果为列）{at}，已按模板方向读取"
    if kind == "traditional_script":
        return "报告使用繁体字，已转换为简体字读取"
    return f"{table}格式与模板不一致{at}"


def run_problems(rule: Rule, p: ProblemsParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    found = [pr for pr in report.problems if isinstance(pr, dict) and pr.get("kind") in p.kinds]
    evidence = {"kinds": list(p.kinds), "problems": found[:10]}
    if not found:
        return [outcome(rule, "", "pass", "解析时未发现此类格式问题。", evidence)]
    details = "；".join(dict.fromkeys(describe_problem(pr) for pr in found))
    return [outcome(rule, "", "fail", _message(rule, {"details": details, "count": len(found)}), evidence)]


register("problems", Kind(parse_problems, run_problems, lambda p: {"rule_id", "title", "details", "count"},
                          "{details}。"))


# --- cells ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CellsParams:
    fields: tuple[str, ...]  # glob patterns over field keys
    exclude: tuple[str, ...] = ()
    integer: bool = True
    minimum: float | None = 0

    def __post_init__(self) -> None:
        glob = lambda pats: re.compile("|".join(fnmatch.translate(p) for p in pats)) if pats else None  # noqa: E731
        object.__setattr__(self, "_include", glob(self.fields))
        object.__setattr__(self, "_exclude", glob(self.exclude))

    def selects(self, key: str) -> bool:
        cache = self.__dict__.setdefault("_seen", {})  # field keys are few: remember each answer
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = bool(self._include.match(key)) and not (
                self._exclude is not None and self._exclude.match(key))
        return hit


def parse_cells(check: dict, issues: Issues) -> CellsParams | None:
    check_keys(check, ("kind", "fields", "exclude", "integer", "min"), "'cells' 检查", issues)
    fields = _strings(check.get("fields"), "fields", check, issues, "例如 'fields: [\"apply.*\", \"review.*\"]'")
    exclude = _strings(check.get("exclude"), "exclude", check, issues, "") if "exclude" in check else ()
    integer = check.get("integer", True)
    minimum = check.get("min", 0)
    if not isinstance(integer, bool):
        issues.add(line_of(check, "integer"), "boolean_invalid", key="integer")
    if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, (int, float))):
        issues.add(line_of(check, "min"), "min_invalid")
        minimum = 0
    return CellsParams(fields, exclude, bool(integer), minimum) if fields else None


def run_cells(rule: Rule, p: CellsParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    fields = report.fields
    if not fields:
        return [outcome(rule, "", "not_evaluated", "未评估：报告表格中没有可检查的数据。")]
    integer, minimum = p.integer, p.minimum
    # Most reports are clean: find the suspicious values first, then ask which rule covers them.
    suspects = [k for k, v in fields.items()
                if isinstance(v, bool) or not isinstance(v, (int, float))
                or (integer and v != int(v)) or (minimum is not None and v < minimum)]
    out = []
    for key in suspects:
        if key in report.doubtful or not p.selects(key):
            continue
        value = fields[key]
        bad = []
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            bad.append("不是数字")
        else:
            if integer and value != int(value):
                bad.append("不是整数")
            if minimum is not None and value < minimum:
                bad.append("为负数" if minimum == 0 else f"小于{render_value(minimum)}")
        evidence = {"field": key, "value": value, "where": report.where.get(key)}
        values = {"label": label_of(key), "value": value, "problem": "、".join(bad)}
        out.append(outcome(rule, key, "fail", _message(rule, values), evidence))
    return out or [outcome(rule, "", "pass", "表格中的计数均为规范的数字。", {"fields": len(fields)})]


register("cells", Kind(parse_cells, run_cells, lambda p: {"rule_id", "title", "label", "value", "problem"},
                       "{label}填写为{value}，{problem}；应填写非负整数。"))


# --- layout -----------------------------------------------------------------------------

@dataclass(frozen=True)
class LayoutParams:
    table: str  # "三": the section numeral, for messages and blank-cell problems
    cells: tuple[tuple[str, str, str], ...]  # (key, row, column)
    rows: tuple[str, ...]
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        by_row, by_col = {}, {}
        for key, r, c in self.cells:
            by_row.setdefault(r, []).append(key)
            by_col.setdefault(c, []).append(key)
        object.__setattr__(self, "by_row", by_row)
        object.__setattr__(self, "by_col", by_col)


def parse_layout(check: dict, issues: Issues) -> LayoutParams | None:
    check_keys(check, ("kind", "table", "cell", "rows", "columns", "fields"), "'layout' 检查", issues)
    table = str(check.get("table", ""))
    if table not in _SECTION_NUMERALS:
        issues.add(line_of(check, "table", check.line), "table_numeral_invalid")
    lists = {}
    for key in ("rows", "columns"):
        raw = check.get(key)
        if raw is None:
            lists[key] = ("",)
        elif isinstance(raw, str) and raw in NAMED_LISTS:
            lists[key] = NAMED_LISTS[raw]
        elif isinstance(raw, list) and raw and all(isinstance(x, str) for x in raw):
            lists[key] = tuple(raw)
        else:
            issues.add(line_of(check, key), "list_or_named_list", near=(raw, NAMED_LISTS), key=key, lists=NAMED_LISTS)
            return None
    cells = []
    if "fields" in check:
        fields = _strings(check.get("fields"), "fields", check, issues, "例如 'fields: [active.rules.issued]'")
        cells = [(f, f, "") for f in fields]
    else:
        template = check.get("cell")
        if not isinstance(template, str) or "{r}" not in template:
            issues.add(line_of(check, "cell", check.line), "cell_template_invalid")
            return None
        for r in lists["rows"]:
            for c in lists["columns"]:
                cells.append((template.replace("{r}", r).replace("{c}", c), r, c))
    from rules.fields import is_known_field
    for key, _, _ in cells:
        if not is_known_field(key):
            issues.add(line_of(check, "cell", line_of(check, "fields")), "field_unknown", near=(key, KNOWN_FIELDS), key=key)
            return None
    return LayoutParams(table, tuple(cells), lists["rows"], lists["columns"])


def run_layout(rule: Rule, p: LayoutParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    fields = report.fields
    stated = {k for k, _, _ in p.cells if k in fields or k in report.doubtful}
    part = _SECTION_NUMERALS[p.table]
    evidence: dict[str, Any] = {"table": p.table, "expected": len(p.cells), "stated": len(stated)}
    if not stated:
        return [outcome(rule, "", "fail", f"{part}表格缺失或未能读取（应有{len(p.cells)}个数据项）。", evidence)]
    blanks = any(pr.get("kind") == "blank_cells" and str(pr.get("where", ""))[:1] == p.table
                 for pr in report.problems if isinstance(pr, dict))
    missing_rows = [r for r in p.rows if r and not any(k in stated for k in p.by_row.get(r, ()))]
    missing_cols = [c for c in p.columns if c and not any(k in stated for k in p.by_col.get(c, ()))]
    if blanks:
        missing_cols = []  # a column of blank cells is there, just not filled: cells rules say so
    if not (p.rows != ("",) or p.columns != ("",)):
        missing_rows = [k for k, _, _ in p.cells if k not in stated and not blanks]
    evidence.update(missing_rows=missing_rows, missing_columns=missing_cols)
    if not missing_rows and not missing_cols:
        return [outcome(rule, "", "pass", f"{part}表格的行列齐全。", evidence)]
    names = ([layout_label(p.table, "rows", r) for r in missing_rows]
             + [layout_label(p.table, "columns", c) for c in missing_cols])
    shown = "、".join(names[:6]) + (f"等{len(names)}项" if len(names) > 6 else "")
    return [outcome(rule, "", "fail", _message(rule, {"part": part, "missing": shown, "count": len(names)}), evidence)]


register("layout", Kind(parse_layout, run_layout, lambda p: {"rule_id", "title", "part", "missing", "count"},
                        "{part}表格缺少{missing}，与年度报告格式不一致。"))


# --- headings ---------------------------------------------------------------------------

_NUMERALS = "一二三四五六七八九十"
_TOP = re.compile(r"^\s*([一二三四五六七八九十]{1,2})\s*[、.．]\s*(\S.{0,40})")
_TABLE_ROW = re.compile(r"\t|(?:\d+\s+){2,}\d+|本年新收|上年结转|本年度办理结果|结转下年度")


@dataclass(frozen=True)
class HeadingsParams:
    pass


def parse_headings(check: dict, issues: Issues) -> HeadingsParams:
    check_keys(check, ("kind",), "'headings' 检查", issues)
    return HeadingsParams()


def run_headings(rule: Rule, p: HeadingsParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    lines = (report.text or "").splitlines()
    placed = sorted((s.line, k, s.heading or "") for k, s in report.sections.items() if s.present and s.line)
    if not lines or not placed:
        return [outcome(rule, "", "not_evaluated", "未评估：未能定位各部分标题。")]
    out: list[Outcome] = []
    order = list(SECTION_KEYS)
    wrong = []
    for line, key, heading in placed:
        expected = _NUMERALS[order.index(key)]
        m = _TOP.match(heading) or _TOP.match(lines[line - 1] if line <= len(lines) else "")
        if not m or m.group(1) != expected:
            wrong.append({"section": key, "heading": heading, "line": line, "expected": expected})
    if wrong:
        names = "、".join(f"“{w['heading']}”（应为“{w['expected']}、”）" for w in wrong)
        out.append(outcome(rule, "numbering", "fail", f"一级标题编号有误：{names}。", {"headings": wrong}))
    # Lists inside a section numbered 一、二、… like the headings themselves make the next
    # heading read as one more item of the list (平桥区 2021: 五 ends with 一、…五、, then 六、).
    bounds = [ln for ln, _, _ in placed] + [len(lines) + 1]
    for (line, key, heading), end in zip(placed, bounds[1:]):
        inner = []
        for n in range(line + 1, end):
            text = lines[n - 1]
            m = _TOP.match(text)
            if m and not _TABLE_ROW.search(text):
                inner.append((m.group(1), n, text.strip()))
        if not inner:
            continue
        after = next(((h, k) for ln, k, h in placed if ln == end), None)
        last = inner[-1][0]
        evidence = {"section": key, "items": [{"number": num, "line": n, "text": t[:40]} for num, n, t in inner[:10]]}
        first, final = inner[0], inner[-1]
        listed = f"第{first[1]}行“{first[2][:12]}…”至第{final[1]}行“{final[2][:12]}…”"
        message = f"“{heading}”部分内的列表使用了与一级标题相同的编号（{listed}）"
        if after and last in _NUMERALS and _NUMERALS.index(last) + 1 < len(_NUMERALS) \
                and (_TOP.match(after[0]) or [None, None])[1] == _NUMERALS[_NUMERALS.index(last) + 1]:
            message += f"，紧随其后的标题“{after[0]}”看似该列表的下一项，层级不清"
            evidence["ambiguous_heading"] = after[0]
        out.append(outcome(rule, key, "fail", _message(rule, {"details": message}), evidence))
    if not out:
        out.append(outcome(rule, "", "pass", "各部分标题编号清楚，层级无歧义。", {"headings": len(placed)}))
    return out


register("headings", Kind(parse_headings, run_headings, lambda p: {"rule_id", "title", "details"},
                          "{details}；部分内的列表应使用（一）（二）或1. 2.等下级编号。"))


# --- carryover (条例 第三十三条, working days) ----------------------------------------------

@dataclass(frozen=True)
class CarryoverParams:
    days: int = 20  # the reply period in working days
    extension: int = 20  # the longest extension


def parse_carryover(check: dict, issues: Issues) -> CarryoverParams:
    check_keys(check, ("kind", "days", "extension"), "'carryover' 检查", issues)
    values = {}
    for key, default in (("days", 20), ("extension", 20)):
        value = check.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            issues.add(line_of(check, key), "working_days", key=key, example=default)
            value = default
        values[key] = value
    return CarryoverParams(values["days"], values["extension"])


@lru_cache(maxsize=256)
def latest_receipt(year_end: date, workdays: int) -> tuple[date, bool]:
    """The earliest receipt date whose reply period (``workdays`` working days, the day of
    receipt not counted) still runs past ``year_end``; (date, holidays known)."""
    try:
        import chinese_calendar

        def is_workday(d: date) -> bool:
            return chinese_calendar.is_workday(d)
        is_workday(year_end)
        known = True
    except (ImportError, NotImplementedError):
        def is_workday(d: date) -> bool:
            return d.weekday() < 5
        known = False
    # Walk back from year_end: receipt on day d has its deadline after year_end when fewer
    # than ``workdays`` working days lie in (d, year_end].
    count, day = 0, year_end
    while True:
        try:
            working = is_workday(day)
        except NotImplementedError:
            working, known = day.weekday() < 5, False
        if working:
            count += 1
            if count == workdays:
                return day, known
        day -= timedelta(days=1)


def run_carryover(rule: Rule, p: CarryoverParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    values = field_values(report, ctx)
    key = "apply.carry_forward.total"
    carried = values.get(key)
    evidence: dict[str, Any] = {"field": key, "value": carried, "where": report.where.get(key)}
    if key in report.doubtful:
        return [outcome(rule, "", "not_evaluated", f"未评估：{label_of(key)}读取存疑。", evidence)]
    if carried is None:
        return [] if rule.when_missing == "skip" else [
            outcome(rule, "", "not_evaluated", f"未评估：报告未填写{label_of(key)}。", evidence)]
    if not carried:
        return [outcome(rule, "", "pass", "没有结转下年度继续办理的申请。", evidence)]
    year_end = date(ctx.year, 12, 31)
    plain, known = latest_receipt(year_end, p.days)
    extended, known2 = latest_receipt(year_end, p.days + p.extension)
    evidence.update(receipt_from=plain.isoformat(), receipt_from_extended=extended.isoformat(),
                    holidays_known=known and known2, new=values.get("apply.new.total"))
    note = "" if known and known2 else "（节假日数据不全，按周一至周五计算工作日）"
    message = _message(rule, {"carried": carried, "from": format_date(plain), "from_extended": format_date(extended),
                              "note": note, "year": ctx.year})
    return [outcome(rule, "", "fail", message, evidence)]


register("carryover", Kind(parse_carryover, run_carryover,
                           lambda p: {"rule_id", "title", "carried", "from", "from_extended", "note", "year"},
                           "表格显示结转下年度继续办理{carried}件。按条例第三十三条（20个工作日内答复，延长不超过"
                           "20个工作日），只有{from}以后收到的申请（延期的为{from_extended}以后）在年底尚未到答复期限{note}；"
                           "请核实结转的申请均未超过法定期限。"))
