"""Format sniffing, encodings, cells, extra-value readings, sections, DOCX and PDF."""

from __future__ import annotations

import io
import zipfile

import pytest

from documents.cells import read_cell
from documents.encoding import decode_bytes
from documents.errors import DocumentError, NeedsOCR, NotAReport, UnsupportedFormat
from documents.html import check_nesting, html_to_layout
from documents.layout import Cell
from documents.narrative import chinese_number, read_narrative
from documents.reader import read_document
from documents.rows import fit
from documents.sections import find_sections


def test_unsupported_formats():
    with pytest.raises(UnsupportedFormat) as err:
        read_document(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert "OLE" in err.value.reason


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, b"\xff\xd8\xff\xe0" + b"\x00" * 50])
def test_images_need_ocr(data):
    """Without OCR options (parse_snapshot), an image is a scan handed on to the ocr queue."""
    with pytest.raises(NeedsOCR) as err:
        read_document(data)
    assert "image" in err.value.reason


def test_zip_that_is_not_docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("report.txt", "一、总体情况")
    with pytest.raises(UnsupportedFormat, match="not a DOCX"):
        read_document(buf.getvalue())


@pytest.mark.parametrize("data", [b"", b"   \n ", b"<html><body><div>  </div></body></html>"])
def test_empty_documents(data):
    with pytest.raises(NotAReport):
        read_document(data)


def test_pdf_without_text_needs_ocr():
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    doc.new_page(595, 842)
    buf = io.BytesIO()
    doc.save(buf)
    with pytest.raises(NeedsOCR):
        read_document(buf.getvalue(), content_type="application/pdf")


