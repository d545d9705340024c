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
