"""The default library on the real reports in ../shared/fixtures (skipped without them)."""

from datetime import date

import pytest

from rules import LIBRARY, Context, evaluate, load_ruleset, missing_report_outcome

ARITHMETIC = ("ARI-01", "ARI-02", "ARI-03", "ARI-04", "ARI-05")


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset(LIBRARY)


def parse(path):
    from documents.reader import read_document

    return read_document(path.read_bytes(), name=path.name)


def failures(result):
    return {o.key: o for o in result.outcomes if o.status == "fail"}


def test_pingqiao_2021_as_a_district_government(ruleset, shared_fixtures):
    report = parse(shared_fixtures / "000_0408e1d58f05bafb.txt")
    result = evaluate(ruleset, report, Context("平桥区人民政府", "government", 2021, date(2022, 3, 20)))
    failed = failures(result)
    # No arithmetic identity fails: its tables add up (all 39 section-三 identities evaluated).
    assert not [k for k in failed if k[0] in ARITHMETIC]
    evaluated = [o for o in result.outcomes if o.rule_id in ("ARI-01", "ARI-02", "ARI-03") and o.status == "pass"]
    assert len(evaluated) == 7 + 7 + 25
    assert [o.status for o in result.outcomes if o.rule_id == "ARI-04"] == ["pass"] * 3
    # The missing 工作考核、社会评议和责任追究结果.
    txt03 = failed[("TXT-03", "")]
    assert "工作考核" in txt03.message and "社会评议" in txt03.message and txt03.evidence["missing"]
    # The empty section 六, and no 信息处理费 statement in it.
    assert "六、其他需要报告的事项" in failed[("STR-01", "other")].message
    assert failed[("STR-01", "other")].evidence["chars"] == 0
    assert "信息处理费" in failed[("TXT-04", "")].message
    # The irregular column count in table 三, with its lines.
    fmt = failed[("FMT-01", "")]
    assert "第三部分表格" in fmt.message and "8个数值" in fmt.message and "7列" in fmt.message
    # What the prose says about replies: 16 of 18 on time, 1 extended.
    tim03 = failed[("TIM-03", "")]
    assert "收到申请18件、按时答复16件，延期答复1件" in tim03.message
    assert "有1件未说明" in tim03.message and tim03.evidence["not_on_time"] == 1  # the extended one is answered
    assert tim03.evidence["on_time"]["quote"].startswith("今年我区共收到政府信息公开申请18件")
    assert "延期答复1件" in failed[("TIM-04", "")].message
    # The heading 六 reads as item six of the list in 五.
    assert "看似该列表的下一项" in failed[("STR-06", "problems")].message
    # Prose and tables agree on received / reviews / lawsuits.
    for rule_id in ("TXT-01a", "TXT-01e", "TXT-01f"):
        assert result.outcome(rule_id).status == "pass", rule_id
    # Every finding names its evidence; every lost point belongs to a finding.
    for o in failed.values():
        assert o.evidence, o.rule_id
    assert sum(p for _, _, p in result.lost) == 100 - result.score
    assert {(r, s) for r, s, _ in result.lost} <= set(failed)


def test_hongze_2024_scope_of_the_prose_is_a_warning_not_arithmetic(ruleset, shared_fixtures):
    report = parse(shared_fixtures / "hongze-2024.pdf")
    result = evaluate(ruleset, report, Context("淮安市洪泽区人民政府", "government", 2024))
    failed = failures(result)
    assert not [k for k in failed if k[0] in ARITHMETIC]
    o = failed[("TXT-01a", "")]
    assert o.severity == "warning" and o.category == "text"
    assert "区政府办代表区政府" in o.message and "17" in o.message and "95" in o.message
    assert o.evidence["scope"] == "partial" and o.evidence["table_value"] == 95 and o.evidence["prose_value"] == 17
    assert result.outcome("TIM-03").status == "pass"  # 均已在法定期限内予以答复
    assert "（六）其他处理 1" in failed[("STR-04", "")].message  # one 其他处理 row in a 2021 table
    # ... which stands for all of （六）: the table's sums are judged with it (95 = 50 + 9 + … + 0), not left unjudged.
    assert all(result.outcome("ARI-02", c).status == "pass" for c in ("natural", "total"))
    assert not [o for o in result.outcomes if o.status == "not_evaluated" and o.rule_id.startswith("ARI")]
    assert result.coverage > 0.9
    assert result.outcome("TXT-04").status == "pass"  # 收取政府信息公开信息处理费 0 元


def test_shuyang_2023_department_blank_cells_count_as_zero_in_the_identities(ruleset, shared_fixtures):
    report = parse(shared_fixtures / "shuyang-fgj-2023.html")
    result = evaluate(ruleset, report, Context("沭阳县发展和改革局", "department", 2023, date(2024, 1, 17)))
    failed = failures(result)
    assert not [k for k in failed if k[0] in ARITHMETIC]  # 总计 = 自然人 in every row: the blanks are 0
    assert ("FMT-02", "") in failed and failed[("FMT-02", "")].severity == "warning"  # the template asks for 0
    business = result.outcome("ARI-01", "business")
    assert business.status == "pass" and "空白按0计" in business.evidence["note"]
    assert result.coverage is not None and result.coverage > 0.9 and result.score < 100
    assert result.outcome("STR-04").status == "pass"
    assert result.outcome("TIM-01").status == "pass"
    assert "TXT-03" not in {o.rule_id for o in result.outcomes}  # departments only


def test_previous_year_report_feeds_history_rules(ruleset, shared_fixtures):
    report = parse(shared_fixtures / "000_0408e1d58f05bafb.txt")
    # The same report a year later, unchanged but for the year: copied text, identical tables.
    later = parse(shared_fixtures / "000_0408e1d58f05bafb.txt")
    later.text = later.text.replace("2021", "2022")
    later.meta["year"] = 2022
    result = evaluate(ruleset, later, Context("平桥区人民政府", "government", 2022, previous=report))
    failed = failures(result)
    assert ("XY-03", "text") in failed and ("XY-03", "tables") in failed
    assert all(o.status == "pass" for o in result.outcomes if o.rule_id == "XY-01")


def test_missing_report_outcome_for_the_deadline_checker(ruleset):
    ctx = Context("某县统计局", "department", 2025, deadline_override=None)
    assert missing_report_outcome(ruleset, ctx, date(2026, 1, 31)).status == "pass"
    late = missing_report_outcome(ruleset, ctx, date(2026, 2, 10))
    assert (late.rule_id, late.status, late.severity) == ("TIM-02", "fail", "error")
    assert "已逾期10天" in late.message and late.basis["text"] == "《政府信息公开条例》第四十九条"
    assert late.evidence["deadline"] == "2026-01-31"
