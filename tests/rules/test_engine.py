"""Evaluation: outcomes per subject, missing and doubtful fields, texts, scoring."""

from datetime import date

import pytest

from documents.report import SECTION_KEYS, ParsedReport, Section
from rules import LIBRARY, Context, evaluate, load_ruleset
from tests.rules.rulehelp import RULE_HEAD, with_applies

GOV = Context("平桥区人民政府", "government", 2021, date(2022, 3, 20))
COLUMNS = ("natural", "business", "research", "nonprofit", "legal", "other_org", "total")


def balanced(**changes):
    fields = {}
    for c in COLUMNS:
        n = 6 if c == "total" else 1
        fields.update({f"apply.new.{c}": n, f"apply.carried.{c}": 0,
                       f"apply.results_total.{c}": n, f"apply.carry_forward.{c}": 0})
    fields.update(changes)
    return fields


def expression_rule(write_rules, assert_, when_missing="not_evaluated", extra=""):
    return load_ruleset(write_rules(a=RULE_HEAD + f"""\
  when_missing: {when_missing}
  check:
    kind: expression
    for_each: {{c: applicant_columns}}
    assert: "{assert_}"
{extra}"""))


T3A = "apply.new.{c} + apply.carried.{c} == apply.results_total.{c} + apply.carry_forward.{c}"


def test_for_each_outcomes_name_the_column(write_rules):
    ruleset = expression_rule(write_rules, T3A, extra="  message: 第三部分表格“{c_label}”列：一+二={left}，（七）总计+四={right}，相差{diff}。\n")
    result = evaluate(ruleset, ParsedReport(fields=balanced(**{"apply.results_total.research": 3})), GOV)
    assert [(o.subject, o.status) for o in result.outcomes] == [
        (c, "fail" if c == "research" else "pass") for c in COLUMNS]
    bad = result.outcome("ARI-01", "research")
    assert bad.message == "第三部分表格“科研机构”列：一+二=1，（七）总计+四=3，相差-2。"
    assert bad.evidence["fields"]["apply.results_total.research"] == 3
    assert (bad.evidence["left"], bad.evidence["right"]) == (1, 3)
    assert (bad.severity, bad.weight, bad.category, bad.basis["status"]) == ("error", 10, "arithmetic", "VERIFIED")


def test_doubtful_field_is_not_evaluated_with_reason(write_rules):
    ruleset = expression_rule(write_rules, T3A)
    report = ParsedReport(fields=balanced(**{"apply.new.legal": 9}),
                          doubtful={"apply.new.legal": "row has 8 values for 7 columns and the readings differ"})
    o = evaluate(ruleset, report, GOV).outcome("ARI-01", "legal")
    assert o.status == "not_evaluated"
    assert "row has 8 values" in o.message and "法律服务机构" in o.message
    assert o.evidence["doubtful"] == {"apply.new.legal": "row has 8 values for 7 columns and the readings differ"}


@pytest.mark.parametrize("mode,status", [("not_evaluated", "not_evaluated"), ("fail", "fail"),
                                         ("zero", "pass"), ("skip", None)])
def test_when_missing(write_rules, mode, status):
    ruleset = expression_rule(write_rules, T3A, when_missing=mode)
    fields = balanced()
    del fields["apply.carried.natural"]  # not stated: under "zero" it counts as 0 and balances
    o = evaluate(ruleset, ParsedReport(fields=fields), GOV).outcome("ARI-01", "natural")
    assert (o.status if o else None) == status


def test_division_by_zero_is_not_evaluated(write_rules):
    ruleset = expression_rule(write_rules, "apply.new.{c} / apply.carried.{c} >= 0")
    o = evaluate(ruleset, ParsedReport(fields=balanced()), GOV).outcome("ARI-01", "total")
    assert o.status == "not_evaluated" and "计算出错" in o.message


def test_when_condition_false_passes(write_rules):
    ruleset = load_ruleset(write_rules(a=RULE_HEAD + """\
  check:
    kind: expression
    when: apply.other.unpaid_fee.total > 0
    assert: apply.carry_forward.total >= 1
"""))
    report = ParsedReport(fields={"apply.other.unpaid_fee.total": 0, "apply.carry_forward.total": 0})
    o = evaluate(ruleset, report, GOV).outcome("ARI-01")
    assert o.status == "pass" and o.evidence["when"] is False


