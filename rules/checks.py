"""One run function per check kind, and the registry that maps a kind to its parser and runner.

A runner takes (rule, params, report, context) and returns Outcomes; it never raises for
anything a report may contain (missing or doubtful fields, empty text, division by zero):
those become "not_evaluated" with a reason. New kinds are added with ``register``.
Must not load files, score, or touch anything outside the report and context.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Callable

from documents.report import SECTION_KEYS, ParsedReport
from rules import params as P
from rules.deadlines import report_deadline
from rules.expressions import evaluate_expression
from rules.fields import VALUE_LABELS, label_of
from rules.messages import fill, format_date, render_value
from rules.model import Context, Outcome, Rule


@dataclass(frozen=True)
class Kind:
    parse: Callable[[dict, P.Issues], Any]
    run: Callable[[Rule, Any, ParsedReport, Context], list[Outcome]]
    placeholders: Callable[[Any], set[str]]  # what a rule's message may use
    default_message: str


KINDS: dict[str, Kind] = {}


def register(name: str, kind: Kind) -> None:
    KINDS[name] = kind


def outcome(rule: Rule, subject: str, status: str, message: str, evidence: dict | None = None) -> Outcome:
    # basis is shared with the rule (read-only by convention): one copy per outcome is waste.
    return Outcome(rule.id, subject, status, rule.severity, rule.title, message, evidence or {},
                   rule.weight, rule.category, rule.basis)


def _message(rule: Rule, values: dict[str, Any]) -> str:
    template = rule.message or KINDS[rule.kind].default_message
    return fill(template, {"rule_id": rule.id, "title": rule.title, **values})


@lru_cache(maxsize=16)
def _lines(text: str) -> tuple[str, ...]:
    """The text's lines: a report's sections are cut from the same text by many rules."""
    return tuple(text.splitlines())


def section_text(report: ParsedReport, key: str | None, body: bool = False) -> tuple[str, str, int]:
    """(text, scope label, line offset) of a section, or of the whole text when the
    section's position is unknown: a wider search can only find more, never blame more.
    ``body`` leaves the heading line out (its words must not count as the content)."""
    text = report.text or ""
    section = report.sections.get(key) if key else None
    if not key or not section or not section.present or not section.line:
        return text, "全文" if not key else f"全文（未能定位“{SECTION_KEYS[key]}”）", 0
    lines = _lines(text)
    start = section.line - 1
    later = [s.line for s in report.sections.values() if s.present and s.line and s.line > section.line]
    end = min(later) - 1 if later else len(lines)
    if body:
        start += 1
    return "\n".join(lines[start:end]), f"“{section.heading or SECTION_KEYS[key]}”部分", start


# --- sections ----------------------------------------------------------------------------

def run_sections(rule: Rule, p: P.SectionsParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    out = []
    for key in p.required:
        section = report.sections.get(key)
        heading = SECTION_KEYS[key]
        evidence = {"section": key, "expected_heading": heading}
        if section is None or not section.present:
            state = "缺失"
        elif section.chars < p.min_chars:
            state = "内容为空"
            evidence.update(found_heading=section.heading, chars=section.chars, line=section.line)
        else:
            evidence.update(found_heading=section.heading, chars=section.chars, line=section.line)
            out.append(outcome(rule, key, "pass", f"“{heading}”部分已具备。", evidence))
            continue
        evidence["state"] = state
        out.append(outcome(rule, key, "fail", _message(rule, {"section": key, "heading": heading, "state": state}), evidence))
    if p.in_order:
        placed = [(s.line, k) for k, s in report.sections.items() if k in p.required and s.present and s.line]
        if len(placed) >= 2:
            found = [k for _, k in sorted(placed)]
            expected = [k for k in p.required if k in found]
            order = "、".join(SECTION_KEYS[k].split("、")[0] for k in found)
            evidence = {"found_order": found, "expected_order": expected}
            if found == expected:
                out.append(outcome(rule, "order", "pass", "各部分顺序与模板一致。", evidence))
            else:
                out.append(outcome(rule, "order", "fail", f"各部分顺序与模板不一致：实际顺序为{order}。", evidence))
    return out


# --- expression --------------------------------------------------------------------------

_CACHE: ContextVar[tuple | None] = ContextVar("rules_values", default=None)
_BLANKS: ContextVar[dict | None] = ContextVar("rules_blanks", default=None)
# How an identity treats a blank cell in a row or column whose other cells are filled:
# "zero" (空白按0计) or "absent" (not stated: the check is not evaluated). scoring.yaml says.
_BLANK_POLICY: ContextVar[str] = ContextVar("rules_blank_policy", default="zero")


def set_blank_policy(policy: str) -> None:
    _BLANK_POLICY.set(policy)


def agency_facts(ctx: Context) -> dict[str, bool | None]:
    """What the rules know of the agency: its level, and whether it may make 规章 (立法法
    第九十一条、第九十三条): as the context states it, else as its name tells (None: unknown)."""
    from rules.identity import infer_rulemaking

    power = ctx.rulemaking if ctx.rulemaking is not None else infer_rulemaking(ctx.agency_name, ctx.agency_level)
    government = None if ctx.agency_level is None else ctx.agency_level == "government"
    return {"rulemaking": power, "government": government}


def _numbers(fields: dict) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def reset_cache() -> None:
    _CACHE.set(None)
    _BLANKS.set(None)


def field_values(report: ParsedReport, ctx: Context) -> dict[str, Any]:
    """Every number an expression may read: table fields, meta numbers, agency facts, and
    the previous year's fields as ``previous.<key>``. Computed once per evaluation. A fact
    not established is left out (the engine does not run rules that need it)."""
    cached = _CACHE.get()  # engine.evaluate resets it, so a changed report is read afresh
    if cached is not None and cached[0] is report and cached[1] is ctx:
        return cached[2]
    values = _numbers(report.fields)
    year = report.meta.get("year") or ctx.year
    if year:
        values["meta.year"] = year
    template = str(report.meta.get("template") or "")
    values["meta.template"] = int(template) if template.isdigit() else 0
    for name, value in agency_facts(ctx).items():
        if value is not None:
            values[f"agency.{name}"] = int(value)
    previous = ctx.previous
    if previous is not None:
        values.update({f"previous.{k}": v for k, v in _numbers(previous.fields).items()})
        previous_year = previous.meta.get("year") or (ctx.year - 1 if ctx.year else None)
        if previous_year:
            values["previous.meta.year"] = previous_year
    _CACHE.set((report, ctx, values))
    return values


def blank_cells(report: ParsedReport) -> frozenset[str]:
    """Cells the report left blank (or filled with — / 无) in a row or column whose other
    cells are filled: the parser lists them under its blank_cells problems (``keys``); for
    reports read before it did, a stated-nothing cell of a row that states something."""
    cached = _BLANKS.get()
    if cached is None:
        cached = {}
        _BLANKS.set(cached)
    if id(report) in cached and cached[id(report)][0] is report:
        return cached[id(report)][1]
    listed = [pr for pr in report.problems if isinstance(pr, dict) and pr.get("kind") == "blank_cells"]
    keys: set[str] = set()
    if any("keys" in pr for pr in listed):
        for pr in listed:
            keys.update(k for k in pr.get("keys") or () if isinstance(k, str))
    elif listed:
        tables = {str(pr.get("where", ""))[:1] for pr in listed}
        keys = set(inferred_blanks(report, tables))
    stated = set(report.fields) | set(report.doubtful)
    rows, columns = {}, {}
    for key in stated:
        place = cell_place(key)
        if place:
            rows.setdefault(place[:2], 0)
            columns.setdefault((place[0], place[2]), 0)
    found = frozenset(k for k in keys if k not in stated and (place := cell_place(k))
                      and (place[:2] in rows or (place[0], place[2]) in columns))
    cached[id(report)] = (report, found)
    return found


def cell_place(key: str) -> tuple[str, str, str] | None:
    """(table numeral, row, column) of a table cell key; None for other keys."""
    parts = key.split(".")
    if parts[0] == "apply" and len(parts) >= 3:
        return "三", ".".join(parts[1:-1]), parts[-1]
    if parts[0] == "review" and len(parts) == 2:
        return "四", "review", parts[1]
    if parts[0] == "litigation" and len(parts) == 3:
        return "四", f"litigation.{parts[1]}", parts[2]
    if parts[0] in ("active", "active2019") and len(parts) == 3:
        return "二", parts[1], parts[2]
    return None


def inferred_blanks(report: ParsedReport, tables: set[str]):
    """Blank cells of reports parsed before the parser listed them: in a table with blank
    cells, a cell of a row the parser read (some of its cells are stated) but not stated itself."""
    from rules.fields import KNOWN_FIELDS

    stated = set(report.fields) | set(report.doubtful)
    read_rows = {cell_place(k)[:2] for k in stated if cell_place(k)}
    for key in KNOWN_FIELDS:
        place = cell_place(key)
        if place and place[0] in tables and key not in stated and place[:2] in read_rows:
            yield key


def blanks_as_zero(report: ParsedReport, missing: list[str], previous: ParsedReport | None = None) -> list[str]:
    """The missing keys an identity may count as 0 (all of them, or none); ``previous.<key>``
    is a blank cell of last year's report."""
    if not missing or _BLANK_POLICY.get() != "zero":
        return []
    for key in missing:
        if key.startswith("previous."):
            if previous is None or key[9:] not in blank_cells(previous):
                return []
        elif key not in blank_cells(report):
            return []
    return list(missing)


