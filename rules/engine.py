"""``evaluate``: run a RuleSet over one ParsedReport in a Context, then score it.

For each rule id, the first variant whose ``applies`` matches the agency level, the year
and the report's template runs; a rule that does not apply produces no outcome, except
when only the template is unknown — then one "not_evaluated" says so, because silence
would look like a pass. Pure: no I/O, no clock (the context carries every date).
"""

from __future__ import annotations

import logging

from documents.report import ParsedReport
from rules.checks import KINDS, outcome, reset_cache
from rules.model import Context, Evaluation, Outcome, Rule, RuleSet
from rules.scoring import score

log = logging.getLogger(__name__)


def _matches(rule: Rule, ctx: Context, template: str) -> tuple[bool, bool]:
    """(applies, blocked only by an unknown template)."""
    a = rule.applies
    if a.levels and ctx.agency_level not in a.levels:
        return False, False
    if (a.since and ctx.year < a.since) or (a.until and ctx.year > a.until):
        return False, False
    if a.templates and template not in a.templates:
        return False, template not in ("2021", "2019")
    return True, False


def _run(rule: Rule, report: ParsedReport, ctx: Context) -> list[Outcome]:
    try:
        return KINDS[rule.kind].run(rule, rule.params, report, ctx)
    except Exception as exc:  # a bug in one rule kind must not lose the whole evaluation
        where = f"{rule.file}:{rule.line}" if rule.line else rule.file
        log.exception("rule %s (%s) failed on %s", rule.id, where, ctx.agency_name)
        return [outcome(rule, "", "not_evaluated", f"未评估：规则执行出错（{type(exc).__name__}）。",
                        {"error": f"{where}: {type(exc).__name__}: {exc}"[:500]})]


def evaluate(ruleset: RuleSet, report: ParsedReport, ctx: Context, only: set[str] | None = None) -> Evaluation:
    """``only`` restricts evaluation to some rule ids (rule tests and previews use it)."""
    template = str(report.meta.get("template") or "unknown")
    reset_cache()
    outcomes: list[Outcome] = []
    costs: dict[str, tuple[int, int]] = {}
    for rule_id in ruleset.ids:
        if only is not None and rule_id not in only:
            continue
        variants = ruleset.get(rule_id)
        chosen, template_unknown = None, False
        for rule in variants:
            applies, blocked_by_template = _matches(rule, ctx, template)
            if applies:
                chosen = rule
                break
            template_unknown = template_unknown or blocked_by_template
        if chosen is None:
            if template_unknown:
                outcomes.append(outcome(variants[0], "", "not_evaluated",
                                        f"未评估：未能识别报告采用的格式（{template}），本规则只适用于特定格式。",
                                        {"template": template}))
            continue
        each = chosen.weight_each if chosen.weight_each is not None else chosen.weight
        cost = ruleset.scoring.cost
        costs[rule_id] = (cost(chosen.category, each), cost(chosen.category, chosen.weight))
        outcomes.extend(_run(chosen, report, ctx))
    points, grade, lost = score(outcomes, costs, ruleset.scoring)
    return Evaluation(outcomes=outcomes, score=points, grade=grade, lost=lost, ruleset_version=ruleset.version)
