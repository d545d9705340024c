"""Scans read by OCR: page images → recognised boxes → lines and table rows → a Layout.

A scanned PDF (pages without a text layer) and an image (.jpg .png .tif …) are read by
RapidOCR (``rapidocr-onnxruntime``: PP-OCRv4 Chinese detection and recognition models
shipped inside the wheel, run by onnxruntime on the CPU; nothing is downloaded). Each
recognised box has its text, its corners and the engine's confidence.

The boxes become lines by geometry: the page's skew is measured from the boxes' own
edges and undone on their centres; boxes whose centres lie on one baseline are a line.
Inside a table (consecutive lines holding numbers) each row gathers the label fragments
of its band (a label wrapped over two lines in its cell, a merged group cell beside it),
and its numbers are put in the table's columns, found from the x-extents of every number
of the table: a column with no box in a row is looked at again alone (``cell_reader``): a
number, a blank cell, or a cell with ink but no number read (doubtful). The lines are written as
text (cells separated by tabs) and read by ``text.text_to_layout`` like any other text:
sections, tables and prose come out of the same readers as HTML, PDF or DOCX.

Every number read from a table keeps where it came from (page, confidence, text as
recognised): ``Scan.rows`` maps a table row's line to its value boxes; ``ocr_check.py``
gives them to the fields and checks them by the tables' identities.

Bounded: a page cap, a pixel cap per image checked on the header before anything is
decoded, and a CPU-time cap per page (a timer in the bounded child process, limits.py).

This module must not map anything to report keys.
"""

from __future__ import annotations

import io
import math
import re
import signal
import statistics
import time
from dataclasses import dataclass, field

from documents.cells import UNREAD_CELL
from documents.errors import DocumentError, NeedsOCR
from documents.limits import TooLarge

ENGINE = "RapidOCR (rapidocr-onnxruntime, PP-OCRv4)"
_VALUE = re.compile(r"^[-−－]?(?:\d+(?:[.,]\d+)*|[oO])(?:万元|元|件|个|条|项)?$")
_ASCII = re.compile(r"[0-9A-Za-z.%]")


@dataclass(frozen=True)
class OcrOptions:
    """How much one scan may cost. ``max_pixels`` applies to every image (its header is read
    first) and every rendered page; ``page_seconds`` is wall-clock time for one page."""

    max_pages: int = 40
    max_pixels: int = 40_000_000
    page_seconds: int = 60
    dpi: int = 200  # PDF pages are rendered at this resolution
    max_side: int = 3000  # a larger image is scaled down to this side first (300 dpi A4 ≈ 3508)
    memory: int = 1024 * 1024 * 1024  # what the OCR child may allocate beyond its parent


@dataclass
class Box:
    text: str
    conf: float
    page: int
    cx: float  # centre, in the page's deskewed frame
    cy: float
    w: float
    h: float

    @property
    def x0(self) -> float:
        return self.cx - self.w / 2

    @property
    def x1(self) -> float:
        return self.cx + self.w / 2

    @property
    def is_value(self) -> bool:
        return bool(_VALUE.match(self.text.replace(" ", "")))


@dataclass
class Scan:
    text: str  # the recognised document, one line per line, table cells separated by tabs
    rows: dict[str, list[dict | None]] = field(default_factory=dict)  # a table row's line → its value boxes
    pages: int = 0
    seconds: float = 0.0
    boxes: int = 0
    confidence: float = 1.0  # mean confidence of the boxes
    engine: str = ENGINE


# ---------------------------------------------------------------- images and pages


def _pil():
    from PIL import Image

    return Image


