"""Errors of the documents package.

Each carries a machine-readable ``status`` (stored on the Snapshot or Source row) and a
human ``reason``; ``permanent`` tells the worker whether a retry can help.
"""


import re

# What a reason says, for people: (pattern over the English reason, Chinese with its groups).
_ZH_REASONS = [
    (re.compile(r"^a different kind of document, not an annual report: '(.*)'$"), "这是另一类文件（“{0}”），不是年度报告"),
    (re.compile(r"^a list of annual reports"), "这是列出年度报告的栏目页，不是报告本身"),
    (re.compile(r"^nothing says it is an annual report.*it begins: '(.*)'$"),
     "文件没有年度报告的标题、六个部分的标题或统计表格，开头为“{0}”"),
    (re.compile(r"^empty document"), "文件中没有文字"),
    (re.compile(r"^legacy OLE document"), "旧版 Word/WPS 文件（.doc/.wps），请转换为 DOCX 或 PDF"),
    (re.compile(r"^image: "), "文件是图片，需要文字识别"),
    (re.compile(r"^RTF document"), "RTF 文件，请转换为 DOCX 或 PDF"),
    (re.compile(r"^zip archive that is not a DOCX"), "压缩包而非 DOCX 文件"),
    (re.compile(r"^binary data \("), "不是文本、HTML、PDF 或 DOCX 文件"),
    (re.compile(r"^unsupported (?:file|content) type"), "不支持的文件类型"),
    (re.compile(r"^PDF of (\d+) page\(s\) has no text layer"), "PDF 共{0}页，没有文字层（扫描件），需要文字识别"),
    (re.compile(r"^PDF of (\d+) pages, longer than"), "PDF 共{0}页，超过年度报告可能的篇幅，未读取"),
    (re.compile(r"^(?:unreadable|damaged) (PDF|DOCX)"), "{0} 文件已损坏，无法读取"),
    (re.compile(r"reader crashed"), "读取时出错，文件可能已损坏"),
]
_ZH_STATUS = {"not_a_report": "不是年度报告", "unsupported_format": "文件格式无法读取", "needs_ocr": "扫描件，需要文字识别",
              "too_large": "文件过大，未读取", "unreadable": "文件已损坏，无法读取", "parse_failed": "读取出错"}


class DocumentError(Exception):
    """A document could not be turned into a report."""

    status = "unreadable"
    permanent = True

    def __init__(self, reason: str, status: str | None = None):
        super().__init__(reason)
        self.reason = reason
        if status:
            self.status = status

    @property
    def zh(self) -> str:
        """The reason in Chinese, for people (the English reason stays in logs and the API)."""
        for pattern, said in _ZH_REASONS:
            match = pattern.search(self.reason)
            if match:
                return said.format(*match.groups())
        return _ZH_STATUS.get(self.status, "无法读取")


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
