"""The one entry point: ``read_document(bytes) -> ParsedReport``.

Sniffs the format from the bytes first (magic numbers), the content type and file name
second; decodes text; builds a Layout (html, text, pdf, docx); then finds sections,
reads the tables, the prose numbers and the metadata. Raises ``NotAReport`` when the
document reads fine but is not an annual report, ``UnsupportedFormat`` for formats we do
not read (.doc/.wps, archives) and ``NeedsOCR`` for scans (PDFs without a text layer, images)
unless it is given ``ocr`` options: then a scan is read by OCR (ocr.py) in a bounded child
process, and its recognised lines go through the same readers as every other document.

Bad input never escapes as anything but a ``DocumentError`` (status and reason): empty or
binary data, damaged or truncated PDFs, zip bombs posing as DOCX (decompressed sizes are
checked before anything is inflated), files over ``max_bytes`` (``read_path`` stops reading
at the cap), pages that are not an annual report (a news article, a 政务公开工作要点).
An unexpected failure inside the parser becomes status ``parse_failed``.

This module must not fetch, store or judge a report; it only reads it.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from documents import limits
from documents.docx import check_package, docx_to_layout
from documents.encoding import decode_bytes
from documents.errors import DocumentError, NeedsOCR, NotAReport, UnsupportedFormat
from documents.html import html_to_layout, image_sources, looks_like_html
from documents.kind import follows_template, other_kind, report_list, says_report
from documents.layout import Cell, Layout, Row
from documents.meta import agency_of, find_title, level_hint, published_of, template_of, year_of
from documents.narrative import looks_wrapped, read_narrative
from documents.ocr import OcrOptions
from documents.ocr_check import apply_scan
from documents.pdf import pdf_to_layout
from documents.reflow import reflow
from documents.report import ParsedReport
from documents.script import is_traditional, to_simplified
from documents.sections import find_sections, regions
from documents.tables import read_tables
from documents.text import split_line, text_to_layout

DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # the largest real reports (scanned PDFs) are ~20 MB

_CONTROL_BYTES = bytes([*range(9), *range(14, 32), 127])  # never in text; common in binary data
_IMAGES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_UNSUPPORTED_TYPES = ("msword", "wps", "ms-excel", "ms-powerpoint", "image/", "zip", "rar", "7z", "octet-stream")


def sniff(data: bytes, content_type: str | None = None, name: str | None = None) -> str:
    """"html", "text", "pdf" or "docx"; raises UnsupportedFormat for anything else."""
    head = data[:1024]
    ctype = (content_type or "").lower()
    lname = (name or "").lower()
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedFormat("legacy OLE document (.doc/.wps/.xls): convert it to DOCX or PDF")
    if data.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile as exc:
            raise UnsupportedFormat(f"damaged zip package: {exc}") from exc
        if "word/document.xml" in names:
            return "docx"
        raise UnsupportedFormat("zip archive that is not a DOCX document")
    if data.startswith(_IMAGES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return "image"
    if data.startswith(b"{\\rtf"):
        raise UnsupportedFormat("RTF document")
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        sample = data[:4096]
        controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
        if b"\x00" in head or controls * 100 > len(sample):
            raise UnsupportedFormat(f"binary data ({content_type or name or 'unknown type'}): not text, HTML, PDF or DOCX")
    if lname.endswith((".doc", ".wps", ".xls", ".et", ".ppt")):
        raise UnsupportedFormat(f"unsupported file type: {name}")
    if any(t in ctype for t in _UNSUPPORTED_TYPES) and "html" not in ctype and "text" not in ctype:
        raise UnsupportedFormat(f"unsupported content type: {content_type}")
    return "html" if ("html" in ctype or lname.endswith((".html", ".htm", ".shtml"))) else "text"


_NAMES = {"pdf": "PDF", "docx": "DOCX document", "html": "HTML page", "text": "text", "image": "image",
          "scan": "scanned document"}


def _layout(data: bytes, fmt: str, content_type: str | None, charset: str | None) -> tuple[Layout, str | None, str]:
    # Each format is measured before its parser builds anything (see limits.py).
    if fmt == "scan":  # the recognised text of a scan (ocr.py): cells separated by tabs
        return text_to_layout(data.decode("utf-8"), blank_cells=False), None, "scan"
    if fmt == "pdf":  # in the sandbox's child already (see _read)
        return pdf_to_layout(data), None, "pdf"
    if fmt == "docx":
        check_package(data)  # declared sizes first: nothing is inflated past them (zip bombs)
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            limits.check_docx(package)
        return docx_to_layout(data), None, "docx"
    declared = charset or content_type
    if fmt == "text" and not looks_like_html(data[:2048].decode("latin-1")):
        limits.check_text_bytes(data)  # a text too long is refused before it is decoded
    text, used = decode_bytes(data, declared)
    if fmt == "text" and _MARKDOWN_TABLE.search(text) and not _HTML_PAGE.search(text[:4096]):
        limits.check_text(text)
        # Text (a PDF converted to Markdown) whose tables are written as HTML: its lines
        # become paragraphs, its tables are read as the HTML tables they are.
        return html_to_layout(_lines_as_html(text)), used, "text"
    if fmt == "html" or looks_like_html(text):
        limits.check_html(data)
        if used == "utf-8":
            del text  # the parser reads the bytes: don't hold a second copy of a big page
            return html_to_layout(data), used, "html"
        return html_to_layout(text), used, "html"
    limits.check_text(text)
    return text_to_layout(text), used, "text"


_MARKDOWN_TABLE = re.compile(r"<table[\s>]", re.I)
_HTML_PAGE = re.compile(r"<(?:!doctype|html|head|body)[\s>]", re.I)


def _lines_as_html(text: str) -> str:
    """Each line a paragraph, escaped; the HTML tables inside the text kept as they are."""
    out, depth = [], 0
    for line in text.splitlines():
        opens = len(_MARKDOWN_TABLE.findall(line))
        closes = line.lower().count("</table>")
        if depth or opens:
            out.append(line)
        else:
            out.append("<p>" + line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</p>")
        depth = max(0, depth + opens - closes)
    return "<html><body>" + "\n".join(out) + "</body></html>"


def _check_kind(title: str | None, lines: list[str], html_title: str | None, present: int, found_apply: bool,
                table_fields: int) -> None:
    """Raise NotAReport unless the document says it is a report (see kind.py)."""
    other = other_kind(title, lines, html_title)
    if other and not found_apply:
        raise NotAReport(f"a different kind of document, not an annual report: {other[:60]!r}")
    templated = follows_template(present, found_apply, table_fields)
    if not templated and report_list(lines):
        raise NotAReport("a list of annual reports (a column page), not a report itself")
    if not templated and not says_report(title, lines):
        first = html_title or next((line.strip() for line in lines if line.strip()), "")
        raise NotAReport(f"nothing says it is an annual report (no title naming one, no section headings,"
                         f" no statistics tables); it begins: {first[:60]!r}")


def _text_row(row: Row) -> bool:
    """A text line that is a table row: several cells, and not a line of prose that happens
    to end in a number ("…主动发布各类政府信息 2428 条，公开政府常务会议 7" in a PDF)."""
    filled = [c.text for c in row.cells if c.text.strip()]
    if len(filled) < 2:
        return False
    return len(filled) > 2 or not re.search(r"[，。；]", filled[0])


def _simplify(layout: Layout) -> Layout:
    """A page in traditional characters, converted for reading (see script.py)."""
    out = Layout(hints={k: to_simplified(v) if isinstance(v, str) else v for k, v in layout.hints.items()},
                 table_lines=set(layout.table_lines))
    out.lines = [to_simplified(line) for line in layout.lines]
    out.rows = [Row(r.line, [Cell(to_simplified(c.text), c.copy) for c in r.cells], r.table, r.run) for r in layout.rows]
    return out


def read_path(path, *, max_bytes: int = DEFAULT_MAX_BYTES, content_type: str | None = None,
              ocr: OcrOptions | None = None) -> ParsedReport:
    """Read a report file, reading at most ``max_bytes`` + 1 bytes of it (never the whole
    of a larger file). With ``ocr``, the pictures of a saved HTML page are read from beside
    it (``pictures_beside``), as the pipeline fetches them from the agency's site. Raises
    ``FileNotFoundError`` / ``OSError`` as open() does."""
    from pathlib import Path

    path = Path(path)
    too_large = DocumentError(f"file larger than the {max_bytes:,}-byte limit; not read", status="too_large")
    with path.open("rb") as handle:
        info = os.fstat(handle.fileno())
        if info.st_size > max_bytes:
            raise too_large  # a regular file says its size: nothing read
        if stat.S_ISREG(info.st_mode):
            data = handle.read()  # one buffer of the file's size
        else:  # pipes and special files: read in steps, stop past the cap, join once
            chunks, total = [], 0
            while total <= max_bytes:
                chunk = handle.read(min(1 << 20, max_bytes + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            data = b"".join(chunks)
            del chunks
    if len(data) > max_bytes:
        raise too_large
    return read_document(data, content_type=content_type, name=path.name, max_bytes=max_bytes, ocr=ocr,
                         pictures=pictures_beside(path, max_bytes) if ocr is not None else None)


def pictures_beside(path, max_bytes: int = DEFAULT_MAX_BYTES) -> Callable[[str], bytes | None]:
    """The pictures of a page saved as a file, by their ``src`` as written: a relative link
    read from the page's own folder, as a browser resolves it (URL-escaped names too). Nothing
    outside that folder, no other host's address, nothing over ``max_bytes``: None for those."""
    from pathlib import Path

    folder = Path(path).resolve().parent

    def read(src: str) -> bytes | None:
        link = urlsplit(src)
        if link.scheme or link.netloc or not link.path:
            return None
        target = (folder / unquote(link.path)).resolve()
        if not target.is_relative_to(folder) or not target.is_file() or target.stat().st_size > max_bytes:
            return None
        return target.read_bytes()

    return read


