"""Bounds on what reading one document may cost: every accepted input reads in bounded time
and memory or ends as ``too_large`` (``TooLarge``) before the costly step.

The cost of reading grows with what the parsers build, not with bytes as such: markup
elements (the DOM), table rows (a rowspan/colspan grid is rows × columns), lines and cells
(the Layout, and everything read from it). So these are counted first, cheaply (a
``bytes.count`` scans at memory speed), and the Layout is measured once built. The caps sit
far above any real report (a 300-page PDF has ~15,000 lines; an HTML report ~3,000 tags) and
low enough that the worst shape of input at a cap reads in seconds and under 300 MB
(``bench/limits.py`` prints the figures; ``tests/documents/test_limits.py`` holds them).

A PDF cannot be measured before pdfium parses it: a 50 KB file can inflate one page into
millions of text objects (gigabytes). So a PDF is read in a forked child process under a
memory and CPU limit (``run_bounded``); a child that runs past them ends as too_large, and
one that crashes as unreadable, while the caller (a worker) carries on.

This module must not parse documents; it measures them and enforces the caps.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import resource
import select
import signal
import time
import zipfile
from dataclasses import dataclass
from typing import Callable, TypeVar

from documents.errors import DocumentError

T = TypeVar("T")

MAX_LINES = 50_000  # lines of the Layout (a 100-page PDF: ~5,000)
MAX_CELLS = 250_000  # cells of the Layout, grid copies included (a report: ~3,000)
MAX_CHARS = 3_000_000  # characters of text (a dense 300-page PDF: ~900,000)
MAX_TAGS = 300_000  # markup tags of an HTML page ("<"; a report: ~3,000-50,000)
MAX_DOCX_NODES = 800_000  # XML elements and attributes of a DOCX's parts (a report: ~50,000-200,000)
MAX_ROWS = 3_000  # table rows (<tr>, <w:tr>): a grid is rows × up to 64 columns (≤ MAX_CELLS)
MAX_SPAN = 64  # a DOCX gridSpan wider than any table (Word allows 63 columns)
MAX_DOCX_INFLATED = 100 * 1024 * 1024  # a DOCX's parts, inflated (python-docx holds them all)
SANDBOX_ABOVE = 2 * 1024 * 1024  # HTML bytes or DOCX XML bytes read in-process up to this
READ_MEMORY = 200 * 1024 * 1024  # what a sandboxed read may allocate beyond its parent's memory
READ_CPU_SECONDS = 30  # CPU seconds of a sandboxed read; the wall-clock limit is 4× that

_TR = re.compile(rb"<tr[\s>/]", re.I)
_W_TR = re.compile(rb"<(?:\w+:)?tr[\s>/]")
_W_TC = re.compile(rb"<(?:\w+:)?tc[\s>/]")
_GRID_SPAN = re.compile(rb"""gridSpan\s+(?:\w+:)?val\s*=\s*["'](\d+)""")


class TooLarge(DocumentError):
    """Reading would cost more than a report can: ``measure`` (lines, cells, …) is ``value``,
    over its ``limit``. The reason says it in English; ``zh`` in Chinese, for people."""

    status = "too_large"

    def __init__(self, what: str, measure: str, value: int | None, limit: int | None, unit: str = ""):
        self.what, self.measure, self.value, self.limit, self.unit = what, measure, value, limit, unit
        if value is None:
            reason = f"{what}: {measure}; not read"
        else:
            reason = f"{what} has {value:,} {measure}, over the {limit:,} a report can have; not read"
        super().__init__(reason, status="too_large")

    @property
    def zh(self) -> str:
        noun = _ZH.get(self.measure, self.measure)
        if self.value is None:
            return f"文档过大，未读取：{noun}。"
        return f"文档过大，未读取：{noun}{self.value:,}{self.unit}，超过上限{self.limit:,}{self.unit}。"

    def __reduce__(self):  # the sandbox sends it back from its child process
        return (TooLarge, (self.what, self.measure, self.value, self.limit, self.unit))


