"""Scans read by OCR (documents/ocr.py, ocr_check.py): an authored report rendered to page
images reads to the same fields as its text layer; the bounds hold; a number the tables'
identities put in doubt is doubtful, never corrected.

The engine really runs (rapidocr-onnxruntime, ~5-15 s a page on a 2-core machine), so the
whole-report read is done once per session and shared."""

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

pytest.importorskip("rapidocr_onnxruntime")


def _scan_pdf(name: str, dpi: int) -> bytes:
    """The authored PDF's pages as images in a PDF without a text layer (a scan)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(OWN_FIXTURES / name))
    images = [doc[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(len(doc))]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue()


@pytest.fixture(scope="module")
def qinghe_scan() -> ParsedReport:
    return read_document(_scan_pdf("p02-qinghe-2020-t2019.pdf", 200), ocr=OcrOptions())


def test_scanned_report_reads_every_field(qinghe_scan):
    expected = json.loads((OWN_FIXTURES / "expected" / "p02-qinghe-2020-t2019.pdf.json").read_text("utf-8"))
    got = qinghe_scan
    assert {k: got.fields.get(k) for k in expected["fields"]} == expected["fields"]
    assert not set(got.fields) - set(expected["fields"])
    for key in ("agency", "year", "template", "title"):
        assert got.meta[key] == expected["meta"][key]
    assert got.meta["format"] == "pdf" and got.meta["source"] == "ocr" and got.meta["ocr"]["pages"] == 2
    # Every table number says where it came from and how sure the engine was.
    assert set(got.ocr) == set(got.fields) - {k for k in got.fields if not k.startswith(("apply", "active", "review", "litigation"))}
    assert all(0 < v["confidence"] <= 1 and v["page"] in (1, 2) for v in got.ocr.values())
    assert ParsedReport.from_json(got.to_json()).ocr == got.ocr


def test_one_low_confidence_digit_that_breaks_an_identity_is_doubtful(qinghe_scan):
    """As if the engine had read the 本年新收 总计 one digit wrong, unsure of it: the identity
    总计 = the applicant columns fails, that one digit explains it, so the number is doubtful
    (with the value the identity wants named), never replaced."""
    report = ParsedReport.from_json(qinghe_scan.to_json(with_text=True))
    key = "apply.new.total"
    true = report.fields[key]
    wrong = true + 10 if true < 10 else int("9" + str(true)[1:]) if str(true)[0] != "9" else true - 10 ** (len(str(true)) - 1)
    report.fields[key] = wrong
    report.ocr[key] = {"page": 1, "confidence": 0.61, "text": str(wrong)}
    check(report)
    assert key not in report.fields
    assert str(true) in report.doubtful[key] and "0.61" in report.doubtful[key]
    others = {k: v for k, v in report.fields.items() if k != key}
    assert others == {k: v for k, v in qinghe_scan.fields.items() if k != key}


def test_a_sure_reading_that_breaks_an_identity_stands(qinghe_scan):
    """Recognised with full confidence, a number that does not add up is the report's own: it
    stands, and the rules judge it."""
    report = ParsedReport.from_json(qinghe_scan.to_json(with_text=True))
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
    data = _scan_pdf("p01-huxi-2022.pdf", 200)
    start = time.monotonic()
    with pytest.raises(DocumentError) as err:
        read_document(data, ocr=OcrOptions(page_seconds=1))
    assert err.value.status == "too_large" and "time" in err.value.reason
    assert time.monotonic() - start < 30


def _judge(report: ParsedReport):
    from rules import LIBRARY, Context, evaluate, load_ruleset

    ctx = Context(report.meta["agency"], report.meta["level_hint"] or "department", report.meta["year"])
    return evaluate(load_ruleset(LIBRARY), report, ctx)


def test_no_rule_accuses_on_a_doubtful_reading_and_notices_say_recognised_from_a_scan(qinghe_scan):
    """The same misread digit, unsure: no rule fails on it (the identities it breaks are not
    evaluated, with the reason in Chinese). Read for sure, the same number breaks the
    identities and the rules say so, in notices that say the numbers were recognised from a
    scan (识别自扫描件)."""
    from rules.explain import explain

    unsure = ParsedReport.from_json(qinghe_scan.to_json(with_text=True))
    key = "apply.new.total"
    unsure.fields[key] += 1
    unsure.ocr[key] = {"page": 1, "confidence": 0.6, "text": str(unsure.fields[key])}
    check(unsure)
    assert key in unsure.doubtful
    outcomes = _judge(unsure).outcomes
    assert not [o for o in outcomes if o.status == "fail" and key in str(o.evidence)]
    held = [o for o in outcomes if o.status == "not_evaluated" and key in (o.evidence.get("doubtful") or {})]
    assert held and "识别自扫描件" in " ".join(explain(vars(held[0])).lines)

    sure = ParsedReport.from_json(qinghe_scan.to_json(with_text=True))
    sure.fields[key] += 1
    sure.ocr[key] = {"page": 1, "confidence": 0.999, "text": str(sure.fields[key])}
    check(sure)
    failed = [o for o in _judge(sure).outcomes if o.status == "fail" and key in str(o.evidence)]
    assert failed and all(o.evidence["scanned"][key] == 0.999 for o in failed)
    assert "以上数据识别自扫描件（文字识别），请以报告原件核对。" in explain(vars(failed[0])).lines
