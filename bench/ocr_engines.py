"""Which OCR engine: RapidOCR (PP-OCRv4 on onnxruntime) against Tesseract (chi_sim) on the scan corpus.

    .venv/bin/pip install rapidocr-onnxruntime        # and: apt-get install tesseract-ocr tesseract-ocr-chi-sim
    .venv/bin/python bench/ocr_engines.py [--quick] [--engines rapidocr,tesseract,tesseract-lines]

For every scan of tests/fixtures/scans (its page images exactly as stored: the image objects
of the PDFs, the TIFF's frames, the long images cut back into their pages, the article
page's table pictures) each engine reads every page, and its text is compared with what the
page prints (the authored report of tests/fixtures/make_fixtures.py the scan was made from):

- numbers: every number the page prints (table cells and prose; commas dropped) against the
  numbers in the engine's text, as multisets: recall (printed numbers found) and precision
  (numbers found that the page prints). A "00" where two cells hold "0" counts as a miss.
- labels: character accuracy of the table's row and column labels: each label aligned with
  the engine's text (letters only, near where its longest run matched), matched characters
  over the label's characters.
- seconds of CPU and of wall time a page (the machine is shared: CPU is the steadier figure),
  and the engine's peak resident memory (each engine runs in its own process).

``tesseract-lines`` is Tesseract on pages whose ruling lines were removed first (OpenCV
morphology): Tesseract reads a ruled table as noise otherwise. A script that prints figures,
not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANS = REPO / "tests" / "fixtures" / "scans"
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

import make_fixtures as mf  # noqa: E402  (the reports the scans print)

ENGINES = ("rapidocr", "tesseract", "tesseract-lines")
QUICK = ("s01-liuxi-2021-300.pdf", "s05-xishan-2020-t2019-200-seal.pdf", "s08-nanling-2021-blanks-150-copy.pdf")


# ---------------------------------------------------------------- the pages ----
def page_images(name: str, expected: dict) -> list:
    """The scan's page images as stored (PIL images), not re-rendered."""
    import pypdfium2 as pdfium
    from PIL import Image

    path = SCANS / name
    kind = name.rsplit(".", 1)[-1]
    if kind == "pdf":
        out = []
        for page in pdfium.PdfDocument(path.read_bytes()):
            image = next(o for o in page.get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE)
            out.append(image.get_bitmap().to_pil())
        return out
    if kind == "html":
        text = path.read_text(encoding="utf-8")
        return [Image.open(SCANS / src).copy() for src in re.findall(r'<img src="([^"]+)"', text)]
    image = Image.open(path)
    if kind == "tif":
        frames = []
        for i in range(image.n_frames):
            image.seek(i)
            frames.append(image.convert("L"))
        return frames
    n = expected["scan"]["pages"]  # a long image: the pages stacked, cut back at equal heights
    step = image.height // n
    return [image.crop((0, i * step, image.width, min(image.height, (i + 1) * step))) for i in range(n)]


# ------------------------------------------------------------ what is printed ----
def printed(source: str, tables_only: bool) -> tuple[list[str], list[str]]:
    """(every text the page prints, the table labels) of an authored report."""
    spec = next(s for s in mf.corpus() if s.name == source)
    texts, labels = [], []
    for item in mf.blocks(spec):
        if item[0] == "table":
            for row in item[1].rows:
                for cell in row:
                    texts.append(cell.text)
                    if re.search(r"[\u4e00-\u9fff]", cell.text) and not re.search(r"\d", cell.text):
                        labels.append(cell.text)
        elif not tables_only:
            texts.append(item[-1])
    if not tables_only:
        texts += [spec.agency, f"{spec.year + 1}年1月{10 + spec.seed % 18}日"]  # the signature
    return texts, labels


_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


def numbers(text: str) -> Counter:
    return Counter(m.replace(",", "") for m in _NUMBER.findall(unicodedata.normalize("NFKC", text)))


def letters(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalpha())


def label_accuracy(labels: list[str], text: str) -> tuple[int, int]:
    """(characters matched, characters) of the labels, each aligned near its best match."""
    stream = letters(text)
    got = total = 0
    for label in labels:
        want = letters(label)
        if not want:
            continue
        total += len(want)
        i, j, size = SequenceMatcher(None, stream, want, autojunk=False).find_longest_match(0, len(stream), 0, len(want))
        if not size:
            continue
        window = stream[max(0, i - j - 4): i - j + 2 * len(want) + 8]
        got += sum(b.size for b in SequenceMatcher(None, window, want, autojunk=False).get_matching_blocks())
    return got, total


