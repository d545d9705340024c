"""Resources stay bounded for every accepted input: a document at a reading limit
(documents/limits.py) reads in bounded time and under 300 MB, one past it ends as too_large,
whatever its format. Each read runs in a process of its own, as a worker would read it,
and its peak resident memory (its child's too: the PDF sandbox) is measured there.

The shapes are the costliest per byte (tests/documents/bigdocs.py). Times are generous (the
machine is shared): they catch a read that is unbounded, not a slow one."""

from __future__ import annotations

import os
import signal

import pytest

from documents import limits
from documents.errors import DocumentError
from tests.documents import bigdocs

PEAK_MB = 300
SECONDS = 90


def _read(tmp_path, name: str, data: bytes) -> dict:
    return bigdocs.measure_in_subprocess(data, name, tmp_path)


def _bounded(result: dict) -> None:
    assert result["peak_mb"] < PEAK_MB, result
    assert result["seconds"] < SECONDS, result


# (file name, document, how it must end: "read" = anything but too_large, else a word of the reason)
AT_THE_LIMITS = [
    ("report.html", bigdocs.html_report, "read"),
    ("cells.html", bigdocs.html_cells, "read"),
    ("cells-over.html", lambda: bigdocs.html_cells(limits.MAX_TAGS + 2_000), "tags"),
    ("spans.html", bigdocs.html_spans, "read"),
    ("spans-over.html", lambda: bigdocs.html_spans(limits.MAX_ROWS + 10), "table rows"),
    ("image-50mb.html", bigdocs.html_with_image, "read"),
    ("text-50mb.html", bigdocs.html_text, "too_large"),
    ("attributes-2mb.html", bigdocs.html_attributes, "read"),
    ("attributes-50mb.html", lambda: bigdocs.html_attributes(50 * bigdocs.MB - 1024), "memory"),
    ("report.txt", bigdocs.text_report, "read"),
    ("lines.txt", bigdocs.text_lines, "read"),
    ("lines-over.txt", lambda: bigdocs.text_lines(limits.MAX_LINES + 10), "lines"),
    ("cells.txt", bigdocs.text_cells, "read"),
    ("cells-over.txt", lambda: bigdocs.text_cells(limits.MAX_CELLS + 100), "cells"),
    ("noise.txt", bigdocs.text_noise, "read"),
    ("noise-12mb.txt", lambda: bigdocs.text_noise(4 * limits.MAX_CHARS), "characters"),
    ("noise-50mb.txt", lambda: bigdocs.text_noise(50 * bigdocs.MB - 1024), "bytes"),
    ("report.pdf", bigdocs.pdf_report, "read"),
    ("dense-300-pages.pdf", bigdocs.pdf_dense, "read"),
    ("padded-50mb.pdf", bigdocs.pdf_padded, "read"),
    ("bomb.pdf", bigdocs.pdf_bomb, "memory"),
    ("report.docx", bigdocs.docx_report, "read"),
    ("cells.docx", bigdocs.docx_cells, "read"),
    ("cells-over.docx", lambda: bigdocs.docx_cells(limits.MAX_DOCX_NODES + 2_000), "elements"),
    ("paragraphs.docx", bigdocs.docx_paragraphs, "read"),
    ("styles.docx", bigdocs.docx_styles, "read"),
    ("bomb.docx", bigdocs.docx_bomb, "zip bomb"),
]


@pytest.mark.parametrize("name,make,ends", AT_THE_LIMITS, ids=[case[0] for case in AT_THE_LIMITS])
def test_every_format_at_its_limits_is_bounded(tmp_path, name, make, ends):
    result = _read(tmp_path, name, make())
    _bounded(result)
    if ends == "read":
        assert result["status"] != "too_large", result  # a limit must not refuse what it admits
    else:
        assert result["status"] == "too_large" and (ends == "too_large" or ends in result["reason"]), result


def test_the_45_mb_page_of_the_issue_ends_fast_and_small(tmp_path):
    """45 MB of report tables (the issue's page took 44 s and 1.96 GB): refused before parsing."""
    page = bigdocs.html_report()
    head, body = page.split(b"<body", 1)
    body = body.split(b">", 1)[1].rsplit(b"</body>", 1)[0]
    data = head + b"<body>" + body * (45 * bigdocs.MB // len(body)) + b"</body></html>"
    result = _read(tmp_path, "big.html", data)
    _bounded(result)
    assert result["status"] == "too_large" and result["seconds"] < 20, result


def test_too_large_says_what_and_how_much_in_chinese():
    with pytest.raises(limits.TooLarge) as err:
        limits.check_text("1\n" * (limits.MAX_LINES + 1))
    assert err.value.status == "too_large" and err.value.measure == "lines"
    assert err.value.zh == f"文档过大，未读取：行数{limits.MAX_LINES + 1:,}，超过上限{limits.MAX_LINES:,}。"
    assert "lines" in err.value.reason and "50,001" in err.value.reason


def test_the_sandbox_returns_results_and_document_errors():
    assert limits.run_bounded(lambda data: data.upper(), b"abc", "test") == b"ABC"
    with pytest.raises(DocumentError) as err:
        limits.run_bounded(lambda data: limits.check_text("x" * (limits.MAX_CHARS + 1)), b"", "test")
    assert err.value.status == "too_large" and isinstance(err.value, limits.TooLarge)


def test_the_sandbox_bounds_memory_and_time_and_survives_a_crash():
    def hog(_):
        return bytearray(300 * 1024 * 1024)

    with pytest.raises(DocumentError, match="memory") as err:
        limits.run_bounded(hog, b"", "test", memory=50 * 1024 * 1024)
    assert err.value.status == "too_large"

    def spin(_):
        while True:
            pass

    with pytest.raises(DocumentError, match="time") as err:
        limits.run_bounded(spin, b"", "test", cpu_seconds=1)
    assert err.value.status == "too_large"

    with pytest.raises(DocumentError, match="crashed") as err:
        limits.run_bounded(lambda _: os.kill(os.getpid(), signal.SIGSEGV), b"", "test")
    assert err.value.status == "unreadable"

    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        limits.run_bounded(lambda _: 1 / 0, b"", "test")