def read_document(data: bytes, *, content_type: str | None = None, name: str | None = None,
                  charset: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                  ocr: OcrOptions | None = None,
                  pictures: Callable[[str], bytes | None] | None = None) -> ParsedReport:
    """Bytes → ParsedReport; every failure is a DocumentError (see the module docstring).
    ``ocr``: read a scan by OCR within these bounds (without it, a scan raises NeedsOCR);
    ``pictures``: with ``ocr``, how to get a picture of an HTML page by its src as written
    (its bytes, or None when it cannot be had): the pipeline fetches it from the agency's
    site, ``read_path`` reads it from beside the file."""
    if len(data) > max_bytes:
        raise DocumentError(f"document of {len(data):,} bytes is over the {max_bytes:,}-byte limit", status="too_large")
    try:
        return _read(data, content_type, name, charset, ocr, pictures)
    except DocumentError:
        raise
    except RecursionError as exc:
        raise DocumentError("document nested too deeply to read", status="parse_failed") from exc
    except Exception as exc:  # a parser bug or a library failing on hostile input: never crash the caller
        raise DocumentError(f"parser failed: {type(exc).__name__}: {exc}", status="parse_failed") from exc


def _read(data: bytes, content_type: str | None, name: str | None, charset: str | None,
          ocr: OcrOptions | None, pictures: Callable[[str], bytes | None] | None = None) -> ParsedReport:
    if not data or not data.strip():
        raise NotAReport("empty document")
    fmt = sniff(data, content_type, name)
    if ocr is not None and fmt in ("html", "text") and not limits.sandboxed(fmt, data):
        # With OCR offered, a page whose tables are pictures reads them (none fetched: read
        # without them, not handed to OCR again).
        return read_pictures(data, fmt, content_type, charset, pictures, ocr)
    if fmt == "image":
        if ocr is None:
            raise NeedsOCR("image: the report is a picture; it needs OCR")
        return read_scan(data, fmt, ocr)
    if limits.sandboxed(fmt, data):
        # A PDF, or a big page or package: what the C parsers would build cannot be bounded
        # by counting first (limits.py), so the whole read runs in a child process under a
        # memory and CPU limit, and only the report comes back.
        if fmt in ("pdf", "docx"):
            __import__("pypdfium2" if fmt == "pdf" else "docx")  # imported once here, not in every child
        try:
            return limits.run_bounded(lambda doc: _read_format(doc, fmt, content_type, charset), data, _NAMES[fmt])
        except NeedsOCR:
            if ocr is None or fmt != "pdf":
                raise
            return read_scan(data, fmt, ocr)
    return _read_format(data, fmt, content_type, charset)


