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
