"""Reading at the limits: time and peak memory of the costliest documents each format admits
(and of some it refuses), as multiples of an ordinary report of the same format.

    .venv/bin/python bench/limits.py [--repeat 1]

Each read runs in a fresh process, as a worker reads a stored document (``read_path``); its
peak is the larger of that process's and of its sandbox child's resident high-water mark
(documents/limits.py reads every PDF, and big HTML/DOCX, in a forked child under a memory
and CPU limit). The shapes are in tests/documents/bigdocs.py. The last block measures what
the sandbox itself costs on an ordinary PDF: the same read in-process and forked, in turns.

A script that prints figures, not a test; tests/documents/test_limits.py holds the bounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from documents import limits, reader  # noqa: E402
from tests.documents import bigdocs as b  # noqa: E402

MB = b.MB
CASES = {  # format: [(case, document)], the first of each the ordinary report (the baseline)
    "html": [("report", b.html_report), (f"{limits.MAX_TAGS:,} tags of cells", b.html_cells),
             (f"{limits.MAX_ROWS:,} rows of spans", b.html_spans), ("50 MB with an image", b.html_with_image),
             ("2 MB of attributes", b.html_attributes), ("50 MB of prose", b.html_text),
             ("50 MB of attributes", lambda: b.html_attributes(50 * MB - 1024))],
    "text": [("report", b.text_report), (f"{limits.MAX_LINES:,} lines", b.text_lines),
             (f"{limits.MAX_CELLS:,} cells", b.text_cells), ("3 MB of undecodable bytes", b.text_noise),
             ("50 MB", lambda: b.text_noise(50 * MB - 1024))],
    "pdf": [("report", b.pdf_report), ("300 pages at the line and cell limits", b.pdf_dense),
            ("50 MB (an embedded stream)", b.pdf_padded), ("50 KB inflating to 20 MB of text objects", b.pdf_bomb)],
    "docx": [("report", b.docx_report), (f"{limits.MAX_DOCX_NODES:,} XML nodes of cells", b.docx_cells),
             (f"{limits.MAX_LINES:,} paragraphs", b.docx_paragraphs), ("styles at the node limit", b.docx_styles),
             ("zip bomb (300 MB)", b.docx_bomb)],
}
SUFFIX = {"html": ".html", "text": ".txt", "pdf": ".pdf", "docx": ".docx"}


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.0f} KB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="Reads of each case (the median is shown).")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nianbao-limits-"))
    print(f"{'format':6} {'document':42} {'size':>9} {'seconds':>8} {'peak MB':>8} {'× time':>7} {'× memory':>8}  ends")
    slowest, largest = (0.0, ""), (0.0, "")
    for fmt, cases in CASES.items():
        base = None
        for case, make in cases:
            data = make()
            runs = [b.measure_in_subprocess(data, f"case{SUFFIX[fmt]}", folder) for _ in range(args.repeat)]
            seconds = statistics.median(r["seconds"] for r in runs)
            peak = statistics.median(r["peak_mb"] for r in runs)
            base = base or (seconds, peak)
            ends = runs[0]["status"] + ("" if runs[0]["status"] != "too_large" else f" ({runs[0]['reason'][:60]})")
            print(f"{fmt:6} {case:42} {_size(len(data)):>9} {seconds:8.2f} {peak:8.0f} "
                  f"{seconds / base[0]:7.0f} {peak / base[1]:8.1f}  {ends}", flush=True)
            slowest = max(slowest, (seconds, f"{fmt} {case}"))
            largest = max(largest, (peak, f"{fmt} {case}"))
    print()
    print(_sandbox_cost())
    print(f"limits: slowest {slowest[0]:.1f} s ({slowest[1]}), largest peak {largest[0]:.0f} MB ({largest[1]}); "
          f"limit 300 MB")


def _sandbox_cost(rounds: int = 30) -> str:
    data = b.pdf_report()
    __import__("pypdfium2")

    def here():
        return reader._read_format(data, "pdf", None, None)

    def forked():
        return limits.run_bounded(lambda d: reader._read_format(d, "pdf", None, None), data, "PDF")

    times: dict[str, list[float]] = {"in-process": [], "sandboxed": []}
    for _ in range(rounds):  # in turns, so noise hits both alike
        for name, fn in (("in-process", here), ("sandboxed", forked)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    a, s = statistics.median(times["in-process"]), statistics.median(times["sandboxed"])
    return (f"sandbox cost on an ordinary PDF ({_size(len(data))}): in-process {a * 1000:.1f} ms, "
            f"sandboxed {s * 1000:.1f} ms ({s / a:.1f}×, +{(s - a) * 1000:.1f} ms a PDF)")


if __name__ == "__main__":
    main()
