"""PDF to a Layout, through its text layer (pypdfium2); a scan without text → NeedsOCR.

The text layer is read page by page and handed to ``text.text_to_layout``: PDF tables
come out as "label value value …" lines or one cell per line, which the text reader
already understands. Table extraction by geometry (pdfplumber) is not used: it costs
~25× more per page and the line reading covers the template tables.

Same bytes, same text on every machine: where a PDF does not embed its fonts (most Chinese
reports name 宋体 and embed nothing), pdfium measures each character with a substitute
font, and it looks for one among the host's fonts. Where it spaces words and breaks lines
depends on those measures, so a host with CJK fonts (fonts-noto-cjk, WenQuanYi) read
"5.要求行政机关确认或重新／出具已获取信息" differently from one without. pdfium is therefore
given an empty list of system fonts (``FPDF_SetSystemFontInfo``, once per process): it then
always uses its own built-in fonts, whatever the host has installed. Nothing here renders
pages, so nothing is lost.

This module must not map anything to report keys.
"""

from __future__ import annotations

from documents.errors import DocumentError, NeedsOCR
from documents.layout import Layout
from documents.text import text_to_layout


MAX_PAGES = 300
_NO_HOST_FONTS: list = []  # the font-info struct and its callbacks, kept alive for pdfium


def _pdfium():
    """pypdfium2 (imported here: only PDF snapshots pay for it), with the host's fonts hidden."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    if not _NO_HOST_FONTS:
        # A system font info that lists no fonts and maps none: pdfium falls back to the
        # fonts compiled into it, the same on every machine.
        kinds = dict(raw.FPDF_SYSFONTINFO._fields_)
        info = raw.FPDF_SYSFONTINFO()
        info.version = 1
        callbacks = {"Release": lambda this: None, "EnumFonts": lambda this, mapper: None,
                     "MapFont": lambda *args: None, "GetFont": lambda *args: None,
                     "GetFontData": lambda *args: 0, "GetFaceName": lambda *args: 0,
                     "GetFontCharset": lambda *args: 0, "DeleteFont": lambda *args: None}
        for name, fn in callbacks.items():
            setattr(info, name, kinds[name](fn))
        raw.FPDF_SetSystemFontInfo(ctypes.byref(info))
        _NO_HOST_FONTS.append(info)
    return pdfium


def pdf_to_layout(data: bytes) -> Layout:
    pdfium = _pdfium()
    try:
        document = pdfium.PdfDocument(data)
    except Exception as exc:  # pypdfium2 raises PdfiumError (and others) for damaged files
        raise DocumentError(f"unreadable PDF: {exc}") from exc
    try:
        if len(document) > MAX_PAGES:
            raise DocumentError(f"PDF of {len(document)} pages, longer than any annual report; not read",
                                status="too_large")
        pages = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        document.close()
    text = "\n".join(pages).replace("\r\n", "\n").replace("\r", "\n")
    visible = sum(1 for ch in text if not ch.isspace())
    if visible < 40 * max(1, len(pages)) // 4 + 20:
        raise NeedsOCR(f"PDF of {len(pages)} page(s) has no text layer ({visible} characters); a scan needs OCR")
    return text_to_layout(text, blank_cells=False)