_TABLE_KEYS = {"active": ("active.", "active2019."), "requests": ("apply.",), "appeals": ("review.", "litigation.")}


def _tables_missing(sections, fields, layout: Layout) -> bool:
    """A picture stands in a section of the template whose table read nothing (its table is
    the picture); a logo or a photo elsewhere is no reason for OCR."""
    spans = regions(sections, len(layout.lines))
    pictures = [line for line, _ in layout.hints["images"]]
    return any(key in spans and not any(k.startswith(prefixes) for k in fields)
               and any(spans[key][0] - 1 <= line <= spans[key][1] for line in pictures)
               for key, prefixes in _TABLE_KEYS.items())


def _splice(layout: Layout, pictures: dict) -> Layout:
    """The page's layout with each picture's recognised lines where the picture stands."""
    after: dict[int, list[str]] = {}
    for line, src in layout.hints["images"]:
        if src in pictures:
            after.setdefault(line, []).extend(pictures[src].text.split("\n"))
    rows = {r.line: r for r in layout.rows}
    out = Layout(hints=layout.hints)
    for line in after.get(0, []):
        out.add_line(line, split_line(line) if line.strip() else None)
    for number, line in enumerate(layout.lines, start=1):
        row = rows.get(number)
        if row is None:
            out.add_line(line)
        else:
            out.add_line(line, row.cells, row.table, keep_blank=True, run=row.run)
        for text in after.get(number, []):
            out.add_line(text, split_line(text) if text.strip() else None)
    return out