def test_applies_levels_and_unknown_template(write_rules):
    ruleset = load_ruleset(write_rules(a=with_applies('{levels: [department], templates: ["2021"]}') + """\
  check: {kind: deadline}
"""))
    assert evaluate(ruleset, ParsedReport(meta={"template": "2021"}), GOV).outcomes == []
    dept = Context("某局", "department", 2021, date(2022, 1, 5))
    assert evaluate(ruleset, ParsedReport(meta={"template": "2019"}), dept).outcomes == []
    [o] = evaluate(ruleset, ParsedReport(meta={}), dept).outcomes
    assert o.status == "not_evaluated" and "未能确定报告采用的格式" in o.message
    assert o.evidence["unknown_facts"] == ["template"]


def test_deadline_both_levels_and_override():
    ruleset = load_ruleset(LIBRARY)
    report = ParsedReport()
    late_dept = evaluate(ruleset, report, Context("某局", "department", 2025, date(2026, 2, 20))).outcome("TIM-01")
    assert late_dept.status == "fail"
    assert late_dept.message == "年度报告发布日期为2026年2月20日，截止日期为2026年1月31日，逾期20天。"
    assert late_dept.evidence["days_late"] == 20
    assert evaluate(ruleset, report, Context("某区政府", "government", 2025, date(2026, 2, 20))).outcome("TIM-01").status == "pass"
    strict = Context("某区政府", "government", 2025, date(2026, 2, 20), deadline_override="02-15")
    o = evaluate(ruleset, report, strict).outcome("TIM-01")
    assert o.status == "fail" and "逾期5天" in o.message and o.evidence["override"] == "02-15"
    none = evaluate(ruleset, report, Context("某局", "department", 2025, None)).outcome("TIM-01")
    assert none.status == "not_evaluated"


def test_topics_searches_the_section_slice():
    ruleset = load_ruleset(LIBRARY)
    text = "一、总体情况\n本年度开展工作考核和社会评议。\n五、存在的主要问题及改进情况\n未发生责任追究。\n"
    sections = {"overview": Section(True, "一、总体情况", 20, 1), "problems": Section(True, "五、…", 10, 3)}
    report = ParsedReport(sections=sections, text=text)
    assert evaluate(ruleset, report, GOV).outcome("TXT-03").status == "pass"  # whole text by design
    # A rule restricted to the overview section only sees lines 1-2.
    from rules.checks import section_text
    sliced, scope, offset = section_text(report, "overview")
    assert "责任追究" not in sliced and scope == "“一、总体情况”部分" and offset == 0


def test_pattern_quotes_match_with_context_and_line():
    ruleset = load_ruleset(LIBRARY)
    report = ParsedReport(text="一、总体情况\n第一行。\n本机关坚持以以公开为常态。\n")
    o = evaluate(ruleset, report, GOV).outcome("TXT-11")
    assert o.status == "fail"
    assert "“…行。 本机关坚持以以公开为常态。”" in o.message
    assert o.evidence["matches"][0]["line"] == 3


def full_report(**fields):
    sections = {k: Section(True, v, 100, i * 10 + 1) for i, (k, v) in enumerate(SECTION_KEYS.items())}
    text = "一、总体情况 开展工作考核、社会评议，无责任追究。"
    return ParsedReport(meta={"template": "2021"}, sections=sections, fields=fields, text=text)


def test_score_explanation_adds_up_and_caps_per_rule():
    ruleset = load_ruleset(LIBRARY)
    # Every column of ARI-01 fails: the rule still loses its 10 points once.
    fields = balanced(**{f"apply.carry_forward.{c}": 6 if c == "total" else 1 for c in COLUMNS})
    late = Context("某局", "department", 2021, date(2022, 2, 3))
    result = evaluate(ruleset, full_report(**fields), late, only={"ARI-01", "ARI-04", "STR-01", "TIM-01"})
    assert sum(p for _, _, p in result.lost) == 100 - result.score
    assert result.lost == [("ARI-01", "natural", 10), ("TIM-01", "", 10)]
    assert (result.score, result.grade) == (80, "良")
    assert len([o for o in result.failures if o.rule_id == "ARI-01"]) == 7


