"""Check kinds that read the prose: ``narrative`` (a number in the text against the
tables), ``replies`` (what the text says about answering on time, 条例 第三十三条),
``fees`` (section 六's 信息处理费 statement) and ``years`` (wrong or malformed years).

Numbers come from the parser's ``narrative`` entries first, then from the rule's own
patterns over the text (rules/prose.py), so a rule works before the parser learns a new
statement. A sentence that speaks of part of the agency (区政府办代表区政府…) is reported
with its scope, quoting both figures: a difference of scope, not an arithmetic error.
Must not load files or score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from documents.encoding import nfkc
from documents.report import ParsedReport
from rules import prose
from rules.checks import Kind, _message, blank_note, blanks_as_zero, field_values, outcome, register, section_text
from rules.errors import ExpressionError
from rules.expressions import Expression, compile_expression, evaluate_expression
from rules.fields import label_of
from rules.messages import render_value
from rules.model import Context, Outcome, Rule
from rules.params import Issues, _section_or_all, check_keys
from rules.wording import regex_reason
from rules.yamlmarks import line_of


def _patterns(raw: Any, line: int | None, issues: Issues, *, need_number: bool = True) -> tuple[re.Pattern, ...]:
    if raw is None:
        return ()
    raw = [raw] if isinstance(raw, str) else raw
    out = []
    if not isinstance(raw, list):
        issues.add(line, "patterns_not_list")
        return ()
    for i, item in enumerate(raw):
        where = line_of(raw, i, line)
        if not isinstance(item, str) or (need_number and "{n}" not in item):
            issues.add(where, "pattern_needs_number", value=item)
            continue
        try:
            out.append(re.compile(prose.expand(item)))
        except re.error as exc:
            issues.add(where, "regex_invalid", regex=item, reason=regex_reason(exc), detail=str(exc))
    return tuple(out)


def _prose_value(report: ParsedReport, key: str | None, patterns: tuple, section: str | None):
    """(value, quote, line, source) or None."""
    entry = report.narrative.get(key) if key else None
    # The parser's reading, unless the number it took is no count (三个一, 第一时间, a year…).
    if isinstance(entry, dict) and isinstance(entry.get("value"), (int, float)) \
            and prose.quote_counts(str(entry.get("quote") or ""), entry["value"]) is not False:
        return entry["value"], str(entry.get("quote") or ""), entry.get("line"), "parser"
    if patterns:
        text, _, offset = section_text(report, section)
        found = prose.find_number(patterns, text)
        if found:
            return found[0], found[1], found[2] + offset, "pattern"
    return None


def _table_value(rule: Rule, expr: Expression, report: ParsedReport, ctx: Context):
    """(value, evidence, problem message or None)."""
    values = field_values(report, ctx)
    evidence = {"table_fields": {k: values.get(k) for k in expr.fields},
                "where": {k: report.where[k] for k in expr.fields if k in report.where}}
    doubts = {k: report.doubtful[k] for k in expr.fields if k in report.doubtful}
    if doubts:
        evidence["doubtful"] = doubts
        return None, evidence, "未评估：表格数据读取存疑（" + "；".join(f"{label_of(k)}：{v}" for k, v in doubts.items()) + "）。"
    missing = [k for k in expr.fields if k not in values]
    as_zero = blanks_as_zero(report, missing, ctx.previous)
    if as_zero:  # blank cells of a filled row or column (scoring.yaml blank_cells)
        values = {**values, **{k: 0 for k in as_zero}}
        evidence.update(blank_as_zero=as_zero, note=blank_note(as_zero))
    elif missing:
        evidence["missing"] = missing
        return None, evidence, f"未评估：报告表格未填写{'、'.join(label_of(k) for k in missing[:3])}。"
    try:
        # A table side is a sum of cells: evaluate it as "x == x" and take the left side.
        return evaluate_expression(expr, values).left, evidence, None
    except (ArithmeticError, KeyError, TypeError, ValueError, NameError) as exc:
        return None, evidence, f"未评估：计算出错（{exc}）。"


def _not_stated(rule: Rule, what: str, evidence: dict) -> list[Outcome]:
    if rule.when_missing == "skip":
        return []
    if rule.when_missing == "fail":
        return [outcome(rule, "", "fail", f"报告正文未说明{what}。", evidence)]
    if rule.when_missing == "zero":
        return [outcome(rule, "", "pass", f"报告正文未说明{what}。", evidence)]
    return [outcome(rule, "", "not_evaluated", f"未评估：报告正文未说明{what}。", evidence)]


# --- narrative --------------------------------------------------------------------------

@dataclass(frozen=True)
class NarrativeParams:
    what: str  # what the number counts, in Chinese ("收到的政府信息公开申请")
    key: str | None
    patterns: tuple[re.Pattern, ...]
    section: str | None
    table: Expression
    compare: str = "equal"  # equal | zero (only "some" against "none" is a finding)
    tolerance: float = 0
    scope_markers: tuple[str, ...] = prose.SCOPE_MARKERS
    # Scope read from the sentence: words saying the number includes more (含上年结转) and the
    # table it is then compared with; other readings a sentence that does not pin its scope
    # (no ``exact`` word such as 新收) may mean — agreeing with one of them, it is left alone.
    including_words: tuple[str, ...] = ()
    including: Expression | None = None
    exact: tuple[str, ...] = ()
    alternatives: tuple[Expression, ...] = ()


def parse_narrative(check: dict, issues: Issues) -> NarrativeParams | None:
    check_keys(check, ("kind", "what", "key", "patterns", "section", "table", "compare", "tolerance", "scope_markers",
                       "including", "exact", "alternatives"), "'narrative' 检查", issues)
    what = check.get("what")
    if not isinstance(what, str) or not what.strip():
        issues.add(line_of(check, "what", check.line), "what_missing")
        what = ""
    key = check.get("key")
    if key is not None and not isinstance(key, str):
        issues.add(line_of(check, "key"), "narrative_key_invalid")
        key = None
    patterns = _patterns(check.get("patterns"), line_of(check, "patterns"), issues)
    if key is None and not patterns:
        issues.add(check.line, "narrative_source_missing")
    table = None
    raw_table = check.get("table")
    try:
        expr = compile_expression(f"{raw_table} == {raw_table}") if isinstance(raw_table, str) else None
        if expr is None or expr.linear is None:
            issues.add(line_of(check, "table", check.line), "table_sum_invalid")
        else:
            table = expr
    except ExpressionError as exc:
        issues.add_expression(line_of(check, "table"), exc)
    compare = check.get("compare", "equal")
    if compare not in ("equal", "zero"):
        issues.add(line_of(check, "compare"), "choice_invalid", near=(compare, ("equal", "zero")), key="compare",
                   value=compare, choices=("equal", "zero"))
    tolerance = check.get("tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        issues.add(line_of(check, "tolerance"), "number_invalid", key="tolerance", example=0)
        tolerance = 0
    markers = check.get("scope_markers", list(prose.SCOPE_MARKERS))
    if not isinstance(markers, list) or not all(isinstance(m, str) and m for m in markers):
        issues.add(line_of(check, "scope_markers"), "words_required", key="scope_markers", example="[代表, 本级]")
        markers = list(prose.SCOPE_MARKERS)
    section = _section_or_all(check, issues)
    including_words, including = (), None
    raw = check.get("including")
    if raw is not None:
        if not isinstance(raw, dict) or not isinstance(raw.get("words"), list) or not isinstance(raw.get("table"), str):
            issues.add(line_of(check, "including"), "including_invalid")
        else:
            including_words, including = tuple(map(str, raw["words"])), _sum(raw["table"], line_of(raw, "table"), issues)
    alternatives = tuple(e for i, t in enumerate(check.get("alternatives") or [])
                         if (e := _sum(t, line_of(check.get("alternatives"), i, line_of(check, "alternatives")), issues)))
    exact = tuple(map(str, check.get("exact") or ()))
    if table is None or not what:
        return None
    return NarrativeParams(what.strip(), key, patterns, section, table, compare, float(tolerance), tuple(markers),
                           including_words, including, exact, alternatives)


def _sum(text, line, issues: Issues) -> Expression | None:
    """A table side: a field key or a sum of field keys, compiled as ``x == x``."""
    try:
        expr = compile_expression(f"{text} == {text}") if isinstance(text, str) else None
    except ExpressionError as exc:
        issues.add_expression(line, exc)
        return None
    if expr is None or expr.linear is None:
        issues.add(line, "table_sum_invalid")
        return None
    return expr


_TOTAL = re.compile(r"^apply\..+\.total$")


def _columns_of(expr: Expression, columns: tuple[str, ...]) -> Expression:
    """apply.new.total + apply.carried.total in the given applicant columns."""
    keys = [f"{k[:-len('total')]}{c}" for k in expr.fields for c in columns]
    return compile_expression(" + ".join(keys) + " == " + " + ".join(keys))


def _number_at(compact: str, value) -> int | None:
    """Where the sentence writes ``value`` as a count."""
    for m in re.finditer(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]+", compact):
        if prose.cn_number(m.group(0)) == value and prose.is_count(compact, m.start(), m.end()):
            return m.start()
    return None


def run_narrative(rule: Rule, p: NarrativeParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    table_source = p.table.source.split(" == ")[0]
    evidence: dict[str, Any] = {"table": table_source}
    stated = _prose_value(report, p.key, p.patterns, p.section)
    if stated is None:
        return _not_stated(rule, p.what + "的数量", evidence)
    value, quote, line, source = stated
    evidence.update(prose_value=value, quote=quote, line=line, prose_from=source)
    from rules.statements import LEGAL_COLUMNS, applicant_scope

    compact = re.sub(r"\s+", "", nfkc(quote))
    expr, pinned = p.table, any(w in compact for w in p.exact)
    if p.including is not None and any(w in compact for w in p.including_words):
        expr, pinned = p.including, True
        evidence["scope_read"] = "including"
    at = _number_at(compact, value)
    if at is not None and all(_TOTAL.match(k) for k in expr.fields):
        columns = applicant_scope(compact, at)
        if columns is None:
            return []  # which applicants the number counts cannot be read: say nothing
        if columns != ("total",):
            expr = _columns_of(expr, columns)
            evidence["columns"] = "法人或其他组织" if columns == LEGAL_COLUMNS else list(columns)
    evidence["table"] = expr.source.split(" == ")[0]
    table, table_evidence, problem = _table_value(rule, expr, report, ctx)
    evidence.update(table_evidence)
    if problem:
        return [outcome(rule, "", "not_evaluated", problem, evidence)]
    evidence["table_value"] = table
    if p.compare == "zero":
        agree = (value == 0) == (table == 0)
    else:
        agree = abs(value - table) <= p.tolerance + 1e-9
    if agree:
        return [outcome(rule, "", "pass", f"正文所述{p.what}{render_value(value)}与表格{render_value(table)}一致。", evidence)]
    if not pinned and expr is p.table:
        for alternative in p.alternatives:  # e.g. 收到 N件 may include last year's carried-over ones
            other, _, trouble = _table_value(rule, alternative, report, ctx)
            if trouble is None and abs(value - other) <= p.tolerance + 1e-9:
                return []
    marker = prose.scope_marker(quote, p.scope_markers)
    evidence.update(scope="partial" if marker else "whole", scope_marker=marker, diff=value - table)
    table_label = "＋".join(label_of(k) for k in expr.fields)
    if marker:
        scope_note = (f"该句用“{marker}”等措辞，所述可能只是机关的一部分，与表格的统计口径不同；"
                      f"请在报告中说明口径，或使正文与表格一致")
    else:
        scope_note = "正文与表格不一致，请核对更正"
    values = {"what": p.what, "prose": value, "table": table, "quote": prose.shorten(quote), "diff": value - table,
              "table_label": table_label, "scope_note": scope_note, "marker": marker or ""}
    return [outcome(rule, "", "fail", _message(rule, values), evidence)]


register("narrative", Kind(parse_narrative, run_narrative,
                           lambda p: {"rule_id", "title", "what", "prose", "table", "quote", "diff", "table_label",
                                      "scope_note", "marker"},
                           "正文称“{quote}”（{what}{prose}件），而表格{table_label}为{table}；{scope_note}。"))


# --- replies (条例 第三十三条) -------------------------------------------------------------

_REPLY_DEFAULTS = {
    "received": ["(?:收到|受理|接收|新收)[^。；，,]{0,12}?申请[^。；，,]{0,6}?{n}(?:件|个|份|条)"],
    "on_time": ["(?:按时|按期|如期|及时|在法定期限内|在规定期限内)(?:回复|答复|办结|处理)[^。；，,]{0,4}?{n}(?:件|个|份|条)"],
    "extended": ["延期(?:回复|答复|办理|办结)?[^。；，,]{0,6}?{n}(?:件|个|份|条)", "{n}(?:件|个|份|条)[^。；，,]{0,6}?延期"],
    "late": ["(?:逾期|超期|超过法定期限)(?:回复|答复|办理|办结)?[^。；，,]{0,6}?{n}(?:件|个|份|条)"],
}
_ALL_ON_TIME = ["(?:均|全部|都)(?:已)?(?:在|于)?(?:法定|规定)(?:期限|时限)内", "(?:均|全部|都)(?:已)?(?:按时|按期|及时)(?:予以)?(?:答复|回复|办结)",
                "(?:无|没有|未发生)(?:逾期|超期)(?:答复|回复|办理)?", "按时答复率(?:为|达)?100%"]
_REPLY_KEYS = {"received": "requests_received", "on_time": "answered_on_time", "extended": "extended", "late": "late"}


@dataclass(frozen=True)
class RepliesParams:
    aspect: str  # on_time | extended
    patterns: dict[str, tuple[re.Pattern, ...]]
    all_on_time: tuple[re.Pattern, ...]


def parse_replies(check: dict, issues: Issues) -> RepliesParams | None:
    check_keys(check, ("kind", "aspect", "patterns", "all_on_time"), "'replies' 检查", issues)
    aspect = check.get("aspect")
    if aspect not in ("on_time", "extended"):
        issues.add(line_of(check, "aspect", check.line), "choice_invalid", near=(aspect, ("on_time", "extended")),
                   key="aspect", value=aspect, choices=("on_time", "extended"))
        return None
    raw = check.get("patterns") or {}
    patterns = {}
    if not isinstance(raw, dict):
        issues.add(line_of(check, "patterns"), "reply_patterns_invalid")
        raw = {}
    check_keys(raw, tuple(_REPLY_DEFAULTS), "'patterns' ", issues)
    for name, default in _REPLY_DEFAULTS.items():
        patterns[name] = _patterns(raw.get(name, default), line_of(raw, name, line_of(check, "patterns")), issues)
    all_on_time = _patterns(check.get("all_on_time", _ALL_ON_TIME), line_of(check, "all_on_time"), issues,
                            need_number=False)
    return RepliesParams(aspect, patterns, all_on_time)


def _reply_facts(report: ParsedReport, p: RepliesParams) -> dict[str, tuple]:
    facts = {}
    for name, patterns in p.patterns.items():
        found = _prose_value(report, _REPLY_KEYS[name], patterns, None)
        if found:
            facts[name] = found
    return facts


def run_replies(rule: Rule, p: RepliesParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    facts = _reply_facts(report, p)
    evidence: dict[str, Any] = {name: {"value": f[0], "quote": f[1], "line": f[2]} for name, f in facts.items()}
    value = {name: f[0] for name, f in facts.items()}
    quotes = list(dict.fromkeys(prose.shorten(f[1]) for f in facts.values()))
    quoted = "；".join(f"“{q}”" for q in quotes[:2])
    if p.aspect == "extended":
        if "extended" not in value:
            return _not_stated(rule, "延期答复的情况", evidence)
        if value["extended"] == 0:
            return [outcome(rule, "", "pass", "正文称没有延期答复的申请。", evidence)]
        return [outcome(rule, "", "fail", _message(rule, {"extended": value["extended"], "quote": quoted,
                                                          "received": value.get("received", "")}), evidence)]
    statement = prose.find_statement(p.all_on_time, report.text or "")
    if statement:
        evidence["all_on_time"] = {"quote": statement[0], "line": statement[1]}
    if value.get("late"):
        message = f"正文称逾期答复{render_value(value['late'])}件（{quoted}），未在条例第三十三条规定的期限内答复。"
        return [outcome(rule, "", "fail", message, evidence)]
    received, on_time = value.get("received"), value.get("on_time")
    extended = value.get("extended") or 0
    # A lawful extension (条例 第三十三条第二款) is an answer within the legal period: only what is
    # neither on time nor extended is unaccounted for (TIM-04 notes the extensions).
    if received is not None and on_time is not None and on_time + extended < received:
        gap = received - on_time - extended
        ext = f"，延期答复{render_value(extended)}件" if extended else ""
        values = {"received": received, "on_time": on_time, "gap": gap, "extended_part": ext, "quote": quoted,
                  "extended": extended}
        evidence["not_on_time"] = gap
        return [outcome(rule, "", "fail", _message(rule, values), evidence)]
    if extended and received is not None and on_time is not None and on_time < received:
        message = (f"正文称收到申请{render_value(received)}件、按时答复{render_value(on_time)}件、"
                   f"依法延期答复{render_value(extended)}件（{quoted}），均在法定期限内答复。")
        return [outcome(rule, "", "pass", message, evidence)]
    if statement or (received is not None and on_time is not None):
        quote = prose.shorten(statement[0]) if statement else quotes[0]
        return [outcome(rule, "", "pass", f"正文称申请均在法定期限内答复（“{quote}”）。", evidence)]
    return _not_stated(rule, "是否在法定期限内答复申请", evidence)


register("replies", Kind(parse_replies, run_replies,
                         lambda p: {"rule_id", "title", "received", "on_time", "gap", "extended", "extended_part",
                                    "quote"},
                         "正文称收到申请{received}件、按时答复{on_time}件{extended_part}（{quote}）：有{gap}件未说明"
                         "是否在法定期限内答复。"))


# --- fees (section 六, 信息处理费) ---------------------------------------------------------

_FEE_AMOUNT = re.compile(r"信息处理费[^。；]{0,12}?(?P<n>\d+(?:\.\d+)?)(?P<unit>万元|元)?")
_FEE_NOTICE = re.compile(r"(?:收费通知|缴费通知)[^。；，,]{0,8}?(?P<n>\d+|[一二两三四五六七八九十]+)(?:件|份|次)|"
                         r"(?:发出|送达|出具|发送)(?P<m>\d+|[一二两三四五六七八九十]+)(?:件|份)[^。；，,]{0,6}?收费通知")
_FEE_NONE = re.compile(r"(?:未|没有|无|不)(?:收取|发出|产生|涉及)[^。；，,]{0,10}?(?:信息处理费|收费通知|费用)|"
                       r"信息处理费[^。；，,]{0,6}?(?:为)?(?:0|零)(?:元)?(?!\.\d*[1-9])")


@dataclass(frozen=True)
class FeesParams:
    aspect: str  # notices: table （六）2 > 0 needs fee notices in 六; amounts: units and 10元 steps
    section: str | None = "other"


def parse_fees(check: dict, issues: Issues) -> FeesParams | None:
    check_keys(check, ("kind", "aspect", "section"), "'fees' 检查", issues)
    aspect = check.get("aspect")
    if aspect not in ("notices", "amounts"):
        issues.add(line_of(check, "aspect", check.line), "choice_invalid", near=(aspect, ("notices", "amounts")),
                   key="aspect", value=aspect, choices=("notices", "amounts"))
        return None
    section = _section_or_all(check, issues) if "section" in check else "other"
    return FeesParams(aspect, section)


def run_fees(rule: Rule, p: FeesParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    text, scope, offset = section_text(report, p.section, body=True)
    compact = re.sub(r"\s+", "", text)
    evidence: dict[str, Any] = {"scope": scope}
    if p.aspect == "notices":
        key = "apply.other.unpaid_fee.total"
        unpaid = field_values(report, ctx).get(key)
        evidence.update(field=key, value=unpaid, where=report.where.get(key))
        if key in report.doubtful:
            return [outcome(rule, "", "not_evaluated", f"未评估：{label_of(key)}读取存疑。", evidence)]
        if unpaid is None:
            return [] if rule.when_missing == "skip" else [
                outcome(rule, "", "not_evaluated", f"未评估：报告未填写{label_of(key)}。", evidence)]
        if not unpaid:
            evidence["not_applicable"] = True
            return [outcome(rule, "", "pass", "不适用：没有因逾期未缴费而不再处理的申请。", evidence)]
        notice = next((m for m in _FEE_NOTICE.finditer(compact)
                       if prose.is_count(compact, *m.span("n" if m.group("n") else "m"))), None)
        count = prose.cn_number((notice.group("n") or notice.group("m"))) if notice else None
        if count:
            evidence["notices"] = count
            return [outcome(rule, "", "pass", f"{scope}说明发出收费通知{render_value(count)}件。", evidence)]
        return [outcome(rule, "", "fail", _message(rule, {"unpaid": unpaid, "scope": scope}), evidence)]
    problems = []
    for m in _FEE_AMOUNT.finditer(compact):
        if not prose.is_count(compact, m.start("n"), m.end("n")):
            continue  # 《…办法》规定，2025: a year; 〔2020〕109号: a document number
        amount = float(m.group("n"))
        unit = m.group("unit")
        yuan = amount * 10000 if unit == "万元" else amount
        if not unit and amount:
            problems.append(f"“{m.group(0)}”未写明单位")
        elif amount and abs(yuan / 10 - round(yuan / 10)) > 1e-6:
            problems.append(f"“{m.group(0)}”不是10元的整数倍")
    evidence["problems"] = problems
    if problems:
        return [outcome(rule, "", "fail", _message(rule, {"scope": scope, "unpaid": "", "problems": "；".join(problems)}),
                        evidence)]
    return [outcome(rule, "", "pass", f"{scope}信息处理费金额写法无误。", evidence)]


register("fees", Kind(parse_fees, run_fees, lambda p: {"rule_id", "title", "unpaid", "scope", "problems"},
                      "{scope}：{problems}。"))


# --- years (TXT-09) ---------------------------------------------------------------------

_PERIOD = re.compile(r"(\d{4})年1月1日(?:起)?(?:至|到|—|-|~)(\d{4})年12月31日")
_AS_OF = re.compile(r"截(?:至|止)(\d{4})年12月31日")
# Lookbehinds stand after the first character, so the scan can skip to digits quickly.
_MALFORMED = re.compile(r"20\d\d(?<![\d〔\[（(号第]20\d\d)(?:0?[1-9]|1[0-2])月|\d{5,}年(?!度?\d)"
                        r"|\d{3}(?<!\d\d{3})年(?=\d{1,2}月)")
_THIS_YEAR = re.compile(r"(\d{4})(?<![\d〔\[（(第]\d{4})年(?:度)?[，,]?(?:我|本|全)(?:区|县|市|局|委|办|镇|乡|街道|机关|单位|厅|部)"
                        r"[^。；]{0,30}?(?:收到|受理|新收|主动公开|发布|办结|制发)")


@dataclass(frozen=True)
class YearsParams:
    checks: tuple[str, ...] = ("title", "period", "malformed", "prose")


def parse_years(check: dict, issues: Issues) -> YearsParams:
    check_keys(check, ("kind", "checks"), "'years' 检查", issues)
    raw = check.get("checks", list(YearsParams.checks))
    allowed = YearsParams.checks
    if not isinstance(raw, list) or not raw or any(c not in allowed for c in raw):
        issues.add(line_of(check, "checks"), "checks_invalid", allowed=allowed)
        raw = list(allowed)
    return YearsParams(tuple(raw))


def run_years(rule: Rule, p: YearsParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    text = report.text or ""
    if not text.strip():
        return [outcome(rule, "", "not_evaluated", "未评估：未取得报告正文文字。")]
    year = ctx.year
    out: list[Outcome] = []

    def add(subject: str, found: list[tuple[str, int]], what: str) -> None:
        evidence = {"year": year, "matches": [{"quote": q, "line": ln} for q, ln in found[:10]]}
        if not found:
            out.append(outcome(rule, subject, "pass", f"{what}：未发现问题。", evidence))
            return
        quotes = "；".join(f"“{prose.shorten(q, 60)}”" for q, _ in found[:3])
        out.append(outcome(rule, subject, "fail", _message(rule, {"what": what, "quotes": quotes, "year": year,
                                                                   "count": len(found)}), evidence))

    if "title" in p.checks:
        title = str(report.meta.get("title") or "")
        m = re.search(r"(\d{4})\s*年", title)
        found = [(title, 1)] if m and int(m.group(1)) != year else []
        add("title", found, f"标题年份与报告年度（{year}年）不一致")
    sentences = prose.sentences(text)

    def hits(pattern: re.Pattern, wrong) -> list[tuple[str, int]]:
        found = []
        for index, m in prose.matches(pattern, text):
            if wrong(m, sentences[index][1]):
                quote, _, line = sentences[index]
                if (quote, line) not in found:
                    found.append((quote, line))
        return found

    if "period" in p.checks:
        found = hits(_PERIOD, lambda m, s: int(m.group(1)) != year or int(m.group(2)) != year)
        found += [f for f in hits(_AS_OF, lambda m, s: int(m.group(1)) != year and "统计" in s) if f not in found]
        add("period", found, f"统计期限不是{year}年1月1日至12月31日")
    if "malformed" in p.checks:
        add("malformed", hits(_MALFORMED, lambda m, s: True), "日期或年份书写有误")
    if "prose" in p.checks:
        add("prose", hits(_THIS_YEAR, lambda m, s: int(m.group(1)) not in (year, year + 1)),
            f"正文所述本年度情况标注为其他年份（报告年度为{year}年）")
    return out


register("years", Kind(parse_years, run_years, lambda p: {"rule_id", "title", "what", "quotes", "year", "count"},
                       "{what}：{quotes}。"))
