"""The text layouts of issue 17, part by part: run-together rows, shredded tables, bars,
inline headings. The corpus (test_expected.py) checks whole documents; these pin down the
decisions that keep a value out of the wrong row."""

from __future__ import annotations

from documents.reader import read_document
from documents.reflow import _cut
from documents.runs import readings

COLS = ("natural", "business", "research", "nonprofit", "legal", "other_org", "total")
TITLE = "云岭市测试局2023年政府信息公开工作年度报告\n"
HEADINGS = ["一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
            "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项"]


def _apply_rows(rows: dict[str, str]) -> str:
    labels = {"new": "一、本年新收政府信息公开申请数量", "carried": "二、上年结转政府信息公开申请数量",
              "granted": "三、本年度办理结果（一）予以公开", "partial": "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
              "results_total": "（七）总计", "carry_forward": "四、结转下年度继续办理"}
    return "".join(labels[k] + v for k, v in rows.items())


def _runon(apply: str) -> bytes:
    body = (HEADINGS[0] + "本单位认真落实条例。" + HEADINGS[1] + "第二十条第（一）项信息内容本年制发件数本年废止件数现行有效件数规章000"
            + HEADINGS[2] + "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）申请人情况自然人法人或其他组织总计"
            "商业企业科研机构社会公益组织法律服务机构其他" + apply + HEADINGS[3] + "行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计"
            + "0" * 15 + HEADINGS[4] + "无。" + HEADINGS[5] + "无。")
    return (TITLE + body + "\n").encode()


def test_every_cut_of_a_run_is_found():
    cuts = {tuple(v.number for v in r) for r in readings("12-34000", ["count", "signed", "count"])}
    assert cuts == {(12, -3, 4000), (12, -3400, 0)}
    assert readings("0000000", ["count"] * 7)[0][0].number == 0 and len(readings("0000000", ["count"] * 7)) == 1
    assert not readings("00", ["count"] * 3)  # too few digits: no reading at all


def test_run_together_rows_settled_by_the_identities():
    # 12|3 or 1|23 in 一 and （一）: only 12|3 adds up to 15 in its own row.
    report = read_document(_runon(_apply_rows({
        "new": "123000015", "carried": "0000000", "granted": "123000015", "partial": "0000000",
        "results_total": "123000015", "carry_forward": "0000000"})), name="r.txt")
    assert [report.fields[f"apply.new.{c}"] for c in COLS] == [12, 3, 0, 0, 0, 0, 15]
    assert report.fields["review.total"] == 0 and report.fields["active.rules.in_force"] == 0
    assert any(p["kind"] == "run_together" for p in report.problems)


def test_truly_ambiguous_runs_are_doubtful_not_guessed():
    # 1|11 and 11|1 both add up, and the rows swap together: natural and business unknown.
    report = read_document(_runon(_apply_rows({
        "new": "111000012", "carried": "0000000", "granted": "111000012", "partial": "0000000",
        "results_total": "111000012", "carry_forward": "0000000"})), name="r.txt")
    for key in ("new", "granted", "results_total"):
        assert f"apply.{key}.natural" not in report.fields and f"apply.{key}.business" not in report.fields
        assert "run together (111000012)" in report.doubtful[f"apply.{key}.natural"]
        assert report.fields[f"apply.{key}.total"] == 12 and report.fields[f"apply.{key}.legal"] == 0


def test_a_heading_listed_in_a_sentence_is_not_cut_out():
    toc = "本报告包括：一、总体情况；二、主动公开政府信息情况；三、收到和处理政府信息公开申请情况。" * 2
    assert _cut(toc) is None
    cut = _cut("全年共公开信息12条，工作有序推进。二、主动公开政府信息情况本年度制发文件3件。")
    assert [text for text, _ in cut] == ["全年共公开信息12条，工作有序推进。", "二、主动公开政府信息情况", "本年度制发文件3件。"]


def _shredded(values_rows: list[str], labels: list[str]) -> bytes:
    lines = [TITLE.strip(), *HEADINGS[:3], "## 表三：收到和处理政府信息公开申请情况",
             "| 一、本年新收政府信息公开申请数量 | 5 | 0 | 0 | 0 | 0 | 0 | 5 |",
             "| 二、上年结转政府信息公开申请数量 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
             "| （一）予以公开 | 2 | 0 | 0 | 0 | 0 | 0 | 2 |", *values_rows, "", *labels, "",
             "| （七）总计 | 5 | 0 | 0 | 0 | 0 | 0 | 5 |", "| 四、结转下年度继续办理 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
             *HEADINGS[3:]]
    return "\n".join(lines).encode()