def test_category_cap_and_weight_each(write_rules):
    rules = ""
    for i in range(1, 5):
        rules += RULE_HEAD.replace("ARI-01", f"ARI-0{i}").replace("weight: 10", "weight: 20") + \
            "  check: {kind: expression, assert: apply.new.total == 1}\n"
    rules += RULE_HEAD.replace("ARI-01", "STR-01").replace("arithmetic", "structure").replace("weight: 10", "weight: 20") + \
        "  weight_each: 5\n  check: {kind: sections}\n"
    root = write_rules(a=rules, scoring="category_caps: {arithmetic: 30}\ngrades: {A: 90, B: 70, C: 0}\n")
    ruleset = load_ruleset(root)
    result = evaluate(ruleset, ParsedReport(fields={"apply.new.total": 2}, sections={}), GOV)
    arithmetic = [x for x in result.lost if x[0].startswith("ARI")]
    assert arithmetic == [("ARI-01", "", 20), ("ARI-02", "", 10)]  # capped at 30
    structure = [x for x in result.lost if x[0] == "STR-01"]
    assert structure == [("STR-01", k, 5) for k in ("overview", "active", "requests", "appeals")]  # 4 x 5 = cap 20
    assert result.score == 50 and result.grade == "C"
    assert sum(p for _, _, p in result.lost) == 100 - result.score


def test_not_evaluated_loses_nothing_but_low_coverage_earns_no_top_grade():
    ruleset = load_ruleset(LIBRARY)
    result = evaluate(ruleset, full_report(), GOV, only={"ARI-01", "ARI-02", "STR-01", "TXT-03", "TIM-01"})
    assert result.score == 100 and result.lost == []
    assert any(o.status == "not_evaluated" for o in result.outcomes)
    assert result.ruleset_version == ruleset.version
    # ARI-01 and ARI-02 (20 of 60 weighted points) could not be evaluated: 优 is not earned.
    assert result.coverage == round(40 / 60, 4) and result.grade == "中"
    full = evaluate(ruleset, full_report(**balanced()), GOV, only={"ARI-01", "STR-01", "TXT-03", "TIM-01"})
    assert full.coverage == 1.0 and (full.score, full.grade) == (100, "优")


def test_a_report_with_a_failed_error_rule_is_not_graded_best():
    from rules.model import Outcome
    from rules.scoring import Scoring, score

    scoring = Scoring(grades=(("优", 90), ("良", 75), ("中", 60), ("差", 0)), best_grade_with_errors="良")

    def outcome(severity):
        return Outcome(rule_id="R-1", subject="", status="fail", severity=severity, title="t", message="m",
                       evidence={}, weight=5, category="arithmetic", basis={})

    assert score([outcome("error")], {"R-1": (5, 5)}, scoring)[:2] == (95, "良")
    assert score([outcome("warning")], {"R-1": (5, 5)}, scoring)[:2] == (95, "优")
    assert score(iter([outcome("error")]), {"R-1": (5, 5)}, scoring)[:2] == (95, "良")


# --- facts the reading did not establish --------------------------------------------------

def test_a_rule_needing_an_unknown_year_or_level_does_not_run():
    """The 上海市科委 case: no year found must not make a 2024 report a 2019-format report."""
    ruleset = load_ruleset(LIBRARY)
    report = full_report(**balanced())
    report.meta.update(template="2021", template_source="tables")
    no_year = evaluate(ruleset, report, Context("上海市科委", "department", None), only={"STR-02", "TIM-01", "ARI-01"})
    str02 = no_year.outcome("STR-02")
    assert str02.status == "not_evaluated" and "报告年度" in str02.message and str02.evidence["unknown_facts"] == ["year"]
    assert no_year.outcome("TIM-01").status == "not_evaluated"  # the deadline depends on the year too
    assert all(o.status == "pass" for o in no_year.outcomes if o.rule_id == "ARI-01")  # needs neither
    no_level = evaluate(ruleset, report, Context("某某", None, 2024), only={"TXT-03", "TIM-01", "PLA-01"})
    assert {o.rule_id: o.status for o in no_level.outcomes} == {
        "TXT-03": "not_evaluated", "TIM-01": "not_evaluated", "PLA-01": "not_evaluated"}
    assert "单位级别" in no_level.outcome("TXT-03").message
    # Both not-evaluated outcomes stay with the admins: they cost nothing, but coverage says so.
    assert no_level.score == 100 and no_level.coverage == 0.0 and no_level.grade == "中"


