"""The rule engine: rules written in YAML, checked when loaded, evaluated over parsed reports.

A plain library: it reads ``documents`` types only; no database, no queue, no settings.

    ruleset = load_ruleset("rules/library")
    result = evaluate(ruleset, report, Context("平桥区人民政府", "government", 2021, date(2022, 3, 20)))
    result.outcomes, result.score, result.grade, result.lost

``Context.previous`` (the agency's parsed report on the year before) feeds history rules;
``missing_report_outcome(ruleset, ctx, today)`` judges an agency with no report (TIM-02).
"""

from pathlib import Path

from rules.deadlines import report_deadline
from rules.engine import evaluate
from rules.errors import Problem, RuleError, RuleFileError
from rules.history import missing_report_outcome
from rules.loader import load_ruleset
from rules.model import Context, Evaluation, Outcome, Rule, RuleSet
from rules.ruletests import RuleTestFailure, run_rule_tests

LIBRARY = Path(__file__).parent / "library"  # the shipped default ruleset
LIBRARY_TESTS = LIBRARY / "tests"

__all__ = [
    "Context", "Evaluation", "LIBRARY", "LIBRARY_TESTS", "Outcome", "Problem", "Rule", "RuleError",
    "RuleFileError", "RuleSet", "RuleTestFailure", "evaluate", "load_ruleset", "missing_report_outcome",
    "report_deadline", "run_rule_tests",
]
