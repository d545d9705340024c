"""Scans read by OCR (documents/ocr.py, ocr_check.py): an authored report rendered to page
images reads to the same fields as its text layer; the bounds hold; a number the tables'
identities put in doubt is doubtful, never corrected.

The engine really runs (rapidocr-onnxruntime, ~5-15 s a page on a 2-core machine), so the
whole-report read is done once per module and shared. The scans are the corpus of
tests/fixtures/scans (pictures made once, committed): nothing here renders a PDF, which would
load the host's fonts into this process's pdfium (test_pdf_fonts reads PDFs without them)."""

from __future__ import annotations

import io
import json
import struct
import time
import zlib

import pytest

from documents.errors import DocumentError
from documents.ocr import OcrOptions
from documents.ocr_check import check
from documents.reader import read_document
from documents.report import ParsedReport
from tests.documents.conftest import OWN_FIXTURES



SCANS = OWN_FIXTURES / "scans"  # the scan corpus: authored reports printed and scanned (its README)


def _scan(name: str) -> bytes:
    return (SCANS / name).read_bytes()


def _expected(name: str) -> dict:
    return json.loads((SCANS / "expected" / f"{name}.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def liuxi_scan() -> ParsedReport:
    """A clean 300 dpi scan of a district government's report in the 2021 format (3 pages)."""
    return read_document(_scan("s01-liuxi-2021-300.pdf"), ocr=OcrOptions())


def test_scanned_report_reads_every_field(liuxi_scan):
    expected = _expected("s01-liuxi-2021-300.pdf")
    got = liuxi_scan
    assert {k: got.fields.get(k) for k in expected["fields"]} == expected["fields"]
    assert not set(got.fields) - set(expected["fields"]) and not got.doubtful
    for key in ("agency", "year", "template", "title"):
        assert got.meta[key] == expected["meta"][key]
    assert {k: v["present"] for k, v in got.to_json()["sections"].items()} == \
           {k: v["present"] for k, v in expected["sections"].items()}
    assert got.meta["format"] == "pdf" and got.meta["source"] == "ocr" and got.meta["ocr"]["pages"] == 3
    # Every table number says where it came from and how sure the engine was.
    assert set(got.ocr) == set(got.fields)
    assert all(0 < v["confidence"] <= 1 and v["page"] in (1, 2, 3) for v in got.ocr.values())
    assert ParsedReport.from_json(got.to_json()).ocr == got.ocr


def test_one_low_confidence_digit_that_breaks_an_identity_is_doubtful(liuxi_scan):
    """As if the engine had read the 本年新收 总计 one digit wrong, unsure of it: the identity
    总计 = the applicant columns fails, that one digit explains it, so the number is doubtful
    (with the value the identity wants named), never replaced."""
    report = ParsedReport.from_json(liuxi_scan.to_json(with_text=True))
    key = "apply.new.total"
    true = report.fields[key]
    wrong = true + 10 if true < 10 else int("9" + str(true)[1:]) if str(true)[0] != "9" else true - 10 ** (len(str(true)) - 1)
    report.fields[key] = wrong
    report.ocr[key] = {"page": 1, "confidence": 0.61, "text": str(wrong)}
    check(report)
    assert key not in report.fields
    assert str(true) in report.doubtful[key] and "0.61" in report.doubtful[key]
    others = {k: v for k, v in report.fields.items() if k != key}
    assert others == {k: v for k, v in liuxi_scan.fields.items() if k != key}


def test_a_sure_reading_that_breaks_an_identity_stands(liuxi_scan):
    """Recognised with full confidence, a number that does not add up is the report's own: it
    stands, and the rules judge it."""
    report = ParsedReport.from_json(liuxi_scan.to_json(with_text=True))
    key = "apply.new.total"
    report.fields[key] += 1
    report.ocr[key] = {"page": 1, "confidence": 0.999, "text": str(report.fields[key])}
    check(report)
    assert key in report.fields and not report.doubtful


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width × height pixels and holds almost nothing: reading it fully
    would take gigabytes; its header alone says so."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


def test_huge_image_is_too_large_without_decoding():
    start = time.monotonic()
    with pytest.raises(DocumentError) as err:
        read_document(_png_header(50_000, 50_000), ocr=OcrOptions())
    assert err.value.status == "too_large" and "2,500,000,000 pixels" in err.value.reason
    assert time.monotonic() - start < 10  # nothing decoded, nothing recognised


def test_too_many_pages_is_too_large():
    from PIL import Image

    pages = [Image.new("L", (200, 300), 255) for _ in range(3)]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:])
    with pytest.raises(DocumentError) as err:
        read_document(buf.getvalue(), ocr=OcrOptions(max_pages=2))
    assert err.value.status == "too_large" and "3 pages" in err.value.reason