def test_docx_with_merged_cells():
    from docx import Document

    d = Document()
    d.add_paragraph("北岭乡人民政府2022年政府信息公开工作年度报告")
    for heading in ["一、总体情况", "二、主动公开政府信息情况"]:
        d.add_paragraph(heading)
    d.add_paragraph("三、收到和处理政府信息公开申请情况")
    t = d.add_table(rows=4, cols=9)
    t.cell(0, 0).merge(t.cell(1, 1))  # the 勾稽 note spans two rows and two columns
    t.cell(0, 0).text = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    t.cell(0, 2).text = "自然人"
    for i, name in enumerate(["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]):
        t.cell(1, 3 + i).text = name
    t.cell(2, 0).merge(t.cell(2, 1)).text = "一、本年新收政府信息公开申请数量"
    for i, v in enumerate([3, 0, 0, 0, 0, 2, 5]):
        t.cell(2, 2 + i).text = str(v)
    t.cell(3, 0).text = "三、本年度办理结果"
    t.cell(3, 1).text = "（一）予以公开"
    for i, v in enumerate([3, 0, 0, 0, 0, 2, 5]):
        t.cell(3, 2 + i).text = str(v)
    d.add_paragraph("四、政府信息公开行政复议、行政诉讼情况")
    buf = io.BytesIO()
    d.save(buf)
    r = read_document(buf.getvalue(), name="report.docx")
    assert r.meta["format"] == "docx" and r.meta["agency"] == "北岭乡人民政府"
    assert (r.fields["apply.new.natural"], r.fields["apply.new.other_org"], r.fields["apply.new.total"]) == (3, 2, 5)
    assert r.fields["apply.granted.total"] == 5


def test_html_cells_with_breaks_blocks_and_hidden_parts():
    """Cells that need a close reading, among plain ones: <br>, ASCII values in separate
    paragraphs, Word's split paragraphs, and parts hidden by style (in either case)."""
    page = """<html><body><table>
    <tr><td>项目</td><td>数量</td><td>备注</td></tr>
    <tr><td><p>商业</p><p>企业</p></td><td><p>10</p>
    <p>20</p></td><td>甲<br>乙</td></tr>
    <tr><td>其他<span style="DISPLAY: none">隐藏</span></td><td>5<span style="visibility:hidden">9</span></td>
    <td><P>A1</P><DIV>B2</DIV></td></tr></table></body></html>"""
    for source in (page, page.encode("utf-8")):
        rows = [[c.text for c in row.cells] for row in html_to_layout(source).rows]
        assert rows == [["项目", "数量", "备注"], ["商业企业", "10 20", "甲乙"], ["其他", "5", "A1 B2"]]


@pytest.mark.parametrize("tag", [b"div", b"DIV", b"Span"])
def test_nesting_is_counted_in_any_case(tag):
    """The depth check sees tags however they are written (and only when there are many)."""
    data = b"<html><body>" + b"<%s>" % tag * 3000 + "一、总体情况".encode() + b"</%s>" % tag * 3000 + b"</body></html>"
    with pytest.raises(DocumentError) as err:
        read_document(data, name="deep.html")
    assert err.value.status == "unreadable" and "nested" in str(err.value)
    check_nesting(b"<div>" * 1400 + b"</div>" * 1400)  # under the limit: no error


def test_encodings():
    text = "平桥区人民政府2021年政府信息公开工作年度报告。今年我区共收到政府信息公开申请18件，按时回复16件。" * 3
    gbk = text.encode("gbk")
    assert decode_bytes(gbk) == (text, "gb18030")
    assert decode_bytes(gbk, "text/html; charset=utf-8")[0] == text  # wrong header
    assert decode_bytes(gbk, "iso-8859-1")[0] == text  # single-byte declaration: would be mojibake
    assert decode_bytes(text.encode("utf-8"), "gbk")[0] == text  # UTF-8 declared as GBK
    assert decode_bytes(b"<meta charset=gb2312>" + gbk)[1] == "gb18030"


@pytest.mark.parametrize("cell, kind, number", [
    ("12,124", "number", 12124), ("２６", "number", 26), ("0.0035", "number", 0.0035), ("-3", "number", -3),
    ("18件", "number", 18), ("2.5万元", "number", 2.5), ("", "blank", None), ("—", "blank", None),
    ("/", "blank", None), ("无", "blank", None), ("规章", "label", None),
])
def test_read_cell(cell, kind, number):
    value = read_cell(cell)
    assert (value.kind, value.number) == (kind, number)


def _cells(*values):
    return [Cell(str(v)) for v in values]


def test_fit_extra_value_readings():
    adds_up = lambda vals: sum(v.number or 0 for v in vals[:-1]) == vals[-1].number  # noqa: E731
    agree = fit(_cells(1, 0, 0, 0, 0, 0, 0, 1), 7, adds_up)
    assert agree.status == "extra_agree" and [v.number for v in agree.values] == [1, 0, 0, 0, 0, 0, 1]
    differ = fit(_cells(1, 1, 0, 0, 0, 0, 1, 2), 7, adds_up)
    assert differ.status == "extra_differ" and differ.doubtful == {1, 5}
    assert fit(_cells("", "", 3, 0, 0, 0, 0, 0, 3), 7).status == "exact"  # spacer cells
    assert fit(_cells(26, 26), 7).status == "short"


def test_sections_in_order_and_by_meaning():
    lines = ["某局2022年政府信息公开工作年度报告", "一、总体情况", "（一）主动公开情况", "文字。",
             "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
             "四、因政府信息公开工作被申请行政复议和提起行政诉讼情况",
             "五、政府信息公开工作存在的主要问题及改进情况", "一、加强培训。", "二、完善制度。",
             "六、其他需要报告的事项", "无。"]
    s = find_sections(lines)
    assert [s[k].line for k in s] == [2, 5, 6, 7, 8, 11]
    assert s["other"].chars == 2


def test_narrative_numbers():
    assert chinese_number("十二") == 12 and chinese_number("两") == 2 and chinese_number("一百零五") == 105
    n = read_narrative(["全年受理政府信息公开申请十二件，延期答复两件。", "未发生行政复议和行政诉讼。"])
    assert {k: v["value"] for k, v in n.items()} == {"requests_received": 12, "extended": 2, "reviews": 0, "lawsuits": 0}
