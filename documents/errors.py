"""Errors of the documents package.

Each carries a machine-readable ``status`` (stored on the Snapshot or Source row) and a
human ``reason``; ``permanent`` tells the worker whether a retry can help.
"""


class DocumentError(Exception):
    """A document could not be turned into a report."""

    status = "unreadable"
    permanent = True

    def __init__(self, reason: str, status: str | None = None):
        super().__init__(reason)
        self.reason = reason
        if status:
            self.status = status


class NotAReport(DocumentError):
    """The bytes decode, but they are not a GOI annual report."""

    status = "not_a_report"


class UnsupportedFormat(DocumentError):
    """A format we do not read (legacy .doc, .wps, images, archives)."""

    status = "unsupported_format"


class NeedsOCR(DocumentError):
    """A PDF without a text layer (a scan)."""

    status = "needs_ocr"


class FetchError(Exception):
    """A fetch failed. Transient ones (timeouts, 5xx) are retried; permanent ones are not."""

    def __init__(self, reason: str, *, permanent: bool, status: str = "fetch_failed"):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.status = status
