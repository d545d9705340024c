"""A finding's evidence as sentences people read: numbers with their place in the report,
the arithmetic written out, no field keys."""

from rules.explain import explain, group_not_evaluated
from rules.fields import cell_label, cell_value, subject_label

ARI01 = {
    "rule_id": "ARI-01", "subject": "natural", "status": "fail",
    "message": "第三部分表格“自然人”列：一+二=33，（七）总计+四=32，相差1。",
    "basis": {"text": "国办公开办函〔2021〕30号 附表三 表头说明", "status": "IMPLIED"},
    "evidence": {"expression": "apply.new.natural + apply.carried.natural == apply.results_total.natural + "
                               "apply.carry_forward.natural",
                 "fields": {"apply.new.natural": 31, "apply.carried.natural": 2, "apply.results_total.natural": 30,
                            "apply.carry_forward.natural": 2},
                 "where": {"apply.new.natural": "三 一、本年新收政府信息公开申请数量 / 自然人, line 39"},
                 "left": 33, "right": 32, "diff": 1},
}


def test_cells_are_named_as_the_report_names_them():
    assert cell_label("apply.new.natural") == "表三“一、本年新收”行自然人列"
    assert cell_label("apply.withheld.process_info.total") == "表三“三（三）不予公开 6.属于四类过程性信息”行总计列"
    assert cell_label("review.corrected") == "表四 行政复议“结果纠正”栏"
    assert cell_label("active.fees.amount") == "表二“行政事业性收费”行“本年收费金额”栏"
    assert cell_label("previous.apply.carry_forward.total") == "上年度报告表三“四、结转下年度继续办理”行总计列"
    assert cell_label("apply.bogus.natural") == "报告中的一项数据"  # never the key itself
    assert cell_value("apply.new.natural", 31) == "31 件" and cell_value("active.fees.amount", 1.5) == "1.5 万元"
    assert cell_value("apply.new.natural", None) == "未填写"
    assert subject_label("natural") == "自然人列" and subject_label("other") == "六、其他需要报告的事项"
    assert subject_label("withheld.state_secret") == "（三）不予公开 1.属于国家秘密" and subject_label("") == ""


def test_an_identity_reads_as_numbers_in_place_and_the_sum_written_out():
    out = explain(ARI01)
    assert out.lines == [
        "涉及的数据：表三“一、本年新收”行自然人列：31 件；表三“二、上年结转”行自然人列：2 件；"
        "表三“三（七）总计”行自然人列：30 件；表三“四、结转下年度继续办理”行自然人列：2 件。",
        "算式：31 + 2 = 33；30 + 2 = 32；两者相差 1。"]
    assert out.cells == ["apply.new.natural", "apply.carried.natural", "apply.results_total.natural",
                         "apply.carry_forward.natural"]
    assert out.basis == "国办公开办函〔2021〕30号 附表三 表头说明（据表格勾稽关系推定）"
    assert not any("apply." in line or "line" in line for line in out.lines)


def test_a_long_sum_shows_its_nonzero_terms():
    rows = ["granted", "partial"] + [f"withheld.r{i}" for i in range(8)]
    fields = {f"apply.{r}.total": (5 if r == "granted" else 2 if r == "partial" else 0) for r in rows}
    fields["apply.results_total.total"] = 9
    ev = {"expression": "apply.results_total.total == " + " + ".join(f"apply.{r}.total" for r in rows),
          "fields": fields, "left": 9, "right": 7, "diff": 2}
    (arith,) = [line for line in explain({"evidence": ev, "message": ""}).lines if line.startswith("算式")]
    assert arith == "算式：9；5 + 2（其余8项为0） = 7；两者相差 2。"


def test_other_evidence_shapes_read_as_sentences():
    late = explain({"message": "逾期16天。", "evidence": {"deadline": "2026-01-31", "published_on": "2026-02-16",
                                                        "days_late": 16, "level": "department"}})
    assert late.lines == ["截止日期：2026年1月31日；发布日期：2026年2月16日；晚 16 天。"]
    section = explain({"message": "内容为空", "evidence": {"section": "other", "expected_heading": "六、其他需要报告的事项",
                                                         "found_heading": "六、其他需要报告的事项", "chars": 0,
                                                         "line": 94, "state": "内容为空"}})
    assert section.lines == ["“六、其他需要报告的事项”部分：内容为空，正文 0 字（原文第94行）。"]
    pattern = explain({"message": "重复字", "evidence": {"scope": "全文", "count": 1, "matches": [
        {"label": "的的", "match": "的的", "quote": "…提高解读的的针对性…", "line": 86}]}})
    assert pattern.lines == ["原文中的位置：原文第86行：“…提高解读的的针对性…”。"]
    cell = explain({"message": "", "evidence": {"field": "apply.carry_forward.total", "value": 3,
                                                "where": "三 四、结转下年度继续办理 / 总计, line 67"}})
    assert cell.lines[0] == "表三“四、结转下年度继续办理”行总计列：3 件。" and cell.cells == ["apply.carry_forward.total"]
    assert explain({"message": "x", "evidence": {"some_new_shape": {"a.b": 1}}}).lines == []  # never a dump of keys


def test_findings_not_evaluated_are_grouped_with_the_reason_once():
    findings = [{"rule_id": "ARI-01", "title": "勾稽", "subject": col, "message": "未评估：报告未填写…",
                 "evidence": {"missing": [f"apply.new.{col}", f"apply.carried.{col}"], "fields": {}}}
                for col in ("business", "research")]
    findings.append({"rule_id": "TXT-02", "title": "总体情况", "subject": "", "message": "未评估：未取得报告正文文字。",
                     "evidence": {"scope": "全文"}})
    groups = group_not_evaluated(findings)
    assert [(g["reason"], g["count"]) for g in groups] == [("报告未填写所需的表格数据", 2), ("未取得报告正文文字", 1)]
    assert groups[0]["rules"][0]["subjects_text"] == "商业企业列、科研机构列"
    assert groups[0]["blanks"] == "表三商业企业列2格、表三科研机构列2格"


def test_missing_rows_and_columns_are_named_as_the_table_names_them():
    # 洪泽区 2024: a single （六）其他处理 row; the keys of the two rows it lacks were printed as they are.
    rows = explain({"message": "第三部分表格缺少若干行。", "evidence": {
        "table": "三", "missing_rows": ["other.no_correction", "other.unpaid_fee"], "missing_columns": ["legal"]}})
    assert rows.lines == ["缺少的行：（六）其他处理 1.申请人无正当理由逾期不补正、（六）其他处理 2.申请人逾期未按收费通知要求缴纳费用。",
                          "缺少的列：“法律服务机构”列。"]
    appeals = explain({"message": "", "evidence": {"table": "四", "missing_rows": ["litigation.direct"],
                                                   "missing_columns": ["upheld", "other"]}})
    assert appeals.lines == ["缺少的行：行政诉讼（未经复议直接起诉）。", "缺少的列：“结果维持”列、“其他结果”列。"]
    said = explain({"message": "第三部分表格缺少（六）其他处理 3.其他，与年度报告格式不一致。",
                    "evidence": {"table": "三", "missing_rows": ["other.other"]}})
    assert said.lines == []  # the message names it already
