"""The real reports in ../shared/fixtures: the values a human reads off the page."""

from __future__ import annotations

from documents.report import APPLICANT_COLUMNS, SECTION_KEYS


class TestPingqiao:
    def test_application_table(self, pingqiao):
        f = pingqiao.fields
        assert f["apply.new.total"] == 18
        assert f["apply.granted.natural"] == 16
        assert f["apply.partial.natural"] == 1
        assert f["apply.partial.total"] == 1
        assert f["apply.unable.unclear.total"] == 1
        assert f["apply.results_total.total"] == 18
        assert f["apply.carry_forward.total"] == 0
        assert f["apply.other.other.total"] == 0  # "3.其他" under （六）其他处理
        # every one of the 25 rows × 7 columns is stated
        assert sum(k.startswith("apply.") for k in f) == 25 * 7

    def test_extra_value_rows_are_a_problem_not_a_doubt(self, pingqiao):
        kinds = [p["kind"] for p in pingqiao.problems]
        assert kinds == ["renamed_column", "column_count"]  # its header says 社会组织
        assert "8 values for 7 columns" in pingqiao.problems[1]["detail"]
        assert pingqiao.doubtful == {}

    def test_label_on_one_line_values_on_the_next(self, pingqiao):
        assert pingqiao.where["apply.granted.natural"] == "三 (一) 予以公开 / 自然人, line 46"
        assert pingqiao.where["apply.results_total.total"] == "三 (七) 总计 / 总计, line 68"

    def test_active_and_appeals(self, pingqiao):
        f = pingqiao.fields
        assert f["active.normative.issued"] == 3
        assert f["active.normative.in_force"] == 52
        assert f["active.licensing.decisions"] == 12124
        assert f["active.penalty.decisions"] == 2646
        assert f["active.fees.amount"] == 24074
        assert f["review.corrected"] == 1
        assert f["review.total"] == 1
        assert f["litigation.direct.total"] == 0
        assert f["litigation.after_review.total"] == 0

    def test_sections(self, pingqiao):
        s = pingqiao.sections
        assert all(s[k].present for k in SECTION_KEYS)
        assert [s[k].line for k in SECTION_KEYS] == [5, 21, 38, 71, 78, 96]
        # 六 is the last item of the list in 五, with nothing under it
        assert s["other"].chars == 0
        assert s["problems"].chars > 300

    def test_narrative(self, pingqiao):
        n = {k: v["value"] for k, v in pingqiao.narrative.items()}
        assert n == {"requests_received": 18, "answered_on_time": 16, "extended": 1, "reviews": 1, "lawsuits": 0,
                     "items_published": 1052}
        assert "没有行政诉讼" in pingqiao.narrative["lawsuits"]["quote"]

    def test_meta(self, pingqiao):
        assert pingqiao.meta["title"] == "平桥区人民政府2021年政府信息公开工作年度报告"
        assert pingqiao.meta["agency"] == "平桥区人民政府"
        assert pingqiao.meta["year"] == 2021
        assert pingqiao.meta["template"] == "2021"
        assert pingqiao.meta["published"] is None

    def test_text_is_the_document(self, pingqiao):
        assert pingqiao.text.splitlines()[2] == "平桥区人民政府2021年政府信息公开工作年度报告"


class TestShuyang:
    def test_all_26_granted(self, shuyang):
        f = shuyang.fields
        assert f["apply.new.natural"] == 26
        assert f["apply.new.total"] == 26
        assert f["apply.granted.natural"] == 26
        assert f["apply.granted.total"] == 26
        assert f["apply.results_total.total"] == 26
        assert f["apply.partial.total"] == 0
        assert f["apply.carry_forward.total"] == 0

    def test_blank_legal_person_cells_are_absent(self, shuyang):
        for row in ("new", "granted", "results_total", "withheld.state_secret"):
            for column in APPLICANT_COLUMNS[1:6]:
                assert f"apply.{row}.{column}" not in shuyang.fields
        blanks = [p for p in shuyang.problems if p["kind"] == "blank_cells"]
        assert len(blanks) == 1  # once per table, not once per cell

    def test_normative_documents_row(self, shuyang):
        f = shuyang.fields
        assert (f["active.normative.issued"], f["active.normative.repealed"], f["active.normative.in_force"]) == (8, 0, 18)
        assert shuyang.where["active.normative.issued"].startswith("二 规范性文件 / 本年制发件数")
        assert f["active.fees.amount"] == 0

    def test_appeals(self, shuyang):
        assert shuyang.fields["review.pending"] == 1
        assert shuyang.fields["review.total"] == 1
        assert shuyang.fields["litigation.after_review.total"] == 0

    def test_meta_and_sections(self, shuyang):
        assert shuyang.meta["published"] == "2024-01-17"
        assert shuyang.meta["agency"] == "沭阳县发展和改革局"
        assert shuyang.meta["year"] == 2023
        assert shuyang.meta["template"] == "2021"
        assert all(shuyang.sections[k].present for k in SECTION_KEYS)
        assert shuyang.sections["problems"].heading == "五、存在的主要问题及整改措施"
        # the sub-heading （一）主动公开政府信息情况 inside 一 is not section 二
        assert shuyang.sections["active"].heading == "二、主动公开政府信息情况"

    def test_narrative(self, shuyang):
        assert shuyang.narrative["requests_received"]["value"] == 26


def test_hongze_pdf(shared_report):
    report = shared_report("hongze-2024.pdf")
    f = report.fields
    assert report.meta["format"] == "pdf"
    assert report.meta["agency"] == "淮安市洪泽区人民政府"
    assert report.meta["year"] == 2024
    assert f["apply.new.total"] == 95
    assert f["apply.partial.total"] == 9  # label wrapped over two lines before its values
    assert f["apply.withheld.law_forbidden.total"] == 0  # typo 其他法律行政止公开
    assert f["apply.rejected.confirm_existing.total"] == 0
    assert f["apply.other.other.total"] == 0  # single （六）其他处理 row
    assert f["apply.results_total.total"] == 95
    assert f["active.licensing.decisions"] == 9487
    assert (f["review.total"], f["litigation.direct.total"], f["litigation.after_review.total"]) == (2, 1, 3)
    assert report.narrative["requests_received"]["value"] == 17
    assert all(s.present for s in report.sections.values())


def test_output_is_deterministic(shared_report):
    a = shared_report("shuyang-fgj-2023.html").to_json(with_text=True)
    b = shared_report("shuyang-fgj-2023.html").to_json(with_text=True)
    assert a == b
