"""Check kinds across reports: ``history`` (this report against the same agency's
report on the year before, ``Context.previous``) and ``missing`` (no report at all by the
deadline, TIM-02), with ``missing_report_outcome`` for the deadline checker.

A history rule is either an expression in which ``previous.<key>`` reads last year's
field (carried over = last year's carry-forward, 现行有效 continuity), or a similarity
test of the two texts after masking years and numbers (内容雷同). Without a previous
report a history rule says nothing (or "not evaluated", as the rule chooses).
Must not load files or score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from documents.report import ParsedReport
from rules import params as P
from rules.checks import Kind, _expression_placeholders, _message, outcome, register, run_expression
from rules.deadlines import report_deadline
from rules.messages import format_date
from rules.model import Context, Outcome, Rule, RuleSet
from rules.params import DeadlineParams, Issues, check_keys, parse_deadline
from rules.yamlmarks import line_of

# --- history ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryParams:
    expression: P.ExpressionParams | None = None
    threshold: float | None = None  # similarity mode
    min_chars: int = 300
    min_nonzero: int = 3  # identical tables count only when this many cells are not 0
    without_previous: str = "skip"  # skip | not_evaluated

    # run_expression and the message check read these from the params object
    @property
    def instances(self):
        return self.expression.instances if self.expression else ()

    @property
    def variables(self):
        return self.expression.variables if self.expression else ()

    @property
    def fields(self):
        return self.expression.fields if self.expression else ()

    @property
    def tolerance(self):
        return self.expression.tolerance if self.expression else 0

    @property
    def comparison(self):
        return self.expression.comparison if self.expression else False


def parse_history(check: dict, issues: Issues) -> HistoryParams | None:
    check_keys(check, ("kind", "assert", "for_each", "tolerance", "when", "similarity", "without_previous"),
               "'history' 检查", issues)
    without = check.get("without_previous", "skip")
    if without not in ("skip", "not_evaluated"):
        issues.add(line_of(check, "without_previous"), "choice_invalid", key="without_previous", value=without,
                   choices=("skip", "not_evaluated"))
        without = "skip"
    if "similarity" in check:
        sim = check["similarity"]
        if not isinstance(sim, dict):
            issues.add(line_of(check, "similarity"), "mapping_required", key="similarity", example="similarity: {threshold: 0.9}")
            return None
        check_keys(sim, ("threshold", "min_chars", "min_nonzero"), "'similarity'", issues)
        threshold = sim.get("threshold", 0.9)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
            issues.add(line_of(sim, "threshold"), "threshold_invalid")
            return None
        return HistoryParams(None, float(threshold), int(sim.get("min_chars", 300)), int(sim.get("min_nonzero", 3)),
                             without_previous=without)
    sub = {k: v for k, v in check.items() if k not in ("similarity", "without_previous")}
    expr = P.parse_expression(_Marked(sub, getattr(check, "line", None), getattr(check, "key_lines", {})), issues)
    if expr is None:
        return None
    if not any(f.startswith("previous.") for f in expr.fields):
        issues.add(line_of(check, "assert"), "history_without_previous")
        return None
    return HistoryParams(expr, without_previous=without)


class _Marked(dict):
    """A plain mapping that keeps the line numbers of the original check (for messages)."""

    def __init__(self, data: dict, line: int | None, key_lines: dict):
        super().__init__(data)
        self.line = line
        self.key_lines = key_lines

    def line_of(self, key):
        return self.key_lines.get(key, self.line)


_MASK = re.compile(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+(?=[年月日件个条项])|\s+")


def _shingles(text: str, n: int = 4) -> set[str]:
    masked = _MASK.sub(lambda m: "#" if not m.group(0).isspace() else "", text)
    return {masked[i:i + n] for i in range(max(0, len(masked) - n + 1))}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character 4-grams after masking numbers and spaces."""
    sa, sb = _shingles(a), _shingles(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def run_history(rule: Rule, p: HistoryParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    previous = ctx.previous
    if previous is None:
        if p.without_previous == "skip":
            return []
        return [outcome(rule, "", "not_evaluated", "未评估：没有同一机关上一年度的报告可供比对。")]
    if p.expression is not None:
        return run_expression(rule, p.expression, report, ctx)
    out = []
    evidence: dict[str, Any] = {"previous_year": previous.meta.get("year"), "threshold": p.threshold}
    text, old = report.text or "", previous.text or ""
    if len(text) >= p.min_chars and len(old) >= p.min_chars:
        score = round(similarity(text, old), 3)
        evidence["similarity"] = score
        if score >= p.threshold:
            out.append(outcome(rule, "text", "fail", _message(rule, {
                "similarity": f"{score:.0%}", "previous_year": previous.meta.get("year") or _year_before(ctx),
                "what": "正文"}), dict(evidence)))
        else:
            out.append(outcome(rule, "text", "pass", f"正文与上年度报告的相似度为{score:.0%}。", dict(evidence)))
    now, before = report.fields, previous.fields
    shared = [k for k in now if k in before]
    nonzero = [k for k in shared if now[k]]
    if shared and len(nonzero) >= p.min_nonzero:
        same = all(now[k] == before[k] for k in shared) and len(shared) >= 0.9 * max(len(now), 1)
        table_evidence = {"previous_year": previous.meta.get("year"), "compared": len(shared), "nonzero": len(nonzero)}
        if same:
            out.append(outcome(rule, "tables", "fail", _message(rule, {
                "similarity": "100%", "previous_year": previous.meta.get("year") or _year_before(ctx), "what": "表格数据"}),
                table_evidence))
        else:
            out.append(outcome(rule, "tables", "pass", "表格数据与上年度不同。", table_evidence))
    return out


def _year_before(ctx: Context) -> int | str:
    return ctx.year - 1 if ctx.year else "上一"


def _history_placeholders(p: HistoryParams) -> set[str]:
    if p.expression is not None:
        return _expression_placeholders(p.expression)
    return {"rule_id", "title", "similarity", "previous_year", "what"}


register("history", Kind(parse_history, run_history, _history_placeholders,
                         "{title}：{left} {op} {right} 不成立，相差{diff}。"))


# --- missing (TIM-02) -------------------------------------------------------------------

def run_missing(rule: Rule, p: DeadlineParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    return []  # a report is at hand, so it is not missing; missing_report_outcome judges absence


register("missing", Kind(parse_deadline, run_missing,
                         lambda p: {"rule_id", "title", "agency", "year", "deadline", "today", "days_late"},
                         "截至{today}，未发现{agency}{year}年度政府信息公开工作年度报告（截止日期{deadline}，已逾期{days_late}天）。"))


def missing_report_outcome(ruleset: RuleSet, ctx: Context, today: date) -> Outcome | None:
    """The outcome of the ruleset's ``missing`` rule for an agency with no report on
    ``ctx.year`` as of ``today``: fail once the deadline (with the local override in ctx)
    and the rule's grace days have passed, pass before; None when no missing rule applies."""
    for rule_id in ruleset.ids:
        for rule in ruleset.get(rule_id):
            if rule.kind != "missing" or not _applies_ignoring_template(rule, ctx):
                continue
            deadline = report_deadline(ctx.agency_level, ctx.year, ctx.deadline_override)
            days_late = (today - deadline).days
            evidence = {"deadline": deadline.isoformat(), "today": today.isoformat(), "level": ctx.agency_level,
                        "override": ctx.deadline_override, "grace_days": rule.params.grace_days,
                        "days_late": max(days_late, 0), "year": ctx.year}
            if days_late <= rule.params.grace_days:
                return outcome(rule, "", "pass", f"截止日期{format_date(deadline)}尚未过去。", evidence)
            values = {"agency": ctx.agency_name, "year": ctx.year, "deadline": deadline, "today": today,
                      "days_late": days_late}
            return outcome(rule, "", "fail", _message(rule, values), evidence)
    return None


def _applies_ignoring_template(rule: Rule, ctx: Context) -> bool:
    a = rule.applies
    if a.levels and ctx.agency_level not in a.levels:
        return False
    return not ((a.since and ctx.year < a.since) or (a.until and ctx.year > a.until))