# ---------------------------------------------------------------- the engines ----
def _strip_lines(gray):
    """The page without its ruling lines (Tesseract reads a ruled table as noise)."""
    import cv2
    import numpy as np

    bw = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    k = max(20, min(gray.shape) // 40)
    h = cv2.morphologyEx(bw, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, 1)))
    v = cv2.morphologyEx(bw, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, k)))
    lines = cv2.dilate(h | v, np.ones((3, 3), np.uint8))
    return np.where(lines > 0, 255, gray).astype(np.uint8)


def make_engine(name: str):
    import numpy as np
    from PIL import Image

    if name == "rapidocr":
        from rapidocr_onnxruntime import RapidOCR

        engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)

        def read(image, dpi):
            result, _ = engine(np.asarray(image.convert("RGB")))
            return "\n".join(text for _, text, _ in (result or []))
        return read

    def read(image, dpi):
        gray = np.asarray(image.convert("L"))
        if name == "tesseract-lines":
            gray = _strip_lines(gray)
        buf = io.BytesIO()
        Image.fromarray(gray).save(buf, "PNG")
        done = subprocess.run(["tesseract", "stdin", "stdout", "-l", "chi_sim", "--psm", "6", "--dpi", str(dpi)],
                              input=buf.getvalue(), capture_output=True, check=True,
                              env={**os.environ, "OMP_THREAD_LIMIT": "1"})
        return done.stdout.decode("utf-8")
    return read


def run_engine(name: str, scans: list[str]) -> list[dict]:
    """In this (child) process: every page of the scans through one engine."""
    read = make_engine(name)
    out = []
    for scan in scans:
        expected = json.loads((SCANS / "expected" / f"{scan}.json").read_text())
        pages = page_images(scan, expected)
        cpu0, wall0 = _cpu(), time.perf_counter()
        text = "\n".join(read(page, expected["scan"]["dpi"]) for page in pages)
        cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
        texts, labels = printed(expected["scan"]["source"], tables_only=scan.endswith(".html"))
        want, got = numbers("\n".join(texts)), numbers(text)
        hit, chars = label_accuracy(labels, text)
        out.append({"scan": scan, "dpi": expected["scan"]["dpi"], "clean": expected["scan"]["clean"],
                    "pages": len(pages), "cpu": cpu, "wall": wall, "numbers": sum(want.values()),
                    "numbers_found": sum((want & got).values()), "numbers_read": sum(got.values()),
                    "label_chars": chars, "label_hit": hit})
    return out


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_mb() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return max(own.ru_maxrss, kids.ru_maxrss) / 1024


# ------------------------------------------------------------------ the table ----
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("scans", nargs="*")
    args = parser.parse_args()
    scans = args.scans or (list(QUICK) if args.quick else
                           sorted(p.name[:-5] for p in (SCANS / "expected").glob("*.json")))
    if args.child:  # one engine, in its own process: its peak memory is its own
        rows = run_engine(args.child, scans)
        print(json.dumps({"rows": rows, "peak_mb": _peak_mb()}))
        return
    print(f"{len(scans)} scans; CPU and wall seconds a page; numbers: recall / precision; labels: character accuracy")
    print(f"{'engine':16} {'dpi':>4} {'pages':>5} {'numbers rec':>11} {'prec':>6} {'labels':>7} "
          f"{'CPU s/p':>8} {'wall s/p':>8} {'peak MB':>8}")
    for engine in args.engines.split(","):
        done = subprocess.run([sys.executable, __file__, "--child", engine, *scans], capture_output=True, text=True)
        if done.returncode:
            print(f"{engine}: failed\n{done.stderr[-2000:]}")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows = result["rows"]
        for dpi in sorted({r["dpi"] for r in rows}, reverse=True) + [None]:
            group = [r for r in rows if dpi is None or r["dpi"] == dpi]
            s = {k: sum(r[k] for r in group) for k in ("pages", "cpu", "wall", "numbers", "numbers_found",
                                                       "numbers_read", "label_chars", "label_hit")}
            print(f"{engine:16} {dpi or 'all':>4} {s['pages']:>5} {s['numbers_found'] / s['numbers']:>11.1%} "
                  f"{s['numbers_found'] / max(1, s['numbers_read']):>6.1%} {s['label_hit'] / s['label_chars']:>7.1%} "
                  f"{s['cpu'] / s['pages']:>8.2f} {s['wall'] / s['pages']:>8.2f} "
                  f"{round(result['peak_mb']) if dpi is None else '':>8}")
        if os.environ.get("NIANBAO_BENCH_DETAIL"):
            for r in rows:
                print(f"    {r['scan']:42} numbers {r['numbers_found']}/{r['numbers']} (read {r['numbers_read']}),"
                      f" labels {r['label_hit']}/{r['label_chars']}, CPU {r['cpu'] / r['pages']:.1f} s/page")


if __name__ == "__main__":
    main()
