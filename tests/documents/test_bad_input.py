"""Bad input: each gets a DocumentError with a clear status and reason, in bounded time and
memory; nothing else escapes the parser. Big and hostile inputs are made in tmp_path."""

from __future__ import annotations

import io
import os
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from documents.errors import DocumentError, NotAReport, UnsupportedFormat
from documents.reader import read_document, read_path

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"


def _fails(data: bytes, **kwargs) -> DocumentError:
    start = time.perf_counter()
    with pytest.raises(DocumentError) as err:
        read_document(data, **kwargs)
    assert time.perf_counter() - start < 5
    assert err.value.reason and err.value.status
    return err.value


def test_empty_file(tmp_path):
    (tmp_path / "empty.html").write_bytes(b"")
    with pytest.raises(NotAReport, match="empty document"):
        read_path(tmp_path / "empty.html")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(seed):
    data = __import__("random").Random(seed).randbytes(64 * 1024)
    err = _fails(data, name="report.html")
    assert err.status == "unsupported_format" and "binary" in err.reason


def test_random_bytes_without_nul():
    data = bytes(b % 255 + 1 for b in __import__("random").Random(7).randbytes(20000))  # no 0x00 anywhere
    err = _fails(data)
    assert err.status == "unsupported_format"


def test_truncated_pdf():
    whole = (FIXTURES / "p01-huxi-2022.pdf").read_bytes()
    for cut in (len(whole) // 3, len(whole) // 2, 200):
        err = _fails(whole[:cut], name="report.pdf")
        assert err.status in ("unreadable", "needs_ocr", "not_a_report")


def test_big_file_stops_at_the_cap(tmp_path):
    """A 200 MB file: read_path reads cap + 1 bytes and stops (sparse file: no disk used)."""
    big = tmp_path / "huge.html"
    with big.open("wb") as handle:
        handle.write(b"<html><body>" + b"a" * 1000)
        handle.truncate(200 * 1024 * 1024)
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(DocumentError) as err:
        read_path(big, max_bytes=5 * 1024 * 1024)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert err.value.status == "too_large" and "limit" in err.value.reason
    assert elapsed < 2 and peak < 20 * 1024 * 1024
    # the default cap applies too
    with pytest.raises(DocumentError) as err:
        read_path(big)
    assert err.value.status == "too_large"


def test_bytes_over_the_cap():
    err = _fails(b"x" * 2000, max_bytes=1000)
    assert err.status == "too_large"


def _docx_with(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in entries.items():
            z.writestr(name, body)
    return buf.getvalue()


def test_docx_zip_bomb(tmp_path):
    """word/document.xml declaring 300 MB of zeros (compresses to ~300 KB): refused before inflating."""
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(300):
                member.write(chunk)
    assert path.stat().st_size < 2 * 1024 * 1024
    tracemalloc.start()
    with pytest.raises(DocumentError) as err:
        read_path(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert err.value.status == "too_large" and "zip bomb" in err.value.reason
    assert peak < 30 * 1024 * 1024


def test_docx_with_many_entries():
    data = _docx_with({"word/document.xml": b"<w:document/>", **{f"word/media/{i}.bin": b"" for i in range(2500)}})
    assert _fails(data).status == "too_large"


def test_damaged_docx():
    data = _docx_with({"word/document.xml": b"<w:document><unclosed>"})
    err = _fails(data, name="r.docx")
    assert err.status == "unreadable"


def test_legacy_doc_and_scan_statuses():
    assert _fails(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, name="r.doc").status == "unsupported_format"
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    doc.new_page(595, 842)
    buf = io.BytesIO()
    doc.save(buf)
    assert _fails(buf.getvalue()).status == "needs_ocr"


def test_news_article_is_not_a_report():
    err = _fails((FIXTURES / "news-not-a-report.html").read_bytes(), name="news.html")
    assert err.status == "not_a_report"


def test_gongkai_yaodian_is_a_different_kind_of_document():
    """A 政务公开工作要点 numbered 一 to 六 with 主动公开 / 依申请 / 复议 headings: not a report."""
    err = _fails((FIXTURES / "bad-gongkai-yaodian-2023.html").read_bytes(), name="yaodian.html")
    assert err.status == "not_a_report" and "工作要点" in err.reason


def test_deeply_nested_html():
    data = b"<html><body>" + b"<div>" * 100_000 + "一、总体情况".encode() + b"</div>" * 100_000 + b"</body></html>"
    err = _fails(data)
    assert isinstance(err, DocumentError)


def test_huge_spans_are_bounded():
    row = '<tr><td rowspan="100000" colspan="100000">1</td></tr>' * 200
    data = f"<html><body><p>一、总体情况</p><table>{row}</table></body></html>".encode()
    start = time.perf_counter()
    with pytest.raises(DocumentError):
        read_document(data)
    assert time.perf_counter() - start < 5


def test_directory_and_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_path(tmp_path / "absent.pdf")
    assert not os.path.exists(tmp_path / "absent.pdf")


@pytest.mark.parametrize("data", [b"\xff\xfe" + "一、总体情况".encode("utf-16-le"), b"%PDF-1.7\n%%EOF",
                                  b"PK\x03\x04garbage", b"{\\rtf1 hello}", b"GIF89a......"])
def test_other_odd_inputs(data):
    _fails(data)


def test_unsupported_format_is_a_document_error():
    assert issubclass(UnsupportedFormat, DocumentError) and issubclass(NotAReport, DocumentError)