_ZH = {"lines": "行数", "pages": "页数", "pixels": "像素数", "cells": "表格单元格数", "characters": "字符数", "tags": "标记数",
       "table rows": "表格行数", "columns in one cell": "单元格跨列数", "bytes inflated": "解压后字节数", "XML elements and attributes": "XML 元素和属性数", "bytes": "字节数",
       "more memory than a report needs": "读取所需内存超过上限（可能是恶意构造的文件）",
       "more time than a report needs": "读取所需时间超过上限（可能是恶意构造的文件）"}


def _check(what: str, measure: str, value: int, limit: int) -> None:
    if value > limit:
        raise TooLarge(what, measure, value, limit)


def check_html(data: bytes) -> None:
    """Before parsing: tags (the DOM) and table rows (the grids)."""
    _check("HTML page", "tags", data.count(b"<"), MAX_TAGS)
    if data.count(b"<t") + data.count(b"<T") > MAX_ROWS:  # cheap first; the exact count only then
        _check("HTML page", "table rows", sum(1 for _ in _TR.finditer(data)), MAX_ROWS)


def check_text_bytes(data: bytes) -> None:
    """Before decoding plain text: no encoding spends more than 4 bytes on a character."""
    _check("text", "bytes", len(data), 4 * MAX_CHARS)


