"""A report is read however incomplete; only a document that is something else is refused.

Supervisors must hear about an incomplete published report, so the reader decides by what
a document says of itself (kind.py): every authored report cut to its first characters is
still read as a report, with the title and year it states; a 工作要点, a 通知, a column page
or a news item is refused as not_a_report whatever reports it mentions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from documents.errors import NotAReport
from documents.reader import read_document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPECTED = FIXTURES / "expected"
TEXTS = sorted(p for p in FIXTURES.glob("*.txt") if (EXPECTED / f"{p.name}.json").exists())


def _text(path: Path) -> str:
    report = read_document(path.read_bytes(), name=path.name)
    return report.text


@pytest.mark.parametrize("cut", [2000, 800, 300])
def test_every_authored_report_cut_short_is_still_a_report(cut):
    refused, wrong_year = [], []
    paths = TEXTS + sorted(FIXTURES.glob("g*.html"))
    for path in paths:
        expected = json.loads((EXPECTED / f"{path.name}.json").read_text())["meta"]
        head = _text(path)[:cut]
        try:
            report = read_document(head.encode(), name="cut.txt")
        except NotAReport as err:
            refused.append(f"{path.name}: {err.reason}")
            continue
        if report.meta["year"] != expected["year"]:
            wrong_year.append(f"{path.name}: {report.meta['year']} (want {expected['year']})")
    assert not refused, f"{len(refused)} of {len(paths)} refused:\n" + "\n".join(refused)
    assert not wrong_year, "\n".join(wrong_year)


def test_a_report_that_opens_with_a_sentence_naming_the_work_points():
    text = ("根据《2023年政务公开工作要点》和《中华人民共和国政府信息公开条例》要求，现公布本局2023年政府信息公开工作年度报告。\n"
            "一、总体情况\n2023年，本局认真落实各项要求。\n")
    report = read_document(text.encode(), name="r.txt")
    assert report.meta["year"] == 2023 and report.sections["overview"].present


def test_a_report_titled_as_a_work_report_of_the_year():
    text = "青河区水利局2024年度政府信息公开工作报告\n一、总体情况\n本局认真落实条例。\n"
    report = read_document(text.encode(), name="r.txt")
    assert report.meta["title"] == "青河区水利局2024年度政府信息公开工作报告"
    assert report.meta["year"] == 2024 and report.meta["agency"] == "青河区水利局"


@pytest.mark.parametrize("text, why", [
    ("青河区2024年政务公开工作要点\n一、总体要求\n坚持公开为常态。\n二、深化主动公开\n各单位按照第二十条公开。\n", "工作要点"),
    ("关于报送2023年政府信息公开工作年度报告的通知\n各单位：\n请于1月31日前报送本单位2023年政府信息公开工作年度报告。\n",
     "通知"),
    ("我县召开政务公开推进会\n会议要求各单位按时发布2023年政府信息公开工作年度报告。\n", "推进会"),
    ("政府信息公开年报\n青河区水利局2024年政府信息公开工作年度报告\n青河区水利局2023年政府信息公开工作年度报告\n"
     "青河区水利局2022年政府信息公开工作年度报告\n青河区水利局2021年政府信息公开工作年度报告\n", "list of annual reports"),
    ("今天天气很好，我们去公园散步。\n公园里有很多人。\n", "nothing says"),
])
def test_other_documents_are_not_reports(text, why):
    with pytest.raises(NotAReport) as err:
        read_document(text.encode(), name="d.txt")
    assert err.value.status == "not_a_report" and why in err.value.reason