def test_template_only_inferred_from_the_year_is_not_compared_with_the_year():
    ruleset = load_ruleset(LIBRARY)
    report = full_report()
    report.meta.update(template="2021", template_source="year", year=2024)
    o = evaluate(ruleset, report, Context("某区政府", "government", 2024), only={"STR-02"}).outcome("STR-02")
    assert o.status == "not_evaluated" and "表格本身未显示" in o.message
    report.meta.update(template="2019", template_source="tables")
    o = evaluate(ruleset, report, Context("某区政府", "government", 2024), only={"STR-02"}).outcome("STR-02")
    assert o.status == "fail"


# --- blank cells --------------------------------------------------------------------------

def blank_legal_columns() -> ParsedReport:
    """The five 法人或其他组织 columns left blank (songlin-wjw, shuyang-fgj-2023)."""
    fields = {k: v for k, v in balanced().items() if k.rsplit(".", 1)[1] in ("natural", "total")}
    fields.update({f"apply.{r}.total": 1 for r in ("new", "results_total")})
    fields.update({f"apply.{r}.natural": 1 for r in ("new", "results_total")})
    keys = [f"apply.{r}.{c}" for r in ("new", "carried", "results_total", "carry_forward")
            for c in ("business", "research", "nonprofit", "legal", "other_org")]
    report = full_report(**fields)
    report.problems = [{"kind": "blank_cells", "where": "三", "detail": "20 cell(s) left blank", "keys": keys}]
    return report


def test_blank_cells_of_filled_rows_count_as_zero_and_the_evidence_says_so(tmp_path):
    import shutil

    ruleset = load_ruleset(LIBRARY)
    result = evaluate(ruleset, blank_legal_columns(), GOV, only={"ARI-01"})
    business = result.outcome("ARI-01", "business")
    assert business.status == "pass" and "空白按0计" in business.message
    assert "空白按0计" in business.evidence["note"] and "apply.new.business" in business.evidence["blank_as_zero"]
    assert result.coverage == 1.0
    # A 总计 that disagrees with the filled column fails, saying how the blanks were read.
    report = blank_legal_columns()
    report.fields["apply.new.total"] = 3
    report.fields["apply.results_total.total"] = 3
    ari03 = evaluate(ruleset, report, GOV, only={"ARI-03"}).outcome("ARI-03", "new")
    assert ari03.status == "fail" and "相差2" in ari03.message and "空白按0计" in ari03.message
    # scoring.yaml may choose `absent`: the identities are then not evaluated, and coverage shows it.
    absent = tmp_path / "rules"
    shutil.copytree(LIBRARY, absent)
    scoring = absent / "scoring.yaml"
    scoring.write_text(scoring.read_text(encoding="utf-8").replace("blank_cells: zero", "blank_cells: absent"),
                       encoding="utf-8")
    strict = evaluate(load_ruleset(absent), blank_legal_columns(), GOV, only={"ARI-01", "STR-01"})
    assert strict.outcome("ARI-01", "business").status == "not_evaluated"
    assert strict.coverage < 0.8 and strict.grade == "中"


def test_a_row_the_parser_did_not_read_is_never_filled_with_zeros():
    ruleset = load_ruleset(LIBRARY)
    report = blank_legal_columns()
    # Parsed before the parser listed its blank keys: only rows it read count as blank.
    report.problems = [{"kind": "blank_cells", "where": "三", "detail": "20 cell(s) left blank"}]
    assert evaluate(ruleset, report, GOV, only={"ARI-01"}).outcome("ARI-01", "business").status == "pass"
    del report.fields["apply.carried.natural"], report.fields["apply.carried.total"]  # row 二 not read at all
    assert evaluate(ruleset, report, GOV, only={"ARI-01"}).outcome("ARI-01", "natural").status == "not_evaluated"
