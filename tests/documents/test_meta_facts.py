"""What the reading establishes about a report (year, template, level hint) and how.

Rules refuse to run on a fact the document did not establish, so the reading says where
each fact came from and leaves it unset when nothing in the document states it.
"""

from __future__ import annotations

import pytest

from documents.meta import find_title, level_hint, year_of
from documents.reader import read_document

_BODY = "\n".join([
    "一、总体情况", "本单位认真落实条例要求。", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项",
])


def test_title_wrapped_over_two_lines_gives_the_year():
    lines = ["正文", "2024 年云岭市科委政府信息公开工作", "年度报告", "根据《条例》要求，编制本报告。"]
    assert find_title(lines, None, None) == "2024年云岭市科委政府信息公开工作年度报告"
    report = read_document(("\n".join(lines) + "\n" + _BODY).encode(), name="r.txt")
    assert report.meta["year"] == 2024 and report.meta["year_source"] == "title"
    assert report.meta["agency"] == "云岭市科委"
    assert report.meta["template"] == "2021" and report.meta["template_source"] == "year"


def test_year_from_a_statistics_period_wrapped_over_lines():
    lines = ["云岭市科委政府信息公开工作年度报告", "本报告所列数据的统计周期", "为 2023 年 1 月 1 日至 12 月 31 日。"]
    assert year_of("云岭市科委政府信息公开工作年度报告", lines) == (2023, "period")


def test_unknown_year_is_not_guessed():
    text = "云岭市科委政府信息公开工作年度报告\n" + _BODY
    report = read_document(text.encode(), name="r.txt")
    assert report.meta["year"] is None and report.meta["year_source"] is None
    assert report.meta["template"] == "unknown" and report.meta["template_source"] is None


def test_template_shown_by_the_tables_is_established_by_them():
    text = ("云岭市科委2022年政府信息公开工作年度报告\n" + _BODY.replace(
        "三、收到和处理", "第二十条第（一）项\n信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量\n规章\t0\t0\t0\n三、收到和处理"))
    report = read_document(text.encode(), name="r.txt")
    assert report.meta["template"] == "2019" and report.meta["template_source"] == "tables"


@pytest.mark.parametrize("agency, level, word", [
    ("青河区人民政府", "government", "人民政府"), ("双桥街道办事处", "government", "办事处"),
    ("高新区管委会", "government", "管委会"), ("南岭镇", "government", "镇"),
    ("青河区发展和改革局", "department", "局"), ("云岭市科委", "department", "委"),
    ("青河区人民政府办公室", "department", "办公室"), ("青河区政务服务中心", "department", "中心"),
    (None, None, None), ("某某", None, None),
])
def test_level_hint_from_the_agency_name(agency, level, word):
    assert level_hint(agency) == (level, word)
