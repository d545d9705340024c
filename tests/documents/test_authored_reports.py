"""Authored fixtures (tests/fixtures/): our own wording and figures in real layouts."""

from __future__ import annotations

import pytest

from documents.errors import NotAReport
from documents.report import SECTION_KEYS

QINGXI = ["qingxi-jtj-2022.html", "qingxi-jtj-2022.gbk-undeclared.html", "qingxi-jtj-2022.gbk-declared-utf8.html"]


@pytest.mark.parametrize("name", QINGXI)
def test_nested_layout_html_with_spans(own_report, name):
    """Tables nested in a layout table, rowspan/colspan, <p>-wrapped cells, &nbsp;, in
    UTF-8, in GBK without a declaration and in GBK declared as UTF-8: same reading."""
    r = own_report(name)
    f = r.fields
    assert r.meta["agency"] == "青溪县交通运输局"
    assert r.meta["year"] == 2022
    assert r.meta["published"] == "2023-01-20"  # <meta name="PubDate">
    assert r.meta["title"] == "青溪县交通运输局2022年政府信息公开工作年度报告"
    assert all(r.sections[k].present for k in SECTION_KEYS)
    # full-width "１０" in the first cell
    assert [f[f"apply.new.{c}"] for c in ("natural", "business", "research", "nonprofit", "legal", "other_org", "total")] == [10, 2, 0, 0, 1, 0, 13]
    assert f["apply.carried.total"] == 1
    assert (f["apply.granted.natural"], f["apply.granted.business"], f["apply.granted.total"]) == (6, 1, 7)
    assert (f["apply.partial.legal"], f["apply.partial.total"]) == (1, 3)
    assert f["apply.withheld.third_party.total"] == 1
    assert (f["apply.unable.not_held.natural"], f["apply.unable.not_held.business"]) == (1, 1)
    assert f["apply.other.other.total"] == 0
    assert f["apply.results_total.total"] == 13
    assert f["apply.carry_forward.natural"] == 1
    # section 二: colspan values read once; comma and decimal
    assert (f["active.normative.issued"], f["active.normative.repealed"], f["active.normative.in_force"]) == (2, 1, 15)
    assert f["active.licensing.decisions"] == 356
    assert f["active.penalty.decisions"] == 1234
    assert f["active.fees.amount"] == 12.5
    # section 四 under rowspan/colspan headers
    assert (f["review.upheld"], f["review.total"]) == (1, 1)
    assert (f["litigation.direct.pending"], f["litigation.direct.total"]) == (1, 1)
    assert f["litigation.after_review.total"] == 0
    assert r.problems == [] and r.doubtful == {}
    n = {k: v["value"] for k, v in r.narrative.items()}
    assert n == {"requests_received": 13, "answered_on_time": 13, "extended": 2, "reviews": 1, "lawsuits": 1,  # 一起
                 "fees_collected": 0}
    # the portal footer does not count as section 六
    assert "版权所有" not in "".join(r.text.splitlines()[r.sections["other"].line:r.sections["other"].line + 1])
    assert r.sections["other"].chars == len("本年度未收取信息处理费。")


def test_gbk_variants_match_utf8(own_report):
    first = own_report(QINGXI[0]).to_json(with_text=True)
    for name in QINGXI[1:]:
        other = own_report(name).to_json(with_text=True)
        first["meta"]["charset"] = other["meta"]["charset"] = None
        assert other == first
    assert own_report(QINGXI[2]).meta["charset"] == "gb18030"  # wrong declaration overruled


