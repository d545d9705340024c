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


def section_text(report: ParsedReport, key: str | None, body: bool = False) -> tuple[str, str, int]:
    """(text, scope label, line offset) of a section, or of the whole text when the
    section's position is unknown: a wider search can only find more, never blame more.
    ``body`` leaves the heading line out (its words must not count as the content)."""
    text = report.text or ""
    section = report.sections.get(key) if key else None
    if not key or not section or not section.present or not section.line:
        return text, "全文" if not key else f"全文（未能定位“{SECTION_KEYS[key]}”）", 0
    lines = text.splitlines()
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

# Local governments below 设区的市 and local departments have no power to make 规章
# (立法法 第九十一条、第九十三条); names tell us which bodies those are.
_COUNTY_OR_BELOW = re.compile(r"(区|县|旗|乡|镇|街道|街道办事处)(人民政府|政府|办事处)?$")
_CENTRAL = re.compile(r"^(国务院|国家|中华人民共和国|中国人民银行|审计署|海关总署)")


def rulemaking(ctx: Context) -> int:
    """1 when the agency may issue 规章, 0 when it may not (by level and name)."""
    name = (ctx.agency_name or "").strip()
    if ctx.agency_level == "department":
        return 1 if _CENTRAL.match(name) else 0
    return 0 if _COUNTY_OR_BELOW.search(name) else 1


def _numbers(fields: dict) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def reset_cache() -> None:
    _CACHE.set(None)


def field_values(report: ParsedReport, ctx: Context) -> dict[str, Any]:
    """Every number an expression may read: table fields, meta numbers, agency facts, and
    the previous year's fields as ``previous.<key>``. Computed once per evaluation."""
    cached = _CACHE.get()  # engine.evaluate resets it, so a changed report is read afresh
    if cached is not None and cached[0] is report and cached[1] is ctx:
        return cached[2]
    values = _numbers(report.fields)
    values["meta.year"] = report.meta.get("year") or ctx.year
    template = str(report.meta.get("template") or "")
    values["meta.template"] = int(template) if template.isdigit() else 0
    values["agency.rulemaking"] = rulemaking(ctx)
    values["agency.government"] = 1 if ctx.agency_level == "government" else 0
    previous = ctx.previous
    if previous is not None:
        values.update({f"previous.{k}": v for k, v in _numbers(previous.fields).items()})
        values["previous.meta.year"] = previous.meta.get("year") or ctx.year - 1
    _CACHE.set((report, ctx, values))
    return values


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
                evidence.update(_field_evidence(report, needed, values), when=False)
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
            out.append(outcome(rule, inst.subject, "pass", passed, evidence))
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
    from rules import audits, history, prosechecks  # noqa: F401


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