def image_pages(data: bytes, opts: OcrOptions):
    """The frames of an image file as RGB images, each checked against the pixel cap from its
    header before it is decoded (PIL opens lazily)."""
    Image = _pil()
    Image.MAX_IMAGE_PIXELS = None  # the cap is ours, checked below from the header (this child only)
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
    except Exception as exc:  # PIL raises many kinds for damaged files
        raise DocumentError(f"unreadable image: {exc}") from exc
    frames = getattr(image, "n_frames", 1)
    if frames > opts.max_pages:
        raise TooLarge("image", "pages", frames, opts.max_pages)
    for index in range(frames):
        if index:
            image.seek(index)
        width, height = image.size
        if width * height > opts.max_pixels:
            raise TooLarge("image", "pixels", width * height, opts.max_pixels)
        tall = height > _TALL * width  # a whole report as one long picture: read in page-sized parts
        scale = min(1.0, opts.max_side / (width if tall else max(width, height)))
        try:
            if image.format == "JPEG" and scale < 1:
                image.draft("RGB", (int(width * scale), int(height * scale)))  # decoded at a reduced size
            frame = image.convert("RGB")
        except Exception as exc:
            raise DocumentError(f"unreadable image: {exc}") from exc
        if scale < 1 and frame.size[0] > opts.max_side * 1.05:
            frame = frame.resize((int(width * scale), int(height * scale)))
        if tall:
            yield from _parts(frame)
        else:
            yield frame


_TALL = 1.6


def _parts(image):
    """A tall image cut into parts about as tall as a page, each cut where a row of pixels
    holds the least ink in the last quarter before the page height (between two lines of
    text, or two rows of a table), so no line is cut through."""
    import numpy as np

    width, height = image.size
    step = int(1.41 * width)
    ink = (np.asarray(image.convert("L")) < 128).sum(axis=1)
    top = 0
    while height - top > _TALL * width:
        lo, hi = top + int(0.75 * step), top + step
        cut = lo + int(np.argmin(ink[lo:hi]))
        yield image.crop((0, top, width, cut))
        top = cut
    yield image.crop((0, top, width, height))


def pdf_pages(data: bytes, opts: OcrOptions):
    """The pages of a scanned PDF rendered at ``opts.dpi``, each checked against the caps first."""
    from documents.pdf import _pdfium

    pdfium = _pdfium()
    try:
        document = pdfium.PdfDocument(data)
    except Exception as exc:
        raise DocumentError(f"unreadable PDF: {exc}") from exc
    try:
        if len(document) > opts.max_pages:
            raise TooLarge("scanned PDF", "pages", len(document), opts.max_pages)
        for index in range(len(document)):
            page = document[index]
            width, height = page.get_size()
            scale = opts.dpi / 72
            if scale * scale * width * height > opts.max_pixels:
                scale = math.sqrt(opts.max_pixels / (width * height))  # a huge page is rendered smaller
            if max(width, height) * scale > opts.max_side * 1.2:
                scale = opts.max_side * 1.2 / max(width, height)
            image = page.render(scale=scale).to_pil().convert("RGB")  # in colour: a red seal is not ink
            page.close()
            yield image
    finally:
        document.close()


# ---------------------------------------------------------------- the engine

_ENGINE: list = []


def preload() -> None:
    """Import the engine's libraries in this process, so each bounded child starts with them
    (forked) and only loads the model. Raises NeedsOCR when the engine is not installed."""
    try:
        import numpy  # noqa: F401
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError as exc:
        raise NeedsOCR(f"a scan needs OCR and the OCR engine is not installed ({exc})") from exc


def engine():
    """The RapidOCR engine, made once per process (in the bounded child: onnxruntime's
    threads do not survive a fork)."""
    if not _ENGINE:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise NeedsOCR(f"a scan needs OCR and the OCR engine is not installed ({exc})") from exc
        _ENGINE.append(RapidOCR(**SETTINGS))
    return _ENGINE[0]


