"""Documents written on a few long lines, put back on lines of their own.

Crawlers and "text version" pages flatten a report: its headings stand inside a line
("…工作考核。二、主动公开政府信息情况第二十条第（一）项…"), and a table comes out with its
cells run together, a row's numbers with no separator ("一、本年新收政府信息公开申请数量5000005
二、上年结转…"). A long line is cut before and after each section heading it holds, and,
inside a table (from 第二十条第 / 本列数据 / 申请人情况 / 本年新收 / 行政复议…结果维持 on,
up to the next sentence end), into one line per row: its label, a tab, and its numbers as
written. Those rows are marked ``run``; ``runs.py`` reads their numbers.

A row label is found by the words of the template's rows (本年新收, 予以公开, 国家秘密, …,
规章, 行政许可, …), back to its numbering (一、 （一） 1.); a digit just before a label's
"." is that label's number, not a value. Lines that hold neither headings nor run-together
rows are left as they are, so other documents read exactly as before.

This module must not map anything to report keys; it only cuts lines.
"""

from __future__ import annotations

import re

from documents.layout import Cell, Layout

_LONG = 80  # sections.match_heading reads lines up to this length: longer ones may hold rows

# A section heading as templates and agencies word it, preceded by its numeral.
_HEADING = re.compile(
    r"[一二三四五六]\s*[、.．]\s*(?:总体情况|基本情况|主动公开政府信息(?:的)?情况|主动公开情况"
    r"|收到和处理政府信息公开申请(?:的)?情况|政府信息公开申请(?:办理)?情况|依申请公开(?:政府信息)?(?:工作)?情况"
    r"|因政府信息公开工作被申请行政复议和提起行政诉讼(?:的)?情况|政府信息公开行政复议[、和及]?行政诉讼(?:的)?情况"
    r"|政府信息公开工作存在的主要问题及改进情况|存在的主要问题及(?:改进|整改)(?:情况|措施)|其他需要报告的事项)")
_NOT_BEFORE = set("、，,；;：:（(《“\"'")  # a heading quoted or listed ("包括：一、总体情况；二、…") is not one
_NOT_AFTER = set("，,；;、：:）)》”")

# Where a table begins inside a line.
# (Words prose uses too, such as 本年新收 or 行政复议, start a table only with numbers right after.)
_TABLE_START = re.compile(r"第二十条第|[（(]本列数据|申请人情况|本年新收政府信息公开申请数量\s?\d|行政复议\s*行政诉讼"
                          r"|结果维持\s*结果纠正")
# A run of numbers as written (units and signs inside; a space only in "1 234"-free text).
_VALUES = re.compile(r"[-−－]?\d[\d,.．\-−－件个条项万元]*")
# The words a row label is found by. Table 三's labels may carry numbering before them.
_APPLY_WORDS = (r"本年新收|上年结转|予以公开|部分公开|国家秘密|其他法律行政法规|危及|第三方合法权益|内部事务|过程性信息"
                r"|执法案卷|行政查询|不掌握|没有现成|补正后|信访|重复申请|公开出版物|大量反复|确认或重新|逾期不补正"
                r"|逾期未按收费|缴纳费用|其他处理|(?<=\d[.、．])其他|总计|结转下年度|结转下一年")
_ACTIVE_WORDS = (r"行政规范性文件|规范性文件|规章|其他对外管理服务事项|行政许可|行政处罚|行政强制|行政事业性收费|政府集中采购"
                 r"|行政诉讼[（(]?(?:未经复议直接起诉|复议后起诉)[)）]?|(?:未经复议直接起诉|复议后起诉)|行政复议")
_ROW_WORD = re.compile(f"(?P<active>{_ACTIVE_WORDS})|(?P<apply>{_APPLY_WORDS})")
# Header words of table 三, longest first (法人或其他组织 holds 其他): a header run together is
# cut into its cells so the columns (社会组织 for 社会公益组织, a 小计) are still seen.
_HEADER_WORDS = re.compile(r"法人或其他组织|社会公益组织|社会组织|公益组织|自然人|商业企业|科研机构|法律服务机构|小计|总计|其他")
_PROSE = re.compile(r"[，,。；;！？]")
_NOTE = re.compile(r"[（(][^（）()]*[)）]")
_NUMBERING = re.compile(r"[一二三四五六七八九十]+\s*[、.．]|[（(][一二三四五六七八九十]+[)）]|\d\s*[.、．]")


