"""Numbers in prose count only when they count something: idioms, ordinals, enumerations,
slogans, years, percentages, dates and document numbers are no counts (rules/prose.py)."""

import pytest

from rules import LIBRARY, evaluate, load_ruleset
from rules.prose import is_count, quote_counts
from rules.ruletests import build_context, build_report

RULESET = load_ruleset(LIBRARY)


def counts(sentence: str, number: str) -> bool:
    start = sentence.index(number)
    return is_count(sentence, start, start + len(number))


@pytest.mark.parametrize("sentence, number", [
    ("办理政府信息公开申请坚持“三个一”工作法", "三"),         # slogan
    ("收到申请后第一时间登记", "一"),                          # ordinal
    ("收到申请后第一个工作日内转办", "一"),
    ("依照第二十条第（一）项公开", "二十"),
    ("一是规范受理流程，二是完善答复文书", "一"),              # enumeration
    ("一是规范受理流程，二是完善答复文书", "二"),
    ("压实两个责任", "两"),                                   # slogan with 个
    ("推行一网通办", "一"),                                   # set phrase
    ("实行一件事一次办", "一"),
    ("《政府信息公开信息处理费管理办法》规定，2025", "2025"),  # a year standing alone
    ("2025年度本机关未收取信息处理费", "2025"),                # a year
    ("按时答复率100%", "100"),                                # percentage
    ("同比增长12.5%", "12.5"),
    ("于1月31日前公布", "31"),                                # date
    ("截至12月31日", "12"),
    ("国办函〔2020〕109号", "109"),                           # document number
    ("拨打12345热线", "12345"),                               # hotline
    ("在3个工作日内答复", "3"),                               # 个 classifies the noun after it
])
def test_no_count(sentence, number):
    assert not counts(sentence, number)


@pytest.mark.parametrize("sentence, number", [
    ("全年共收到政府信息公开申请13件", "13"),
    ("收到申请十二件", "十二"),
    ("收到申请12个。", "12"),
    ("收取信息处理费300元", "300"),
    ("行政复议2起", "2"),
    ("予以公开258件", "258"),
    ("2025件申请", "2025"),  # four digits followed by a unit are a count
])
def test_count(sentence, number):
    assert counts(sentence, number)


def test_a_parsers_reading_of_an_idiom_is_set_aside():
    assert quote_counts("办理政府信息公开申请坚持“三个一”工作法。", 3) is False
    assert quote_counts("共收到申请3件，坚持“三个一”工作法。", 3) is True
    assert quote_counts("本年度未发生行政复议。", 0) is None  # a zero statement writes no number


def test_fee_amounts_skip_years_percentages_dates_and_document_numbers():
    text = ("六、其他需要报告的事项\n《政府信息公开信息处理费管理办法》规定，2025年度未收取信息处理费。"
            "信息处理费收缴率100%。信息处理费依据国办函〔2020〕109号执行。\n")
    report = build_report({"sections": {"other": {"line": 1}}, "text": text})
    o = evaluate(RULESET, report, build_context({}, report), only={"FEE-02"}).outcome("FEE-02")
    assert o.status == "pass" and o.evidence["problems"] == []