# How the engine runs (RapidOCR 1.4.4's parameters; measured with bench/ocr.py):
# - no angle classifier: it turns upside-down lines; scans of reports are upright, and it
#   costs a fifth of the time;
# - one onnxruntime thread: with two, the second spins waiting for work and a page costs 30 %
#   more CPU for the same boxes (the ocr queue's concurrency is what uses the cores);
# - recognition two lines at a time (rec_batch_num 2, default 6): on one thread smaller
#   batches cost less (s01's table page, 234 lines: 6.7 s of CPU with 6, 5.5 with 2; a
#   batch is padded to its widest line).
# Detection runs on the page at up to 2000 pixels a side (1.4.4 ignores det_limit_side_len
# unless the type is "min", which only enlarges): scaled to 1280 it costs 0.3 s of CPU
# instead of 1.1 on s01's table page but finds 230 boxes of 234, and on the scan corpus s07
# left 15 fields out unsaid (a lone number the cell reader did not recover).
SETTINGS = {"use_cls": False, "print_verbose": False, "intra_op_num_threads": 1, "rec_batch_num": 2}


def recognise(image, page: int):
    """The boxes of one page image, in the page's deskewed frame, and a reader of one table
    cell of that page (``cell_reader``)."""
    import numpy as np

    pixels = np.asarray(image)
    result, _ = engine()(pixels)
    result = result or []
    return boxes_of(result, page), cell_reader(pixels, skew(result), page)


def skew(result) -> float:
    """The page's skew (radians), from the top edges of its longer text boxes."""
    angles = []
    for corners, text, _ in result:
        (x0, y0), (x1, y1) = corners[0], corners[1]
        width, height = math.dist(corners[0], corners[1]), math.dist(corners[1], corners[2])
        if width > 3 * height and len(text) >= 3:
            angles.append(math.atan2(y1 - y0, x1 - x0))
    return statistics.median(angles) if angles else 0.0


def cell_reader(pixels, angle: float, page: int):
    """A function reading the number in one table cell (x0..x1 of its column, its row's centre
    line, in the deskewed frame) that detection passed over: a lone "1" in a wide cell is
    often not detected, a "0" under a red seal neither. The cell is cut out of the page, each
    pixel taken at its brightest channel (a red seal is light there, black ink dark, and
    black ink under the seal stays dark, the seal's pink edges light), its ruling lines whitened, and, if ink is left,
    made black on white and recognised alone. Returns a Box; a Box of ``UNREAD_CELL`` for a cell
    with ink but no number recognised in it (never a blank: what it holds is not known);
    None for a blank cell (no ink, or a dash or slash that says so)."""
    import numpy as np

    from documents.cells import read_cell

    cos, sin = math.cos(angle), math.sin(angle)
    grey = pixels.max(axis=2) if pixels.ndim == 3 else pixels

    def read(x0: float, x1: float, cy: float, height: float) -> Box | None:
        cx = (x0 + x1) / 2
        ox, oy = cx * cos - cy * sin, cx * sin + cy * cos  # back to the page's own frame
        half_w, half_h = (x1 - x0) / 2, 0.65 * height
        top, left = int(max(0, oy - half_h)), int(max(0, ox - half_w))
        crop = grey[top:int(oy + half_h), left:int(ox + half_w)]
        if crop.size == 0:
            return None
        dark = crop < 160
        lines_y, lines_x = dark.mean(axis=1) > 0.8, dark.mean(axis=0) > 0.8  # ruling lines, not ink of a number
        dark[lines_y, :] = False
        dark[:, lines_x] = False
        core = dark[int(0.15 * len(dark)):int(0.85 * len(dark))]  # a number's middle, not the cell's edges
        if core.sum() < 0.03 * height * height:  # less ink than a thin "1": specks, a ruling line's stub
            return None
        cell = np.where(dark, 0, 255).astype(np.uint8)
        result, _ = engine()(np.stack([cell] * 3, axis=2), use_det=False, use_cls=False, use_rec=True)
        text, conf = (str(result[0][0]).strip(), float(result[0][1])) if result else ("", 0.0)
        if text and read_cell(text).kind == "blank":
            return None  # "—", "/": the report says the cell is not filled in
        # A second look is less sure than a detection: at most LOW confidence, so any identity
        # it breaks puts it in doubt (ocr_check.py).
        box = Box(text, min(conf, 0.89), page, cx, cy, x1 - x0, height)
        return box if box.text and box.is_value else Box(UNREAD_CELL, 0.0, page, cx, cy, x1 - x0, height)

    return read


