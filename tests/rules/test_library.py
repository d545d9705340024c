"""The shipped library loads, and its own data tests pass."""

import shutil

from rules import LIBRARY, LIBRARY_TESTS, load_ruleset, run_rule_tests


def test_library_loads_with_expected_rules():
    ruleset = load_ruleset(LIBRARY)
    required = ["STR-01", "STR-02", "STR-03", "STR-04", "STR-05", "ARI-01", "ARI-02", "ARI-03", "ARI-04", "ARI-05",
                "XY-01", "XY-02", "XY-03", "TXT-01a", "TXT-02", "TXT-03", "TXT-04", "TXT-06", "TXT-08", "TXT-09",
                "FEE-01", "UNIT-01", "PLA-01", "PLA-02", "TIM-01", "TIM-02", "TIM-03", "TIM-04", "TIM-05", "TIM-06"]
    assert set(required) <= set(ruleset.ids)
    kinds = {r.kind for r in ruleset.rules}
    assert {"narrative", "history", "problems", "missing", "replies", "headings"} <= kinds
    for rule in ruleset.rules:
        assert rule.basis["status"] in ("VERIFIED", "CORROBORATED", "IMPLIED", "UNVERIFIED")
    assert ruleset.scoring.grade(95) == "优" and ruleset.scoring.grade(59) == "差"


def test_library_data_tests_pass():
    failures = run_rule_tests(LIBRARY, LIBRARY_TESTS)
    assert failures == [], "\n".join(map(str, failures))


def test_a_wrong_expectation_and_an_untested_rule_are_failures(tmp_path):
    tests = tmp_path / "tests"
    shutil.copytree(LIBRARY_TESTS, tests)
    (tests / "timeliness.yaml").unlink()  # TIM-01 loses its cases
    (tests / "wrong.yaml").write_text(
        "- name: wrong on purpose\n"
        "  rules: [ARI-01]\n"
        "  report: {fields: {apply.new.total: 1, apply.carried.total: 0,"
        " apply.results_total.total: 1, apply.carry_forward.total: 0}}\n"
        "  expect:\n"
        "    - {rule: ARI-01, subject: total, status: fail}\n", encoding="utf-8")
    failures = [str(f) for f in run_rule_tests(LIBRARY, tests)]
    assert any("wrong.yaml:5: wrong on purpose: 应为 ARI-01（total）“不符合”，实际为“符合”" in f for f in failures)
    assert any("规则 TIM-01 没有测试用例" in f for f in failures)
    assert len(failures) == 1 + sum(1 for r in load_ruleset(LIBRARY).ids if r.startswith("TIM-"))


def test_a_case_that_cannot_be_built_says_which_key_is_wrong_in_chinese(tmp_path):
    """A mistyped case is that case's failure, at its line, naming the key: never Python's words."""
    tests = tmp_path / "tests"
    shutil.copytree(LIBRARY_TESTS, tests)
    (tests / "typos.yaml").write_text(
        "- name: a date that is not one\n"
        "  context: {published_on: 2026-13-01, year: twenty, level: county}\n"
        "  report: {sections: {overviw: {}, active: {charz: 3}}, fields: [1, 2]}\n"
        "  expect: [{rule: ARI-01, status: pass}]\n"
        "- name: a report that is a list\n"
        "  report: [1, 2]\n"
        "  expect: [{rule: ARI-01, status: pass}]\n", encoding="utf-8")
    said = [str(f) for f in run_rule_tests(LIBRARY, tests) if "typos.yaml" in str(f)]
    text = "\n".join(said)
    for words in ("typos.yaml:2: a date that is not one: 'context.published_on' 不是日期：'2026-13-01'",
                  "'context.year' 不是年份：'twenty'", "'context.level' 只能是 'government'、'department'、'unknown'，而不是 'county'",
                  "typos.yaml:3: a date that is not one: 未知的章节键 'overviw'",
                  "'report.sections.active' 中有未知的键 'charz'", "用例的 'report.fields' 应是一个映射",
                  "typos.yaml:6: a report that is a list: 用例的 'report' 应是一个映射"):
        assert words in text, text
    for python in ("Error", "Invalid isoformat", "invalid literal", "object has no attribute", "unexpected keyword"):
        assert python not in text, text