_OTHER_SUBROWS = ("other.no_correction", "other.unpaid_fee")


def merged_other_rows(report: ParsedReport) -> frozenset[str]:
    """The cells of （六）其他处理 1. and 2. when the report kept the single 其他处理 row of the
    2019 format in a 2021 table (洪泽区 2024): that row is read as 3.其他, the other two are not
    there at all (STR-04 says so). Sums over （六） hold with the single row as its whole, so
    those absent rows add nothing; a row or column with any stated cell is never treated so."""
    from documents.report import APPLICANT_COLUMNS

    if str(report.meta.get("template") or "") != "2021":
        return frozenset()
    stated = set(report.fields) | set(report.doubtful)
    keys = [f"apply.{row}.{col}" for row in _OTHER_SUBROWS for col in APPLICANT_COLUMNS]
    if any(k in stated for k in keys) or not any(f"apply.other.other.{c}" in report.fields for c in APPLICANT_COLUMNS):
        return frozenset()
    return frozenset(keys)


def blank_note(keys: list[str]) -> str:
    names = "、".join(label_of(k) for k in keys[:3]) + (f"等{len(keys)}个单元格" if len(keys) > 3 else "")
    return f"空白按0计：{names}"


def run_expression(rule: Rule, p: P.ExpressionParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    available = field_values(report, ctx)
    doubtful = report.doubtful
    previous_doubts = ctx.previous.doubtful if ctx.previous is not None else {}
    out = []
    passed = f"{rule.title}：通过。"
    for inst in p.instances:
        needed = inst.needed
        missing = [k for k in needed if k not in available]
        evidence: dict[str, Any] = {"expression": inst.assertion.source}
        doubts = {}
        if doubtful or previous_doubts:
            for k in needed:
                source, key = (previous_doubts, k[9:]) if k.startswith("previous.") else (doubtful, k)
                if key in source:
                    doubts[k] = source[key]
        if doubts or missing:
            evidence.update(_field_evidence(report, needed, available))
        if doubts:
            evidence["doubtful"] = doubts
            reasons = "；".join(f"{label_of(k)}：{why}" for k, why in doubts.items())
            out.append(outcome(rule, inst.subject, "not_evaluated", f"未评估：以下数据读取存疑（{reasons}）。", evidence))
            continue
        values = available
        merged = merged_other_rows(report) if missing else frozenset()
        if merged and all(k in merged for k in needed):  # a check of the absent rows themselves
            evidence.update(not_applicable=True, merged_rows=sorted(merged & set(needed)))
            out.append(outcome(rule, inst.subject, "pass", "不适用：报告的（六）其他处理只有一行。", evidence))
            continue
        single = [k for k in missing if k in merged]
        missing = [k for k in missing if k not in merged]
        as_zero = blanks_as_zero(report, missing, ctx.previous)
        if as_zero:  # blank cells of a filled row or column: the template asks for 0 there
            values = {**available, **{k: 0 for k in as_zero}}
            evidence["blank_as_zero"] = as_zero
            evidence["note"] = blank_note(as_zero)
            missing = []
        if single and not missing:  # the single 其他处理 row stands for all of （六）
            values = {**values, **{k: 0 for k in single}}
            evidence["merged_rows"] = single
            evidence["note"] = "；".join(filter(None, [evidence.get("note"), "（六）其他处理只有一行，按该行计"]))
            as_zero = as_zero or single
        elif single:
            missing = single + missing
        if missing:
            evidence["missing"] = missing
            names = "、".join(label_of(k) for k in missing[:3]) + (f"等{len(missing)}项数据" if len(missing) > 3 else "")
            if rule.when_missing == "skip":
                continue
            if rule.when_missing == "not_evaluated":
                out.append(outcome(rule, inst.subject, "not_evaluated", f"未评估：报告未填写{names}。", evidence))
                continue
            if rule.when_missing == "fail":
                out.append(outcome(rule, inst.subject, "fail", f"{rule.title}：报告未填写{names}。", evidence))
                continue
            values = {**available, **{k: 0 for k in missing}}  # "zero": a blank cell counts as 0
        try:
            if inst.when is not None and not evaluate_expression(inst.when, values, p.tolerance).value:
                evidence.update(_field_evidence(report, needed, values), when=False, not_applicable=True)
                out.append(outcome(rule, inst.subject, "pass", "不适用：前提条件不成立。", evidence))
                continue
            result = evaluate_expression(inst.assertion, values, p.tolerance)
        except (ArithmeticError, TypeError, ValueError, KeyError, NameError) as exc:
            evidence.update(_field_evidence(report, needed, values), error=str(exc))
            out.append(outcome(rule, inst.subject, "not_evaluated", f"未评估：计算出错（{exc}）。", evidence))
            continue
        if result.value:
            # Passes are many and rarely read: keep their evidence small.
            if result.left is not None:
                evidence["left"], evidence["right"] = result.left, result.right
            note = f"（{evidence['note']}）" if as_zero else ""
            out.append(outcome(rule, inst.subject, "pass", passed + note, evidence))
            continue
        evidence.update(_field_evidence(report, needed, values))
        if result.left is not None:
            evidence.update(left=result.left, right=result.right, diff=result.diff)
        labels = {f"{n}_label": VALUE_LABELS.get(v, v) for n, v in inst.variables.items()}
        msg_values = {**inst.variables, **labels, **{k: values.get(k) for k in needed},
                      "left": result.left, "right": result.right, "diff": result.diff,
                      "op": inst.assertion.comparison[1] if inst.assertion.comparison else "",
                      "tolerance": p.tolerance,
                      "fields": "，".join(f"{label_of(k)}={render_value(values.get(k))}" for k in needed)}
        if rule.message is None and result.left is None:
            message = f"{rule.title}：条件不成立（{msg_values['fields']}）。"
        else:
            message = _message(rule, msg_values)
        if as_zero:
            message += f"（{evidence['note']}）"
        out.append(outcome(rule, inst.subject, "fail", message, evidence))
    return out


def _field_evidence(report: ParsedReport, needed: tuple[str, ...], values: dict) -> dict[str, Any]:
    return {"fields": {k: values.get(k) for k in needed},
            "where": {k: report.where[k] for k in needed if k in report.where}}


def _expression_placeholders(p: P.ExpressionParams) -> set[str]:
    names = {"rule_id", "title", "fields", "tolerance", *p.variables, *(f"{v}_label" for v in p.variables)}
    names |= set(p.fields)
    if p.comparison:
        names |= {"left", "right", "diff", "op"}
    return names


# --- deadline ----------------------------------------------------------------------------

def _published(report: ParsedReport, ctx: Context) -> tuple[date | None, str]:
    if ctx.published_on:
        return ctx.published_on, "context"
    raw = report.meta.get("published")
    if raw:
        try:
            return date.fromisoformat(str(raw)[:10]), "report"
        except ValueError:
            pass
    return None, ""


def run_deadline(rule: Rule, p: P.DeadlineParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    deadline = report_deadline(ctx.agency_level, ctx.year, ctx.deadline_override)
    published, source = _published(report, ctx)
    evidence = {"deadline": deadline.isoformat(), "level": ctx.agency_level,
                "override": ctx.deadline_override, "grace_days": p.grace_days}
    if published is None:
        return [outcome(rule, "", "not_evaluated", f"未评估：未能确定发布日期（截止日期{format_date(deadline)}）。", evidence)]
    days_late = (published - deadline).days
    evidence.update(published_on=published.isoformat(), published_from=source, days_late=max(days_late, 0))
    values = {"published": published, "deadline": deadline, "days_late": days_late, "agency": ctx.agency_name}
    if days_late > p.grace_days:
        return [outcome(rule, "", "fail", _message(rule, values), evidence)]
    return [outcome(rule, "", "pass", f"发布日期{format_date(published)}，未晚于截止日期{format_date(deadline)}。", evidence)]


# --- topics ------------------------------------------------------------------------------

def run_topics(rule: Rule, p: P.TopicsParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    text, scope, _ = section_text(report, p.section, body=True)
    compact = "".join(text.split())  # PDF text breaks lines inside words
    evidence: dict[str, Any] = {"scope": scope}
    if not (report.text or "").strip():
        return [outcome(rule, "", "not_evaluated", "未评估：未取得报告正文文字。", evidence)]
    found = {name: next((w for w in words if w in compact), None) for name, words in p.groups}
    missing = [name for name, word in found.items() if word is None]
    evidence.update(found={k: v for k, v in found.items() if v}, missing=missing)
    if missing:
        return [outcome(rule, "", "fail", _message(rule, {"scope": scope, "missing": missing}), evidence)]
    return [outcome(rule, "", "pass", f"{scope}已提及：{'、'.join(found)}。", evidence)]


# --- pattern -----------------------------------------------------------------------------

def run_pattern(rule: Rule, p: P.PatternParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    text, scope, line_offset = section_text(report, p.section)
    evidence: dict[str, Any] = {"scope": scope}
    if not text.strip():
        return [outcome(rule, "", "not_evaluated", "未评估：未取得报告正文文字。", evidence)]
    matches = []
    for label, regex in p.patterns:
        for m in regex.finditer(text):
            start, end = max(0, m.start() - p.context), min(len(text), m.end() + p.context)
            quote = ("…" if start else "") + " ".join(text[start:end].split()) + ("…" if end < len(text) else "")
            line = line_offset + text.count("\n", 0, m.start()) + 1
            matches.append({"label": label, "match": m.group(0), "quote": quote, "line": line})
    evidence.update(count=len(matches), matches=matches[:20])
    if not matches:
        return [outcome(rule, "", "pass", f"{scope}未发现{rule.title}。", evidence)]
    quotes = "；".join(f"“{m['quote']}”" for m in matches[: p.max_quotes] if p.max_quotes)
    if len(matches) > p.max_quotes:
        quotes += f" 等{len(matches)}处"
    labels = list(dict.fromkeys(m["label"] for m in matches))
    values = {"scope": scope, "count": len(matches), "quotes": quotes, "labels": labels,
              "first": matches[0]["match"]}
    return [outcome(rule, "", "fail", _message(rule, values), evidence)]


# The other kinds live in modules of their own and register themselves here.
def _register_more() -> None:
    from rules import audits, history, prosechecks, statements  # noqa: F401


register("sections", Kind(P.parse_sections, run_sections,
                          lambda p: {"rule_id", "title", "section", "heading", "state"},
                          "报告“{heading}”部分{state}。"))
register("expression", Kind(P.parse_expression, run_expression, _expression_placeholders,
                            "{title}：{left} {op} {right} 不成立，相差{diff}。"))
register("deadline", Kind(P.parse_deadline, run_deadline,
                          lambda p: {"rule_id", "title", "published", "deadline", "days_late", "agency"},
                          "年度报告发布日期为{published}，截止日期为{deadline}，逾期{days_late}天。"))
register("topics", Kind(P.parse_topics, run_topics,
                        lambda p: {"rule_id", "title", "scope", "missing"},
                        "{scope}未提及：{missing}。"))
register("pattern", Kind(P.parse_pattern, run_pattern,
                         lambda p: {"rule_id", "title", "scope", "count", "quotes", "labels", "first"},
                         "{scope}发现{count}处{title}：{quotes}。"))

_register_more()