def boxes_of(result, page: int) -> list[Box]:
    """RapidOCR's [corners, text, confidence] → Boxes with the skew undone."""
    angle = skew(result)
    cos, sin = math.cos(angle), math.sin(angle)
    out = []
    for corners, text, conf in result:
        text = str(text).strip()
        if not text:
            continue
        cx = sum(p[0] for p in corners) / 4
        cy = sum(p[1] for p in corners) / 4
        width, height = math.dist(corners[0], corners[1]), math.dist(corners[1], corners[2])
        out.append(Box(text, float(conf), page, cx * cos + cy * sin, -cx * sin + cy * cos, width, height))
    return out


# ---------------------------------------------------------------- geometry: lines, rows, columns


def _lines(boxes: list[Box], height: float) -> list[list[Box]]:
    """Boxes on one baseline, top to bottom; each line left to right."""
    lines: list[list[Box]] = []
    centres: list[float] = []
    for box in sorted(boxes, key=lambda b: b.cy):
        placed = False
        for i in range(len(lines) - 1, max(-1, len(lines) - 4), -1):
            if abs(centres[i] - box.cy) < 0.5 * height and not any(_overlap(box, other) for other in lines[i]):
                lines[i].append(box)
                centres[i] = sum(b.cy for b in lines[i]) / len(lines[i])
                placed = True
                break
        if not placed:
            lines.append([box])
            centres.append(box.cy)
    order = sorted(range(len(lines)), key=lambda i: centres[i])
    return [sorted(lines[i], key=lambda b: b.cx) for i in order]


def _overlap(a: Box, b: Box) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0.3 * min(a.w, b.w)


def _join(boxes: list[Box], height: float) -> list[str]:
    """Cells of a line: boxes close together are one cell (a sentence cut by the detector),
    a gap wider than most of a character separates cells (two header cells side by side)."""
    cells: list[str] = []
    last: Box | None = None
    for box in boxes:
        if last is not None and box.x0 - last.x1 < 0.8 * height:
            glue = " " if _ASCII.match(cells[-1][-1:]) and _ASCII.match(box.text[:1]) else ""
            cells[-1] += glue + box.text
        else:
            cells.append(box.text)
        last = box
    return cells


def _columns(values: list[Box], height: float) -> list[tuple[float, float]]:
    """The x-extents of a table's number columns: the union of overlapping number boxes."""
    spans: list[list[float]] = []
    for box in sorted(values, key=lambda b: b.x0):
        if spans and box.x0 < spans[-1][1] + 0.2 * height:
            spans[-1][1] = max(spans[-1][1], box.x1)
        else:
            spans.append([box.x0, box.x1])
    return [(a, b) for a, b in spans]


def _value_text(box: Box) -> str:
    text = box.text.replace(" ", "")
    return "0" if text in ("o", "O") else text  # the detector's "o" in a number column is a 0