def test_pipe_text_with_differing_readings(own_report):
    r = own_report("shimen-2021-pipes.txt")
    f = r.fields
    assert r.meta["agency"] == "石门镇人民政府" and r.meta["year"] == 2021
    assert f["apply.new.total"] == 4 and f["apply.new.business"] == 1
    assert f["apply.new.nonprofit"] == 0  # the header says 社会组织
    assert f["apply.granted.total"] == 2
    # "| （二）部分公开 | 1 | 1 | 0 | 0 | 0 | 0 | 1 | 2 |": two readings add up
    # (business 1 or other_org 1); the most frequent one is kept and both keys doubted.
    assert (f["apply.partial.natural"], f["apply.partial.total"]) == (1, 2)
    assert set(r.doubtful) == {"apply.partial.business", "apply.partial.other_org"}
    assert "readings differ" in r.doubtful["apply.partial.business"]
    assert any(p["kind"] == "column_count" for p in r.problems)
    # group label and item in one cell: "（三）不予公开 1.属于国家秘密"
    assert f["apply.withheld.state_secret.total"] == 0
    assert f["apply.other.unpaid_fee.total"] == 0
    assert f["apply.results_total.total"] == 4
    # section 二: "—" is not filled in → absent, with one blank_cells problem
    assert f["active.licensing.decisions"] == 42
    assert f["active.penalty.decisions"] == 7
    assert "active.enforcement.decisions" not in f
    assert f["active.fees.amount"] == 0.35
    assert [p["where"] for p in r.problems if p["kind"] == "blank_cells"] == ["二"]
    assert f["review.total"] == 0 and f["litigation.after_review.total"] == 0
    assert r.narrative["requests_received"]["value"] == 4
    assert r.narrative["reviews"]["value"] == 0 and r.narrative["lawsuits"]["value"] == 0
    assert r.where["apply.partial.total"] == "三 （二）部分公开 / 总计, line 28"


def test_one_cell_per_line(own_report):
    r = own_report("baisha-2023-stacked.txt")
    f = r.fields
    assert r.meta["agency"] == "白沙街道办事处" and r.meta["template"] == "2021"
    assert all(r.sections[k].present for k in SECTION_KEYS)
    assert (f["active.normative.issued"], f["active.normative.in_force"]) == (0, 3)
    assert f["active.licensing.decisions"] == 18
    assert [f[f"apply.new.{c}"] for c in ("natural", "business", "total")] == [4, 1, 5]
    assert f["apply.granted.total"] == 4
    assert f["apply.partial.total"] == 0  # label wrapped over two lines
    assert f["apply.unable.not_held.natural"] == 1
    assert f["apply.results_total.total"] == 5
    assert f["apply.carry_forward.total"] == 0
    assert sum(k.startswith("apply.") for k in f) == 25 * 7
    assert sum(k.startswith(("review.", "litigation.")) for k in f) == 15
    assert r.narrative["requests_received"]["value"] == 5
    assert r.narrative["lawsuits"]["value"] == 0
    assert r.problems == []


def test_2019_template(own_report):
    r = own_report("donghu-scjgj-2020-template2019.html")
    f = r.fields
    assert r.meta["template"] == "2019" and r.meta["year"] == 2020
    assert r.meta["published"] == "2021-01-28"  # 发布时间 near the top
    assert (f["active2019.normative.new"], f["active2019.normative.published"], f["active2019.normative.total"]) == (4, 4, 37)
    assert (f["active2019.licensing.prior_items"], f["active2019.licensing.change"], f["active2019.licensing.decisions"]) == (21, -3, 640)
    assert f["active2019.other_services.decisions"] == 12
    assert f["active2019.enforcement.prior_items"] == 6
    assert (f["active2019.fees.prior_items"], f["active2019.fees.change"]) == (3, -1)
    assert f["active2019.procurement.items"] == 2
    assert f["active2019.procurement.amount"] == 25.1  # 251000元 → 万元
    assert any(p["kind"] == "unit" for p in r.problems)
    assert not any(k.startswith("active.") for k in f)
    # the single （六）其他处理 row of the 2019 template
    assert f["apply.other.other.total"] == 1
    assert "apply.other.no_correction.total" not in f
    assert f["apply.rejected.repeat.total"] == 1
    assert f["apply.results_total.total"] == 7


def test_news_page_is_not_a_report(own_report):
    with pytest.raises(NotAReport) as err:
        own_report("news-not-a-report.html")
    assert "not an annual report" in err.value.reason or "no section headings" in err.value.reason
    assert err.value.status == "not_a_report"
