"""The one entry point: ``read_document(bytes) -> ParsedReport``.

Sniffs the format from the bytes first (magic numbers), the content type and file name
second; decodes text; builds a Layout (html, text, pdf, docx); then finds sections,
reads the tables, the prose numbers and the metadata. Raises ``NotAReport`` when the
document reads fine but is not an annual report, ``UnsupportedFormat`` for formats we do
not read (.doc/.wps, images, archives) and ``NeedsOCR`` for scanned PDFs.

This module must not fetch, store or judge a report; it only reads it.
"""

from __future__ import annotations

import io
import zipfile

from documents.docx import docx_to_layout
from documents.encoding import decode_bytes
from documents.errors import NotAReport, UnsupportedFormat
from documents.html import html_to_layout, looks_like_html
from documents.layout import Layout
from documents.meta import agency_of, find_title, published_of, template_of, year_of
from documents.narrative import read_narrative
from documents.pdf import pdf_to_layout
from documents.report import ParsedReport
from documents.sections import find_sections
from documents.tables import read_tables
from documents.text import text_to_layout

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
        raise UnsupportedFormat("image: the report is a picture and needs OCR")
    if data.startswith(b"{\\rtf"):
        raise UnsupportedFormat("RTF document")
    if b"\x00" in head and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedFormat(f"binary data ({content_type or name or 'unknown type'})")
    if lname.endswith((".doc", ".wps", ".xls", ".et", ".ppt")):
        raise UnsupportedFormat(f"unsupported file type: {name}")
    if any(t in ctype for t in _UNSUPPORTED_TYPES) and "html" not in ctype and "text" not in ctype:
        raise UnsupportedFormat(f"unsupported content type: {content_type}")
    return "html" if ("html" in ctype or lname.endswith((".html", ".htm", ".shtml"))) else "text"


def _layout(data: bytes, fmt: str, content_type: str | None, charset: str | None) -> tuple[Layout, str | None, str]:
    if fmt == "pdf":
        return pdf_to_layout(data), None, "pdf"
    if fmt == "docx":
        return docx_to_layout(data), None, "docx"
    declared = charset or content_type
    text, used = decode_bytes(data, declared)
    if fmt == "html" or looks_like_html(text):
        return html_to_layout(text), used, "html"
    return text_to_layout(text), used, "text"


def read_document(data: bytes, *, content_type: str | None = None, name: str | None = None,
                  charset: str | None = None) -> ParsedReport:
    if not data or not data.strip():
        raise NotAReport("empty document")
    fmt = sniff(data, content_type, name)
    layout, used_charset, fmt = _layout(data, fmt, content_type, charset)
    lines = layout.lines
    if not any(line.strip() for line in lines):
        raise NotAReport(f"empty document: no text in this {fmt}")
    # Lines that are table rows (several cells) are neither headings nor prose.
    table_rows = layout.table_lines | {r.line for r in layout.rows if sum(1 for c in r.cells if c.text.strip()) > 1}
    sections = find_sections(lines, table_rows)
    sink, table_template, found_apply = read_tables(layout, sections)

    first = min((s.line for s in sections.values() if s.present and s.line), default=None)
    title = find_title(lines, first, layout.hints.get("html_title"))
    present = sum(1 for s in sections.values() if s.present)
    if present < 3 and not found_apply:
        shown = title or layout.hints.get("html_title") or next(line for line in lines if line.strip())[:60]
        raise NotAReport(f"no section headings and no application table found; title: {shown!r}"
                         if present == 0 else
                         f"only {present} section heading(s) and no application table found; title: {title!r}")
    year = year_of(title, lines)
    prose = [line for number, line in enumerate(lines, start=1) if number not in table_rows]
    return ParsedReport(
        meta={
            "agency": agency_of(title),
            "year": year,
            "template": template_of(table_template, year),
            "published": published_of(lines, layout.hints.get("published_meta")),
            "title": title,
            "format": fmt,
            "charset": used_charset,
        },
        sections=sections,
        fields=sink.fields,
        where=sink.where,
        doubtful=sink.doubtful,
        narrative=read_narrative(prose, wrapped=fmt == "pdf"),
        problems=sink.problems,
        text=layout.text,
    )