def page_lines(boxes: list[Box], read_cell=None, carry: dict | None = None) -> list[tuple[str, list[dict]]]:
    """A page's boxes → (line text with tab-separated cells, its value boxes) in reading order.
    ``read_cell`` (cell_reader) looks again at table cells where no number was detected.
    ``carry`` holds the columns of the last table from one page to the next: a table that
    goes on over a page break has no header on its second page."""
    if not boxes:
        return []
    height = statistics.median(b.h for b in boxes)
    lines = _lines(boxes, height)
    is_row = [sum(1 for b in line if b.is_value) >= 1 and any(not b.is_value for b in line) or
              sum(1 for b in line if b.is_value) >= 2 for line in lines]
    out: list[tuple[str, list[dict]]] = []
    i = done = 0  # done: the first line after the last table
    while i < len(lines):
        if not is_row[i]:
            out.append(("\t".join(_join(lines[i], height)), []))
            i += 1
            continue
        # A table: rows with numbers, and the label lines between and around them.
        j = i
        last_row = i
        numbers_from = min(b.x0 for b in lines[i] if b.is_value)
        while j + 1 < len(lines) and (is_row[j + 1] or (j + 1 - last_row <= 3 and _labelish(lines[j + 1], height))):
            if not is_row[j + 1] and sum(1 for b in lines[j + 1] if b.x1 > numbers_from) >= 2:
                break  # a header over the number columns: a new table (table 二's parts) begins
            j += 1
            if is_row[j]:
                last_row = j
                numbers_from = min([numbers_from] + [b.x0 for b in lines[j] if b.is_value])
        out += _table(lines[i:last_row + 1], is_row[i:last_row + 1], height, lines[max(0, i - 4, done):i],
                      read_cell, carry, continues=i <= 1)
        i = done = last_row + 1
    return out


def _labelish(line: list[Box], height: float) -> bool:
    """A line inside a table between rows: a few short fragments, no sentence."""
    text = "".join(b.text for b in line)
    return len(text) <= 40 and not re.search(r"[。；]", text)


def _table(lines: list[list[Box]], is_row: list[bool], height: float,
           above: list[list[Box]], read_cell=None, carry: dict | None = None,
           continues: bool = False) -> list[tuple[str, list[dict]]]:
    """Rows of a table: each row line takes the label fragments of the lines around it that
    stand in its band (nearer to it than to the next row, within a line and a half). Its
    columns are where its numbers stand and where the header's short cells stand (a column
    with no number in any row is still a column: its cells are blank)."""
    rows = [k for k, flag in enumerate(is_row) if flag]
    values = [b for k in rows for b in lines[k] if b.is_value]
    first_value = min(b.x0 for b in values)
    label_edge = max((b.x1 for k in rows for b in lines[k] if not b.is_value and b.x1 <= first_value), default=0.0)
    heads = [b for line in above for b in line if not b.is_value and b.x0 >= label_edge and b.w <= 4.5 * height]
    heads = [b for b in heads if not _spans_columns(b, heads, height)]
    columns = _columns(values, height)
    # A header cell adds a column only where no number stands (a column blank in every row):
    # header text read as one box over two columns (a grey page's merged fragments) would
    # otherwise join those columns into one, and every row of the table would lose its grid.
    columns = sorted(columns + _columns([b for b in heads if not any(
        min(z, b.x1) - max(a, b.x0) > 0 for a, z in columns)], height))
    if continues and carry and len(carry["columns"]) > len(columns) and all(
            any(min(b, z) - max(a, y) > 0 for y, z in carry["columns"]) for a, b in columns):
        columns = carry["columns"]  # the first rows of a page go on with the last page's table
    if carry is not None:
        carry["columns"] = columns
    centre = {k: statistics.mean(b.cy for b in lines[k] if b.is_value) for k in rows}
    extra: dict[int, list[Box]] = {k: [] for k in rows}
    out_lines: dict[int, list[Box]] = {}
    for k, line in enumerate(lines):
        if is_row[k]:
            continue
        for box in line:
            near = min(rows, key=lambda r: abs(centre[r] - box.cy))
            if abs(centre[near] - box.cy) < 1.5 * height and box.x1 <= first_value + height:
                extra[near].append(box)
            else:
                out_lines.setdefault(k, []).append(box)
    out: list[tuple[str, list[dict]]] = []
    for k, line in enumerate(lines):
        if k in out_lines:
            out.append(("\t".join(_join(sorted(out_lines[k], key=lambda b: b.cx), height)), []))
        if not is_row[k]:
            continue
        labels = [b for b in line if not b.is_value or b.x1 <= first_value] + extra[k]
        label_cells = _label_cells(labels, height)
        numbers = [b for b in line if b.is_value and b.x1 > first_value]
        cells = _place(numbers, columns)
        if read_cell is not None and len(cells) == len(columns):
            row_cy = centre[k]
            cells = [b if b is not None else read_cell(a, z, row_cy, height) for b, (a, z) in zip(cells, columns)]
        texts = label_cells + [_value_text(b) if b is not None else "" for b in cells]
        boxes = [{"text": b.text, "confidence": round(b.conf, 3), "page": b.page + 1} if b is not None else None
                 for b in cells]
        out.append(("\t".join(texts), boxes))
    return out