def read_pictures(data: bytes, fmt: str, content_type: str | None, charset: str | None,
                  pictures: Callable[[str], bytes | None] | None, ocr: OcrOptions) -> ParsedReport:
    """An HTML page whose tables are pictures (``pictures``: src → the picture's bytes, or
    None): each picture of its body is read by OCR in a bounded child, its lines put where it
    stands, and the page read as usual. A picture that cannot be had is left out (its table is
    then missing, which the structure rules report)."""
    from documents import ocr as engine

    engine.preload()
    wanted = []
    if pictures is not None and looks_like_html(data[:2048].decode("latin-1")):
        wanted = [(src, image) for src in image_sources(data) if (image := pictures(src))]

    def recognise(_: bytes) -> dict:
        carry: dict = {}  # pictures in order, as pages: a table goes on from one picture to the next
        return {src: engine.scan(engine.image_pages(image, ocr), ocr, carry) for src, image in wanted}

    scans = limits.run_bounded(recognise, b"", "pictures of the page", memory=ocr.memory,
                               cpu_seconds=ocr.page_seconds * ocr.max_pages) if wanted else {}
    parsed = _read_format(data, fmt, content_type, charset, pictures=scans)
    if not scans:
        return parsed
    merged = engine.Scan("\n".join(s.text for s in scans.values()),
                         {text: boxes for s in scans.values() for text, boxes in s.rows.items()},
                         pages=sum(s.pages for s in scans.values()), seconds=sum(s.seconds for s in scans.values()),
                         boxes=sum(s.boxes for s in scans.values()),
                         confidence=sum(s.confidence * s.boxes for s in scans.values())
                         / max(1, sum(s.boxes for s in scans.values())))
    return apply_scan(parsed, merged, fmt)


