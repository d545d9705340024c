"""PDF to a Layout, through its text layer (pypdfium2); a scan without text → NeedsOCR.

The text layer is read page by page and handed to ``text.text_to_layout``: PDF tables
come out as "label value value …" lines or one cell per line, which the text reader
already understands. Table extraction by geometry (pdfplumber) is not used: it costs
~25× more per page and the line reading covers the template tables.

This module must not map anything to report keys.
"""

from __future__ import annotations

from documents.errors import DocumentError, NeedsOCR
from documents.layout import Layout
from documents.text import text_to_layout


MAX_PAGES = 300


def pdf_to_layout(data: bytes) -> Layout:
    import pypdfium2 as pdfium  # imported here: only PDF snapshots pay for it

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