def _spans_columns(box: Box, heads: list[Box], height: float) -> bool:
    """A header cell over several columns (复议后起诉 over its five): header cells of two
    columns or more stand under it."""
    inside = sorted(b.cx for b in heads if b is not box and min(box.x1, b.x1) - max(box.x0, b.x0) > 0.3 * b.w)
    return bool(inside) and inside[-1] - inside[0] > height


def _label_cells(labels: list[Box], height: float) -> list[str]:
    """Label fragments of one row → its label cells, left to right: fragments one above the
    other in one column (a wrapped label) are joined top to bottom."""
    cols: list[list[Box]] = []
    for box in sorted(labels, key=lambda b: b.x0):
        for col in cols:
            if abs(col[0].x0 - box.x0) < 1.5 * height or _overlap(col[0], box):
                col.append(box)
                break
        else:
            cols.append([box])
    return ["".join(b.text for b in sorted(col, key=lambda b: b.cy)) for col in cols]


def _place(numbers: list[Box], columns: list[tuple[float, float]]) -> list[Box | None]:
    """A row's number boxes in the table's columns; None where a column has none (a blank
    cell). Where two boxes fall in one column the row is kept as it stands."""
    slots: list[Box | None] = [None] * len(columns)
    for box in numbers:
        hits = [i for i, (a, b) in enumerate(columns) if min(b, box.x1) - max(a, box.x0) > 0]
        if len(hits) != 1 or slots[hits[0]] is not None:
            return sorted(numbers, key=lambda b: b.cx)
        slots[hits[0]] = box
    # Columns left of the row's first number and right of its last stay blank only inside
    # the row's own span (a table 二 row has fewer columns than table 三's grid).
    return slots


# ---------------------------------------------------------------- the whole document


def scan(images, opts: OcrOptions, carry: dict | None = None) -> Scan:
    """OCR every page image (an iterator: pages are rendered one at a time) into a Scan.
    ``carry``: the last table's columns from the picture before (a report's pages as pictures).
    Each page may spend ``opts.page_seconds`` of CPU: a page that takes longer ends the
    process (the bounded child), and the parent reports too_large."""
    lines: list[str] = []
    rows: dict[str, list[dict | None]] = {}
    start = time.monotonic()
    pages = boxes_total = 0
    confidence = 0.0
    carry = {} if carry is None else carry  # the last table's columns, for a table that goes on over a page break
    for page, image in enumerate(images):
        # CPU time is what a page costs (wall time grows with whatever else the machine runs):
        # SIGPROF after page_seconds of CPU, SIGALRM after four times that of waiting; either
        # ends this (child) process, and the parent reports too_large.
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.setitimer(signal.ITIMER_PROF, opts.page_seconds)
        signal.alarm(4 * opts.page_seconds)
        try:
            boxes, read_cell = recognise(image, page)
            found = page_lines(boxes, read_cell, carry)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.alarm(0)
        pages += 1
        boxes_total += len(boxes)
        confidence += sum(b.conf for b in boxes)
        for text, values in found:
            lines.append(text)
            if values:
                rows[text] = values
        lines.append("")
    return Scan("\n".join(lines), rows, pages, time.monotonic() - start, boxes_total,
                confidence / boxes_total if boxes_total else 0.0)
