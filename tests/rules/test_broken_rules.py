"""Rule loading and evaluation never crash: whatever goes wrong in one rule is that rule's
error, with its file and line, in `rules check/test/diff`, in a worker's health (so `status`
shows it) and in the evaluation (not evaluated, never a lost task)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys

import pytest

from rules import RuleFileError, load_ruleset
from rules.expressions import MAX_DEPTH, compile_expression, evaluate_expression, evaluate_with_simpleeval
from tests.conftest import REPO
from tests.rules.rulehelp import RULE_HEAD

TERMS = 400  # the issue's expression: 400 terms, about 8,000 characters with field keys, 800 with digits
DEEP = RULE_HEAD + f"""\
  check:
    kind: expression
    assert: apply.new.total == {" + ".join(["1"] * TERMS)}
"""


def _problem(root) -> str:
    with pytest.raises(RuleFileError) as info:
        load_ruleset(root)
    [problem] = info.value.problems
    return str(problem)


def test_a_deep_expression_is_its_rules_error_at_its_line(write_rules):
    text = _problem(write_rules(deep=DEEP))
    assert "deep.yaml:10: 表达式嵌套 402 层" in text
    assert f"超过上限 {MAX_DEPTH} 层" in text and "sum(a, b, c, …)" in text


def test_a_long_sum_is_written_with_sum():
    keys = ["apply.new.natural", "apply.new.business", "apply.new.research"] * 50  # 150 terms, too deep with +
    with pytest.raises(Exception, match="嵌套"):
        compile_expression(f"apply.new.total == {' + '.join(keys)}")
    expr = compile_expression(f"apply.new.total == sum({', '.join(keys)})")
    values = {"apply.new.total": 300, "apply.new.natural": 1, "apply.new.business": 2, "apply.new.research": 3}
    assert expr.linear is not None  # summed flat, no recursion
    assert evaluate_expression(expr, values).value is True and evaluate_with_simpleeval(expr, values).value is True


@pytest.mark.parametrize("text", ["not " * 900 + "1", "-" * 3000 + "1 == 1", "abs(" * 300 + "1" + ")" * 300])
def test_any_nesting_is_refused_before_anything_recurses(text):
    from rules.errors import ExpressionError

    with pytest.raises(ExpressionError):
        compile_expression(text)


def test_an_exception_in_a_kinds_parser_is_that_rules_problem(write_rules, monkeypatch):
    from rules import checks

    def broken(params, issues):
        raise RuntimeError("a bug in the pattern parser")

    monkeypatch.setitem(checks.KINDS, "pattern", dataclasses.replace(checks.KINDS["pattern"], parse=broken))
    root = write_rules(a=RULE_HEAD + """\
  check: {kind: pattern, patterns: ["x"]}
""")
    with pytest.raises(RuleFileError) as info:
        load_ruleset(root)
    [problem] = info.value.problems
    assert "a.yaml:1: 规则 'ARI-01' 无法载入：检查这条规则时程序出错" in str(problem)
    assert problem.code == "rule_crashed" and problem.detail == "RuntimeError: a bug in the pattern parser"  # for the log


def test_an_exception_while_evaluating_is_not_evaluated_with_file_and_line(write_rules, monkeypatch):
    from documents.report import ParsedReport
    from rules import Context, checks, evaluate

    root = write_rules(a=RULE_HEAD + """\
  check: {kind: pattern, patterns: ["x"]}
""")
    ruleset = load_ruleset(root)

    def broken(rule, params, report, ctx):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setitem(checks.KINDS, "pattern", dataclasses.replace(checks.KINDS["pattern"], run=broken))
    report = ParsedReport(meta={"template": "2021"}, sections={}, fields={}, where={}, doubtful={}, narrative={},
                          problems=[], text="x")
    result = evaluate(ruleset, report, Context(agency_name="青河区", agency_level="government", year=2025))
    [outcome] = result.outcomes
    assert outcome.status == "not_evaluated" and "规则执行出错" in outcome.message
    assert outcome.evidence["error"].endswith("a.yaml:1: RecursionError: maximum recursion depth exceeded")


def _nianbao(*args, env=None):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_rules_check_test_and_diff_say_file_line_and_no_traceback(tmp_path):
    broken = tmp_path / "rules"
    shutil.copytree(REPO / "rules" / "library", broken)
    (broken / "deep.yaml").write_text(DEEP.replace("ARI-01", "ARI-99"), encoding="utf-8")
    env = {"NIANBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}", "NIANBAO_HOME": str(tmp_path)}
    for args in (("rules", "check", str(broken)), ("rules", "test", str(broken)),
                 ("rules", "diff", "--against", str(broken))):
        run = _nianbao(*args, env=env)
        assert run.returncode == 1, (args, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr and "RecursionError" not in run.stderr, args
        assert "deep.yaml:10: 表达式嵌套 402 层" in run.stderr, (args, run.stderr)


def test_a_worker_records_the_broken_rule_and_status_shows_it(tmp_path):
    from config.settings import Settings
    from models.db import migrate
    from worker import pipeline
    from worker.runtime import Runtime

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules" / "library", rules)
    url = f"sqlite:///{tmp_path / 'n.db'}"
    migrate(url)
    rt = Runtime(Settings(home=tmp_path, database_url=url, rules_dir=rules, broker_url=""))
    assert pipeline.check_rules(rt)
    good = rt.rules.current().version
    (rules / "deep.yaml").write_text(DEEP.replace("ARI-01", "ARI-99"), encoding="utf-8")
    assert not pipeline.check_rules(rt)  # recorded, and the last good rules stay in use
    assert rt.rules.current().version == good and "deep.yaml:10:" in rt.rules.error
    assert not pipeline.check_rules(rt) and "deep.yaml:10:" in rt.rules.error  # and stays said, not forgotten
    run = _nianbao("status", env={"NIANBAO_DATABASE_URL": url, "NIANBAO_HOME": str(tmp_path),
                                  "NIANBAO_RULES_DIR": str(rules), "COLUMNS": "200"})
    assert run.returncode == 0, run.stderr
    assert "deep.yaml:10: 表达式嵌套 402 层" in run.stdout
