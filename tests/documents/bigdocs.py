"""Documents built at the reading limits (documents/limits.py), in the shapes that cost the
most per byte: one-digit cells, one-character lines, span bombs, a page whose content stream
inflates into hundreds of thousands of text objects. Used by tests/documents/test_limits.py
and bench/limits.py; nothing here is a real report's text."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

from documents import limits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADING = "一、总体情况".encode()
MB = 1024 * 1024


# --- HTML -------------------------------------------------------------------------------

def html_report() -> bytes:
    """An authored report page (about 80 KB): the baseline a limit is compared with."""
    return (FIXTURES / "g01-anping-2022-wordpaste.html").read_bytes()


def html_cells(tags: int = limits.MAX_TAGS) -> bytes:
    """A table of one-digit cells holding ``tags`` tags, in as many rows as the limit allows."""
    per_row = max(1, tags // (2 * limits.MAX_ROWS) - 1)
    rows = min(limits.MAX_ROWS, (tags - 16) // (2 * per_row + 2))
    row = b"<tr>" + b"<td>1</td>" * per_row + b"</tr>"
    return b"<html><body><p>" + HEADING + b"</p><table>" + row * rows + b"</table></body></html>"


def html_spans(rows: int = limits.MAX_ROWS) -> bytes:
    """Every cell spanning as far as the parser allows: the grid is rows x 64 columns."""
    row = b'<tr><td rowspan="100000" colspan="100000">1</td>' + b'<td colspan="50">2</td>' * 2 + b"</tr>"
    return b"<html><body><p>" + HEADING + b"</p><table>" + row * rows + b"</table></body></html>"


def html_attributes(size: int = limits.SANDBOX_ABOVE) -> bytes:
    """One element with as many bare attributes as ``size`` bytes hold (lexbor: ~80 bytes each)."""
    return b"<html><body><p " + b"a " * ((size - 100) // 2) + b">" + HEADING + b"</p></body></html>"


def html_with_image(size: int = 50 * MB - 1024) -> bytes:
    """A real-sized report page carrying an inline image, the whole page ``size`` bytes."""
    page = html_report()
    payload = b"QUJD" * ((size - len(page) - 64) // 4)
    return page.replace(b"<body", b'<body><img src="data:image/png;base64,' + payload + b'"><span', 1)


def html_text(size: int = 50 * MB - 1024) -> bytes:
    """One paragraph of Chinese prose filling the page: characters, not tags."""
    sentence = "本机关依法主动公开政府信息并按时答复申请。".encode()
    return b"<html><body><p>" + HEADING + b"</p><p>" + sentence * ((size - 64) // len(sentence)) + b"</p></body></html>"


# --- text -------------------------------------------------------------------------------

def text_report() -> bytes:
    return (FIXTURES / "t01-linjiang-2022-tabs.txt").read_bytes()


def text_lines(lines: int = limits.MAX_LINES) -> bytes:
    """One value per line (the costliest line: every one may start a stacked table row)."""
    return HEADING + b"\n" + b"1\n" * (lines - 2)


def text_cells(cells: int = limits.MAX_CELLS) -> bytes:
    """Tab-separated one-digit cells, 20 a line."""
    return HEADING + b"\n" + (b"\t".join([b"1"] * 20) + b"\n") * (cells // 20 - 1)


def text_noise(size: int = limits.MAX_CHARS) -> bytes:
    """Bytes that pass for text (no control characters) but decode as nothing plausible:
    the encoding detector's worst case, as long as plain text may be."""
    import random

    high = bytes(0xA1 + b % 94 for b in range(256))  # every byte to 0xA1..0xFE
    noise = random.Random(16).randbytes(MB).translate(high) + b" \n"
    return (HEADING + b"\n" + noise * (size // len(noise) + 1))[:size]


# --- PDF --------------------------------------------------------------------------------

def pdf(pages: int, lines_per_page: int, line: bytes, pad: int = 0, content: bytes | None = None) -> bytes:
    """A PDF with a text layer (Helvetica), every page drawing the same content stream;
    ``pad`` bytes of an unused stream (as an embedded image would be) to reach a file size."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    if content is None:
        content = b"BT /F1 3 Tf 3 TL 5 835 Td " + b"".join(b"(" + line + b") '\n" for _ in range(lines_per_page)) + b"ET"
    packed = zlib.compress(content, 9)
    stream = add(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream")
    pages_id = len(objects) + pages + 2
    kids = [add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, stream, font)) for _ in range(pages)]
    add(b"<< /Length %d >>\nstream\n" % pad + b"\0" * pad + b"\nendstream")
    add(b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % pages)
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    return bytes(out)


def pdf_report() -> bytes:
    return (FIXTURES / "p01-huxi-2022.pdf").read_bytes()


def pdf_dense(pages: int = 300) -> bytes:
    """The most pages a PDF may have, each as full of lines and values as the limits allow."""
    lines = limits.MAX_LINES // pages - 2
    values = max(1, limits.MAX_CELLS // (pages * lines) - 2)
    return pdf(pages, lines, b"Row " + b" ".join([b"1"] * values))


def pdf_padded(size: int = 50 * MB - 4096) -> bytes:
    """A few pages of text in a file made ``size`` bytes by an embedded stream (a scan's image)."""
    head = pdf(20, 40, b"Row 1 2 3 4 5 6 7 8")
    return pdf(20, 40, b"Row 1 2 3 4 5 6 7 8", pad=size - len(head))


def pdf_bomb(inflated: int = 20 * MB) -> bytes:
    """One page whose 50 KB content stream inflates to ``inflated`` bytes of text operators."""
    op = b"(1 1 1 1 1 1 1 1 1 1) '\n"
    return pdf(1, 0, b"", content=b"BT /F1 3 Tf 3 TL 5 835 Td " + op * (inflated // len(op)) + b"ET")


# --- DOCX -------------------------------------------------------------------------------

_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_TYPES = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          b'<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
          b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
_RELS = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
         b'officeDocument" Target="word/document.xml"/></Relationships>')


def docx(body: bytes, extra: dict[str, bytes] | None = None, types: bytes = _TYPES) -> bytes:
    """A minimal DOCX package around ``body`` (stored, not deflated: the ratio check is not
    what is measured here)."""
    xml = b'<?xml version="1.0" encoding="UTF-8"?><w:document ' + _W + b"><w:body>" + body + b"</w:body></w:document>"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as package:
        package.writestr("[Content_Types].xml", types)
        package.writestr("_rels/.rels", _RELS)
        package.writestr("word/document.xml", xml)
        for name, part in (extra or {}).items():
            package.writestr(name, part)
    return buf.getvalue()


def _paragraph(text: bytes) -> bytes:
    return b"<w:p><w:r><w:t>" + text + b"</w:t></w:r></w:p>"


def docx_report() -> bytes:
    return (FIXTURES / "d01-yanbei-2022-merged.docx").read_bytes()


def docx_cells(nodes: int = limits.MAX_DOCX_NODES) -> bytes:
    """A table of one-digit cells (4 elements a cell) up to ``nodes`` elements, rows within the limit."""
    cell = b"<w:tc>" + _paragraph(b"1") + b"</w:tc>"
    cells = min(nodes // 4, limits.MAX_CELLS)
    per_row = max(1, cells // limits.MAX_ROWS + 1)
    rows = min((nodes - 100) // (4 * per_row + 1), limits.MAX_CELLS // per_row)
    row = b"<w:tr>" + cell * per_row + b"</w:tr>"
    return docx(_paragraph(HEADING) + b"<w:tbl>" + row * rows + b"</w:tbl>")


def docx_paragraphs(lines: int = limits.MAX_LINES) -> bytes:
    """One short paragraph a line, as many as the limit allows."""
    return docx(_paragraph(HEADING) + _paragraph("本机关依法公开政府信息。".encode()) * (lines - 2))


def docx_styles(nodes: int = limits.MAX_DOCX_NODES - 100) -> bytes:
    """A report-sized document whose styles part (which python-docx parses too) holds ``nodes``
    elements and attributes."""
    styles = b'<?xml version="1.0"?><w:styles ' + _W + b">" + b'<w:style w:styleId="s"/>' * (nodes // 2) + b"</w:styles>"
    types = _TYPES.replace(b"</Types>", b'<Override PartName="/word/styles.xml" ContentType="application/'
                                        b'vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>')
    rels = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/styles" Target="styles.xml"/></Relationships>')
    return docx(_paragraph(HEADING), extra={"word/styles.xml": styles, "word/_rels/document.xml.rels": rels},
                types=types)


def docx_bomb(inflated: int = 300 * MB) -> bytes:
    """word/document.xml declaring ``inflated`` bytes of zeros (a zip bomb)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", _TYPES)
        with package.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * MB
            for _ in range(inflated // MB):
                member.write(chunk)
    return buf.getvalue()


# --- measuring one read in a process of its own ----------------------------------------------

def measure_file(path: str) -> dict:
    """Read ``path`` as a worker would (documents.reader.read_path); the wall time, the peak
    resident memory of this process and of any child it forked (the PDF sandbox), and how
    the read ended. Meant to run in a fresh process: ``python -m tests.documents.bigdocs FILE``."""
    import resource
    import time

    from documents.errors import DocumentError
    from documents.reader import read_path

    start = time.perf_counter()
    try:
        report = read_path(path)
        status, reason = "parsed", f"{len(report.text):,} characters"
    except DocumentError as exc:
        status, reason = exc.status, exc.reason
    seconds = time.perf_counter() - start
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the process that started this one.
    own = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    peak = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # both in KiB
    return {"seconds": seconds, "peak_mb": peak / 1024, "status": status, "reason": reason}


def measure_in_subprocess(data: bytes, name: str, folder: Path) -> dict:
    import json
    import subprocess
    import sys

    path = folder / name
    path.write_bytes(data)
    try:
        run = subprocess.run([sys.executable, "-m", "tests.documents.bigdocs", str(path)], capture_output=True,
                             text=True, cwd=Path(__file__).resolve().parents[2], timeout=600)
    finally:
        path.unlink()
    if run.returncode != 0:
        raise RuntimeError(f"measuring {name} failed: {run.stderr[-2000:]}")
    return {"bytes": len(data), **json.loads(run.stdout.splitlines()[-1])}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure_file(sys.argv[1])))