def read_scan(data: bytes, fmt: str, ocr: OcrOptions) -> ParsedReport:
    """A scan (a PDF of page images, an image) read by OCR in a child process bounded in memory
    and time (a page cap, a pixel cap and a time cap per page: ocr.py); its recognised lines are
    then read like text, and every number read from its tables carries its confidence and is
    checked by the tables' identities (ocr_check.py)."""
    from documents import ocr as engine

    engine.preload()  # the libraries are imported once here; the model is loaded in the child

    def recognise(doc: bytes) -> engine.Scan:
        pages = engine.pdf_pages(doc, ocr) if fmt == "pdf" else engine.image_pages(doc, ocr)
        return engine.scan(pages, ocr)

    what = "scanned PDF" if fmt == "pdf" else "image"
    result = limits.run_bounded(recognise, data, what, memory=ocr.memory,
                                cpu_seconds=ocr.page_seconds * ocr.max_pages)
    parsed = _read_format(result.text.encode("utf-8"), "scan", None, None)
    return apply_scan(parsed, result, fmt)


def _read_format(data: bytes, fmt: str, content_type: str | None, charset: str | None,
                 pictures: dict | None = None) -> ParsedReport:
    """``pictures``: the page's pictures read by OCR (src → ocr.Scan), put where they stand;
    None when OCR is not offered (a page whose tables are pictures then raises NeedsOCR)."""
    layout, used_charset, fmt = _layout(data, fmt, content_type, charset)
    if pictures and layout.hints.get("images"):
        layout = _splice(layout, pictures)
    layout = reflow(layout, split_line)  # a report on a few long lines: headings and rows cut out
    limits.check_layout(layout, _NAMES[fmt])
    traditional = is_traditional(layout.text)
    if traditional:
        layout = _simplify(layout)
    lines = layout.lines
    if not any(line.strip() for line in lines):
        raise NotAReport(f"empty document: no text in this {fmt}")
    # Lines that are table rows (several cells) are neither headings nor prose.
    table_rows = layout.table_lines | {r.line for r in layout.rows if r.table is None and _text_row(r)}
    sections = find_sections(lines, table_rows)
    sink, table_template, found_apply = read_tables(layout, sections)

    first = min((s.line for s in sections.values() if s.present and s.line), default=None)
    title = find_title(lines, first, layout.hints.get("html_title"))
    present = sum(1 for s in sections.values() if s.present)
    _check_kind(title, lines, layout.hints.get("html_title"), present, found_apply, len(sink.fields))
    if pictures is None and layout.hints.get("images") and (
            (present == 0 and not sink.fields) or _tables_missing(sections, sink.fields, layout)):
        # Its tables are pictures, or the whole report is (its pages linked one picture each).
        raise NeedsOCR(f"HTML page whose tables are pictures ({len(layout.hints['images'])} picture(s)); it needs OCR")
    year, year_source = year_of(title, lines)
    template, template_source = template_of(table_template, year)
    agency = agency_of(title)
    level, level_word = level_hint(agency)
    prose = [line for number, line in enumerate(lines, start=1) if number not in table_rows]
    if traditional:
        sink.problems.append({"kind": "traditional_script", "where": "document",
                              "detail": "written in traditional characters; converted to simplified for reading"
                                        " (quotes and labels are shown converted)"})
    return ParsedReport(
        meta={
            "agency": agency,
            "year": year,
            "template": template,
            "published": published_of(lines, layout.hints.get("published_meta")),
            "title": title,
            "format": fmt,
            "charset": used_charset,
            # What the reading established, and how (see report.META_FACTS): a rule that
            # needs a fact the document did not establish does not run.
            "year_source": year_source,
            "template_source": template_source,
            "level_hint": level,
            "level_hint_word": level_word,
        },
        sections=sections,
        fields=sink.fields,
        where=sink.where,
        doubtful=sink.doubtful,
        narrative=read_narrative(prose, wrapped=fmt in ("pdf", "scan") or looks_wrapped(prose)),
        problems=sink.problems,
        text=layout.text,
    )