def test_shredded_rows_are_matched_by_order_when_certain():
    data = _shredded(["| 1 | 0 | 0 | 0 | 0 | 0 | 1 |", "|---|---|---|---|---|---|---|", "| 2 | 0 | 0 | 0 | 0 | 0 | 2 |"],
                     ["1.本机关不掌握相关", "政府信息", "2.没有现成信息需要", "另行制作"])
    report = read_document(data, name="r.md")
    assert report.fields["apply.unable.not_held.natural"] == 1
    assert report.fields["apply.unable.needs_creation.natural"] == 2
    assert any(p["kind"] == "shredded_rows" for p in report.problems)


def test_shredded_rows_that_cannot_be_matched_are_doubtful_not_wrong():
    # Two rows of numbers, three labels: which label lost its numbers is not known.
    data = _shredded(["| 1 | 0 | 0 | 0 | 0 | 0 | 1 |", "| 2 | 0 | 0 | 0 | 0 | 0 | 2 |"],
                     ["1.本机关不掌握相关", "政府信息", "2.没有现成信息需要", "另行制作", "3.补正后申请内容仍", "不明确"])
    report = read_document(data, name="r.md")
    for key in ("unable.not_held", "unable.needs_creation", "unable.unclear"):
        assert f"apply.{key}.natural" not in report.fields
        assert "cannot be matched with certainty" in report.doubtful[f"apply.{key}.natural"]


def test_matching_in_order_that_breaks_the_identities_is_not_trusted():
    # In order: 不掌握 = 2, 另行制作 = 2; （七）总计 then says 6, not 5: not certain.
    data = _shredded(["| 2 | 0 | 0 | 0 | 0 | 0 | 2 |", "| 2 | 0 | 0 | 0 | 0 | 0 | 2 |"],
                     ["1.本机关不掌握相关", "政府信息", "2.没有现成信息需要", "另行制作"])
    report = read_document(data, name="r.md")
    assert "apply.unable.not_held.natural" not in report.fields
    assert "break the table's identities" in report.doubtful["apply.unable.not_held.natural"]


def test_one_cell_per_line_with_bars_keeps_blank_cells_in_place():
    cells = ["一、本年新收政府信息公开申请数量", "3", "", "1", "", "", "", "4"]
    lines = [TITLE.strip(), *HEADINGS[:3], *(f"| {c}" if c else "|" for c in cells * 1), *HEADINGS[3:]]
    # twenty one-cell lines at least make the document a one-cell-per-line one
    lines[3:3] = ["| 第二十条第（一）项", "| 信息内容", "| 本年制发件数", "| 本年废止件数", "| 现行有效件数",
                  "| 规章", "| 0", "| 0", "| 0", "| 行政规范性文件", "| 1", "| 0", "| 9", "| 行政许可", "| 5",
                  "| 行政处罚", "| 2", "| 行政强制", "| 0", "| 行政事业性收费", "| 0"]
    report = read_document("\n".join(lines).encode(), name="r.txt")
    assert [report.fields.get(f"apply.new.{c}") for c in COLS] == [3, None, 1, None, None, None, 4]
    assert report.fields["active.normative.in_force"] == 9


def test_markdown_with_html_tables_reads_its_tables_and_stays_text():
    table = ("<table><tr><td colspan=\"2\">一、本年新收政府信息公开申请数量</td><td>4</td><td>0</td><td>0</td><td>0</td>"
             "<td>0</td><td>0</td><td>4</td></tr></table>")
    data = "\n".join([TITLE.strip(), *HEADINGS[:3], table, *HEADINGS[3:]]).encode()
    report = read_document(data, name="r.md")
    assert report.meta["format"] == "text" and report.fields["apply.new.total"] == 4
    assert report.meta["title"] == TITLE.strip()


def test_a_long_sentence_naming_the_table_and_a_number_stays_prose():
    sentence = ("根据条例第二十条第（一）项规定，本年制发行政规范性文件3件，现行有效12件，均已在门户网站公开，"
                "并同步做好政策解读工作，群众满意度较高。")
    assert _cut(sentence) is None
    text = TITLE + "\n".join([HEADINGS[0], sentence, *HEADINGS[1:]]) + "\n"
    report = read_document(text.encode(), name="r.txt")
    assert report.narrative["documents_issued"]["value"] == 3
