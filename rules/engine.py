"""``evaluate``: run a RuleSet over one ParsedReport in a Context, then score it.

For each rule id, the first variant whose ``applies`` matches the agency level, the year
and the report's template runs. A rule depends on the facts its ``applies``, its kind and
its expressions need (Rule.needs: the level, the year, the template, the power to make
规章); when one of them is not established (the document shows no year, the command line
cannot tell the level), a variant that the known facts do not exclude cannot be chosen
safely, so the rule does not run: one "not_evaluated" outcome names the missing fact
(it goes to the admins, never to the agency). A rule the known facts exclude produces no
outcome at all. Pure: no I/O, no clock (the context carries every date).
"""

from __future__ import annotations

import logging

from documents.report import ParsedReport
from rules.checks import KINDS, agency_facts, outcome, reset_cache, set_blank_policy
from rules.model import FACTS, TEMPLATES, Context, Evaluation, Outcome, Rule, RuleSet
from rules.scoring import coverage_of, score

log = logging.getLogger(__name__)


def known_facts(report: ParsedReport, ctx: Context) -> dict[str, bool]:
    """Which FACTS are established for this report in this context."""
    meta = report.meta
    template = str(meta.get("template") or "unknown")
    # template_source (documents/meta.py) says whether the tables show the template or only the
    # year implies it; reports stored before it existed count as shown by their tables.
    source = meta.get("template_source", "tables" if template in TEMPLATES else None)
    return {"level": ctx.agency_level is not None, "year": ctx.year is not None,
            "template": template in TEMPLATES, "table_template": template in TEMPLATES and source == "tables",
            "rulemaking": agency_facts(ctx)["rulemaking"] is not None}


def _choice(rule: Rule, ctx: Context, template: str, facts: dict[str, bool]) -> tuple[bool, set[str]]:
    """(the known facts allow this variant, the facts it needs that are unknown)."""
    a = rule.applies
    if a.levels and facts["level"] and ctx.agency_level not in a.levels:
        return False, set()
    if facts["year"] and ((a.since and ctx.year < a.since) or (a.until and ctx.year > a.until)):
        return False, set()
    if a.templates and facts["template"] and template not in a.templates:
        return False, set()
    return True, {f for f in rule.needs if not facts[f]}


def _run(rule: Rule, report: ParsedReport, ctx: Context) -> list[Outcome]:
    try:
        return KINDS[rule.kind].run(rule, rule.params, report, ctx)
    except Exception as exc:  # a bug in one rule kind must not lose the whole evaluation
        where = f"{rule.file}:{rule.line}" if rule.line else rule.file
        log.exception("rule %s (%s) failed on %s", rule.id, where, ctx.agency_name)
        return [outcome(rule, "", "not_evaluated", f"未评估：规则执行出错（{type(exc).__name__}）。",
                        {"error": f"{where}: {type(exc).__name__}: {exc}"[:500]})]


def _unknown_outcome(rule: Rule, unknown: set[str], report: ParsedReport) -> Outcome:
    names = "、".join(FACTS[f] for f in FACTS if f in unknown)
    evidence = {"unknown_facts": sorted(unknown), "template": report.meta.get("template"),
                "year": report.meta.get("year"), "template_source": report.meta.get("template_source")}
    return outcome(rule, "", "not_evaluated", f"未评估：未能确定{names}，而本规则取决于此。", evidence)


def evaluate(ruleset: RuleSet, report: ParsedReport, ctx: Context, only: set[str] | None = None) -> Evaluation:
    """``only`` restricts evaluation to some rule ids (rule tests and previews use it)."""
    template = str(report.meta.get("template") or "unknown")
    reset_cache()
    set_blank_policy(ruleset.scoring.blank_cells)
    facts = known_facts(report, ctx)
    outcomes: list[Outcome] = []
    costs: dict[str, tuple[int, int]] = {}
    cost = ruleset.scoring.cost
    for rule_id in ruleset.ids:
        if only is not None and rule_id not in only:
            continue
        chosen, unknown, blocked = None, set(), None
        for rule in ruleset.get(rule_id):
            allowed, missing = _choice(rule, ctx, template, facts)
            if allowed and not missing:
                chosen = rule
                break
            if allowed:
                unknown |= missing
                blocked = blocked or rule
        if chosen is None:
            if blocked is not None:  # some variant might apply, but a fact it needs is not known
                costs[rule_id] = (0, cost(blocked.category, blocked.weight))
                outcomes.append(_unknown_outcome(blocked, unknown, report))
            continue
        each = chosen.weight_each if chosen.weight_each is not None else chosen.weight
        costs[rule_id] = (cost(chosen.category, each), cost(chosen.category, chosen.weight))
        outcomes.extend(_run(chosen, report, ctx))
    if report.ocr:
        for out in outcomes:
            _mark_scanned(out.evidence, report.ocr)
    coverage = coverage_of(outcomes, {rule_id: cap for rule_id, (_, cap) in costs.items()})
    points, grade, lost = score(outcomes, costs, ruleset.scoring, coverage)
    return Evaluation(outcomes=outcomes, score=points, grade=grade, lost=lost, ruleset_version=ruleset.version,
                      coverage=coverage)


def _mark_scanned(evidence: dict, ocr: dict) -> None:
    """A finding that quotes numbers recognised from a scan says so (evidence["scanned"]: key →
    the engine's confidence), so its notice can tell the agency (explain.py: 识别自扫描件)."""
    keys = []
    for name in ("fields", "table_fields"):
        if isinstance(evidence.get(name), dict):
            keys += list(evidence[name])
    if isinstance(evidence.get("field"), str):
        keys.append(evidence["field"])
    scanned = {k: ocr[k]["confidence"] for k in keys if k in ocr}
    if scanned:
        evidence["scanned"] = scanned