def test_a_page_over_its_time_cap_is_too_large():
    """A page the engine cannot finish in time ends the reading child: too_large, and the
    caller goes on."""
    data = _scan("s04-xishan-2020-t2019-300.pdf")
    start = time.monotonic()
    with pytest.raises(DocumentError) as err:
        read_document(data, ocr=OcrOptions(page_seconds=1))
    assert err.value.status == "too_large" and "time" in err.value.reason
    assert time.monotonic() - start < 30


def _judge(report: ParsedReport):
    from rules import LIBRARY, Context, evaluate, load_ruleset

    ctx = Context(report.meta["agency"], report.meta["level_hint"] or "department", report.meta["year"])
    return evaluate(load_ruleset(LIBRARY), report, ctx)


def test_no_rule_accuses_on_a_doubtful_reading_and_notices_say_recognised_from_a_scan(liuxi_scan):
    """The same misread digit, unsure: no rule fails on it (the identities it breaks are not
    evaluated, with the reason in Chinese). Read for sure, the same number breaks the
    identities and the rules say so, in notices that say the numbers were recognised from a
    scan (识别自扫描件)."""
    from rules.explain import explain

    unsure = ParsedReport.from_json(liuxi_scan.to_json(with_text=True))
    key = "apply.new.total"
    unsure.fields[key] += 1
    unsure.ocr[key] = {"page": 1, "confidence": 0.6, "text": str(unsure.fields[key])}
    check(unsure)
    assert key in unsure.doubtful
    outcomes = _judge(unsure).outcomes
    assert not [o for o in outcomes if o.status == "fail" and key in str(o.evidence)]
    held = [o for o in outcomes if o.status == "not_evaluated" and key in (o.evidence.get("doubtful") or {})]
    assert held and "识别自扫描件" in " ".join(explain(vars(held[0])).lines)

    sure = ParsedReport.from_json(liuxi_scan.to_json(with_text=True))
    sure.fields[key] += 1
    sure.ocr[key] = {"page": 1, "confidence": 0.999, "text": str(sure.fields[key])}
    check(sure)
    failed = [o for o in _judge(sure).outcomes if o.status == "fail" and key in str(o.evidence)]
    assert failed and all(o.evidence["scanned"][key] == 0.999 for o in failed)
    assert "以上数据识别自扫描件（文字识别），请以报告原件核对。" in explain(vars(failed[0])).lines


def test_a_saved_page_has_its_pictures_read_from_beside_it_and_nowhere_else(tmp_path):
    """read_path (so `nianbao parse`) gets an article page's pictures from the page's own folder,
    by their src as written (relative, URL-escaped): never from outside it, another host or a
    path of the machine, and never a file over the byte cap."""
    from documents.reader import pictures_beside

    page = tmp_path / "site" / "报告.html"
    (page.parent / "报告.files").mkdir(parents=True)
    (page.parent / "报告.files" / "表一.png").write_bytes(b"\x89PNG one")
    (page.parent / "big.png").write_bytes(b"\x89PNG" + b"\x00" * 100)
    (tmp_path / "secret.png").write_bytes(b"\x89PNG secret")
    read = pictures_beside(page, max_bytes=50)
    assert read("报告.files/表一.png") == read("./%E6%8A%A5%E5%91%8A.files/%E8%A1%A8%E4%B8%80.png?v=2") == b"\x89PNG one"
    assert read("../secret.png") is None and read(str(tmp_path / "secret.png")) is None
    assert read("http://example.invalid/报告.files/表一.png") is None and read("big.png") is None
    assert read("missing.png") is None and read("报告.files") is None


def _page_with(draw) -> "np.ndarray":
    import numpy as np

    page = np.full((200, 300, 3), 255, np.uint8)
    draw(page)
    return page


def test_a_red_seal_over_a_blank_cell_is_no_number():
    """A seal's ring crossing a blank cell leaves pink-grey edge pixels (as sampled from s07's
    scan, (161, 109, 113)): no ink of a number. Read as grey they made a "1" the page does not
    state; taken at their brightest channel they are paper."""
    from documents.ocr import cell_reader

    def seal(page):
        page[84:116, 149:154] = (161, 109, 113)  # the ring's edge, crossing the cell
        page[84:88, 146:150] = (161, 109, 113)
        page[60:84, 140:160] = (220, 60, 60)  # the ring's red body

    assert cell_reader(_page_with(seal), 0.0, 0)(130, 170, 100, 40) is None