def check_text(text: str, what: str = "text") -> None:
    """Before splitting text into lines and cells: its characters, lines and separators."""
    _check(what, "characters", len(text), MAX_CHARS)
    _check(what, "lines", text.count("\n") + text.count("\r") // 2, MAX_LINES)
    # Every cell is made at a tab, a pipe or a space (a value token); their count bounds the cells.
    cells = text.count("\t") + text.count("|") + text.count("｜") + text.count(" ") + text.count("\u3000")
    _check(what, "cells", cells, MAX_CELLS)


def check_docx(package: zipfile.ZipFile) -> None:
    """A DOCX package whose declared sizes already passed docx.check_package (no zip bomb):
    what python-docx will hold (every part) and parse (every XML part: count its nodes)."""
    infos = package.infolist()
    _check("DOCX package", "bytes inflated", sum(i.file_size for i in infos), MAX_DOCX_INFLATED)
    nodes = 0
    for info in infos:
        if info.filename.endswith((".xml", ".rels")):
            xml = package.read(info)
            # lxml spends ~190 bytes on an element or an attribute (closing tags cost nothing)
            nodes += xml.count(b"<") - xml.count(b"</") + xml.count(b'="') + xml.count(b"='")
            _check("DOCX package", "XML elements and attributes", nodes, MAX_DOCX_NODES)
            if info.filename == "word/document.xml":
                check_docx_xml(xml)


def check_docx_xml(xml: bytes) -> None:
    """word/document.xml: rows, and the cells its grids will hold (each <w:tc> is one cell,
    or gridSpan of them)."""
    if xml.count(b"tr") > MAX_ROWS:
        _check("DOCX document", "table rows", sum(1 for _ in _W_TR.finditer(xml)), MAX_ROWS)
    spans = [int(v) for v in _GRID_SPAN.findall(xml)]
    if spans:
        _check("DOCX document", "columns in one cell", max(spans), MAX_SPAN)
    if xml.count(b"tc") + sum(spans) > MAX_CELLS:
        cells = sum(1 for _ in _W_TC.finditer(xml)) + sum(spans) - len(spans)
        _check("DOCX document", "cells", cells, MAX_CELLS)


def check_layout(layout, what: str) -> None:
    """After a format's reader: what the sections, tables and prose readers will walk."""
    _check(what, "lines", len(layout.lines), MAX_LINES)
    _check(what, "cells", sum(len(row.cells) for row in layout.rows), MAX_CELLS)
    _check(what, "characters", sum(map(len, layout.lines)), MAX_CHARS)


def sandboxed(fmt: str, data: bytes) -> bool:
    """Whether reading must run in a child under limits (``run_bounded``): every PDF, and a
    document big enough that counting cannot bound what lexbor or lxml would build from it
    (an attribute costs lexbor ~80 bytes, so a 2 MB page stays under ~100 MB whatever it holds)."""
    if fmt == "pdf" or len(data) > SANDBOX_ABOVE:
        return True
    if fmt == "docx":
        with zipfile.ZipFile(io.BytesIO(data)) as package:  # the directory only: nothing inflated
            xml = sum(i.file_size for i in package.infolist() if i.filename.endswith((".xml", ".rels")))
        return xml > SANDBOX_ABOVE
    return False


@dataclass
class _Outcome:
    value: object = None
    error: BaseException | None = None
    failed: str = ""


def run_bounded(fn: Callable[[bytes], T], data: bytes, what: str, *, memory: int = READ_MEMORY,
                cpu_seconds: int = READ_CPU_SECONDS) -> T:
    """``fn(data)`` in a forked child limited to ``memory`` bytes more than this process holds
    and ``cpu_seconds``; its result (pickled) or its DocumentError comes back. Where there is
    no fork (not POSIX) it runs here, unbounded."""
    if not hasattr(os, "fork"):
        return fn(data)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: limit, run, send, and leave without running the parent's exit code
        try:
            os.close(read_end)
            _limit_self(memory, cpu_seconds)
            start = _status_kib(b"VmHWM:")
            try:
                outcome = _Outcome(value=fn(data))
            except MemoryError:
                outcome = _Outcome(error=TooLarge(what, "more memory than a report needs", None, None))
            except DocumentError as exc:
                outcome = _Outcome(error=exc)
            except BaseException as exc:  # noqa: BLE001 - reported to the parent as a parser failure
                if (_status_kib(b"VmHWM:") or 0) - (start or 0) > memory // 2048:
                    # A C parser that failed an allocation says so in its own words ("Can't
                    # parse HTML"): having used over half the allowance, it ran out of memory.
                    outcome = _Outcome(error=TooLarge(what, "more memory than a report needs", None, None))
                else:
                    outcome = _Outcome(failed=f"{type(exc).__name__}: {exc}")
            try:
                payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
            except MemoryError:
                payload = pickle.dumps(_Outcome(error=TooLarge(what, "more memory than a report needs", None, None)))
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        finally:
            os._exit(0)
    os.close(write_end)
    payload, timed_out = _read_all(read_end, deadline=time.monotonic() + 4 * cpu_seconds)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    # SIGPROF, SIGALRM: a step with its own CPU or wall-clock cap (an OCR'd page, ocr.py) ran past it.
    if timed_out or (os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL, signal.SIGALRM,
                                                                        signal.SIGPROF)):
        raise TooLarge(what, "more time than a report needs", None, None)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGABRT:
        raise TooLarge(what, "more memory than a report needs", None, None)  # how pdfium ends when out of memory
    if os.WIFSIGNALED(status) or not payload:
        name = signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
        raise DocumentError(f"the {what} reader crashed ({name}); the file is probably damaged", status="unreadable")
    outcome: _Outcome = pickle.loads(payload)
    if outcome.error is not None:
        raise outcome.error
    if outcome.failed:
        raise RuntimeError(outcome.failed)  # read_document makes it parse_failed
    return outcome.value  # type: ignore[return-value]


def _limit_self(memory: int, cpu_seconds: int) -> None:
    data_now = _status_kib(b"VmData:")
    if data_now is not None:
        limit = data_now * 1024 + memory
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))  # a child's CPU time starts at 0


def _status_kib(field: bytes) -> int | None:
    """A figure of /proc/self/status in KiB: VmData (heap and private mappings, what
    RLIMIT_DATA bounds), VmHWM (peak resident memory)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _read_all(fd: int, deadline: float) -> tuple[bytes, bool]:
    chunks = []
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return b"", True
            ready, _, _ = select.select([pipe], [], [], left)
            if not ready:
                continue
            chunk = pipe.read(1 << 20)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