def _headings(line: str) -> list[tuple[int, int]]:
    """Spans of the section headings standing inside a line."""
    out = []
    for m in _HEADING.finditer(line):
        start, end = m.span()
        if start and line[start - 1] in _NOT_BEFORE:
            continue
        if end < len(line) and line[end] in _NOT_AFTER:
            continue
        out.append((start, end))
    return out


def _label_start(before: str) -> int | None:
    """Where the row label that ends ``before`` starts, or None when no row word is there."""
    words = list(_ROW_WORD.finditer(before))
    if not words:
        return None
    last = words[-1]
    start = last.start()
    if last.group("apply"):
        window = before[max(0, start - 20): start]
        numbers = list(_NUMBERING.finditer(window))
        if numbers:
            start = max(0, start - 20) + numbers[-1].start()
    label = before[start:]
    if len(label) > 60 or re.search(r"[。；;！？]", label):
        return None
    return start


def _table_rows(segment: str) -> list[tuple[str, str]] | None:
    """(line, kind) for a segment holding a table, or None. Kind: "run" (a label, a tab,
    numbers run together), "cells" (tab-separated header cells) or "text"."""
    zone = _TABLE_START.search(segment)
    if not zone:
        return None
    out: list[tuple[str, str]] = []
    text_from = 0  # start of text not yet written
    scan = zone.start()
    rows = 0
    for m in _VALUES.finditer(segment, scan):
        run, start, end = m.group(0), m.start(), m.end()
        if run.endswith((".", "．")) and len(run) >= 2 and run[-2].isdigit():
            run, end = run[:-2], end - 2  # "…00000002.其他法律…": the 2 numbers the next label
        elif end < len(segment) and segment[end] == "、" and run[-1:].isdigit():
            run, end = run[:-1], end - 1
        if not run or not any(ch.isdigit() for ch in run):
            continue
        before = segment[text_from:start]
        if rows and re.search(r"[。；;]", before):
            break  # prose after the table: stop cutting rows
        at = _label_start(before)
        if at is None:
            continue
        if not rows and _PROSE.search(_NOTE.sub("", before[zone.start() - text_from:at])):
            return None  # a sentence that names 第二十条第… and a number, not a table
        head = before[:at].strip()
        words = _HEADER_WORDS.findall(head)
        if len(words) >= 5 and "本年" not in head:  # the header of table 三, its cells run together
            first = _HEADER_WORDS.search(head).start()
            if head[:first].strip():
                out.append((head[:first].strip(), "text"))
            out.append(("\t".join(words), "cells"))
        elif head:
            out.append((head, "text"))
        out.append((f"{before[at:].strip()}\t{run}", "run"))
        text_from = end
        rows += 1
    if not rows or (rows == 1 and sum(ch.isdigit() for ch in out[-1][0]) < 3):
        return None  # one short number after a label word is prose, not a table
    rest = segment[text_from:].strip()
    if rest:
        out.append((rest, False))
    return out


def _cut(line: str) -> list[tuple[str, str]] | None:
    """The lines a long line is cut into, or None when it stays as it is."""
    spans = _headings(line)
    pieces: list[str] = []
    at = 0
    for start, end in spans:
        pieces += [line[at:start], line[start:end]]
        at = end
    pieces.append(line[at:])
    out: list[tuple[str, str]] = []
    changed = bool(spans)
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        rows = _table_rows(piece) if len(piece) > 20 else None
        if rows:
            out += rows
            changed = True
        else:
            out.append((piece, "text"))
    return out if changed and len(out) > 1 else None


def reflow(layout: Layout, split) -> Layout:
    """The layout with its long text lines cut (see the module docstring); the same
    object when no line needs it. ``split`` turns a line into cells (text.split_line)."""
    cuts: dict[int, list[tuple[str, str]]] = {}
    for number, line in enumerate(layout.lines, start=1):
        if number in layout.table_lines or not (len(line) > _LONG or _HEADING.search(line)):
            continue
        parts = _cut(line)
        if parts:
            cuts[number] = parts
    if not cuts:
        return layout
    rows = {r.line: r for r in layout.rows}
    out = Layout(hints=layout.hints)
    for number, line in enumerate(layout.lines, start=1):
        if number in cuts:
            for text, kind in cuts[number]:
                cells = [Cell(x) for x in text.split("\t")] if kind != "text" else split(text)
                out.add_line(text.replace("\t", " "), cells, run=kind == "run")
            continue
        row = rows.get(number)
        if row is None:
            out.add_line(line)
        else:
            out.add_line(line, row.cells, row.table, keep_blank=True, run=row.run)
    return out