def test_a_cell_with_ink_but_no_number_recognised_is_unread_not_blank():
    """Ink that reads as no number (a blot, a scribble) is not a blank cell: the cell reader
    says it could not read it (UNREAD_CELL), and a cell with only specks at its edge is blank."""
    from documents.cells import UNREAD_CELL
    from documents.ocr import cell_reader

    def blot(page):
        page[88:112, 140:160] = 0

    def scribble(page):
        for i in range(30):
            page[85 + i, 135 + i:138 + i] = 0
            page[85 + i, 165 - i:168 - i] = 0

    def specks(page):
        page[75:77, 140:170] = 0  # a ruling line's stub at the cell's top edge
        page[100, 150] = page[95, 160] = 0

    for draw in (blot, scribble):
        box = cell_reader(_page_with(draw), 0.0, 0)(130, 170, 100, 40)
        assert box is not None and box.text == UNREAD_CELL and box.conf == 0
    assert cell_reader(_page_with(specks), 0.0, 0)(130, 170, 100, 40) is None


def test_an_unread_cell_is_doubtful_with_its_reason_and_no_rule_judges_it(liuxi_scan):
    """A table cell OCR saw ink in but read no number in goes through the doubtful path of every
    text reading: its field is doubtful (识别自扫描件：单元格有字迹但未能识别), never a blank (a
    value of absence the rules count as "not filled in"), and no rule fails on it."""
    import re

    from documents.cells import UNREAD_CELL
    from documents.ocr_check import apply_scan
    from documents.ocr import Scan
    from documents.reader import _read_format
    from documents.report import APPLICANT_COLUMNS

    key = "apply.withheld.third_party.legal"
    lines = liuxi_scan.text.split("\n")
    number = int(re.search(r"line (\d+)$", liuxi_scan.where[key]).group(1))
    cells = lines[number - 1].split("\t")
    cells[len(cells) - len(APPLICANT_COLUMNS) + APPLICANT_COLUMNS.index("legal")] = UNREAD_CELL
    lines[number - 1] = "\t".join(cells)
    text = "\n".join(lines)
    report = apply_scan(_read_format(text.encode("utf-8"), "scan", None, None), Scan(text), "pdf")
    assert key not in report.fields
    assert report.doubtful[key].startswith("识别自扫描件：单元格有字迹但未能识别")
    assert not [p for p in report.problems if p["kind"] == "blank_cells"]
    assert {k: v for k, v in report.fields.items()} == {k: v for k, v in liuxi_scan.fields.items() if k != key}
    outcomes = _judge(report).outcomes
    assert not [o for o in outcomes if o.status == "fail" and key in str(o.evidence)]
    assert [o for o in outcomes if o.status == "not_evaluated" and key in (o.evidence.get("doubtful") or {})]


def test_a_report_linked_one_picture_a_page_is_read_whole(tmp_path):
    """An article page whose report is its linked pictures, one a page (s11's three pages as
    PNG files beside it): without OCR it needs OCR (not a report with nothing in it); with OCR
    every page is read where its link stands, tables going on from one picture to the next,
    and every field is the report's."""
    from PIL import Image

    from documents.errors import NeedsOCR
    from documents.reader import read_path

    name = "s11-huxi-2022-300.tif"
    tif = Image.open(SCANS / name)
    links = []
    for page in range(tif.n_frames):
        tif.seek(page)
        tif.save(tmp_path / f"page{page + 1}.png")
        links.append(f'<p><a href="page{page + 1}.png">第{page + 1}页</a></p>')
    article = tmp_path / "article.html"
    article.write_text("<html><head><meta charset='utf-8'><title>湖西区人民政府2022年政府信息公开工作年度报告"
                       "</title></head><body><h1>湖西区人民政府2022年政府信息公开工作年度报告</h1>"
                       + "".join(links) + "</body></html>", "utf-8")
    with pytest.raises(NeedsOCR):
        read_path(article)
    got = read_path(article, ocr=OcrOptions())
    expected = _expected(name)
    assert got.meta["source"] == "ocr" and got.meta["ocr"]["pages"] == tif.n_frames == 3
    assert {k: got.fields.get(k) for k in expected["fields"]} == expected["fields"]
    assert not set(got.fields) - set(expected["fields"]) and not got.doubtful
