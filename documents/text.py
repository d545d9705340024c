"""Plain text to a Layout: every line becomes a row of cells.

Three table spellings are recognised, line by line, without deciding yet what is a table:
tab-separated cells (copied from a web page), pipe-separated cells (``| a | b |``, ``|a||b|``:
a blank cell is nothing between two bars), and a label followed by whitespace-separated
numbers (PDF text layers: ``规章 0 0 0``). A line holding one label or one number (one
cell per line, with or without a leading ``|``) stays a single cell; ``rows.py`` joins such
lines into table rows. Line numbers are those of the text itself.

Where a document writes one cell per line, a cell left blank is a line of its own too:
``|`` alone, or, without bars, an empty line between two values (cells on consecutive
lines) or one more blank paragraph (cells separated by blank lines, often with trailing
spaces). Those become blank cells (rows of one empty cell), so the values after them stay
in their columns.

This module must not decode bytes or map anything to report keys.
"""

from __future__ import annotations

import re

from documents.layout import Cell, Layout

# A number as written in a cell, with optional unit or blank marker. Kept loose on purpose:
# cells.py decides what the token means; here we only need "is this a value token".
_VALUE_TOKEN = re.compile(
    r"^(?:[-−－+]?[\d０-９][\d０-９,，.．]*(?:万元|元|件|个|条|项|起|次|%|％)?|[—–\-－/／]+|无)$"
)
_PIPE_RULE = re.compile(r"^[\s|:\-—=+]+$")  # markdown separator lines: |---|:--|


def is_value_token(token: str) -> bool:
    return bool(_VALUE_TOKEN.match(token.strip()))


def _bar_cell(line: str) -> str | None:
    """The cell of a one-cell line written with bars ("| 5", "|", "| 5 |"), else None."""
    if "|" not in line and "｜" not in line:
        return None
    text = line.strip()
    bars = text.count("|") + text.count("｜")
    if bars > 2 or text[0] not in "|｜":
        return None
    inner = text[1:]
    if bars == 2:
        if inner[-1:] not in ("|", "｜"):
            return None
        inner = inner[:-1]
    return inner.strip()


def split_line(line: str) -> list[Cell]:
    """Split one line of text into cells (see the module docstring)."""
    if "\t" in line:
        return [Cell(part.strip()) for part in line.split("\t")]
    single = _bar_cell(line)
    if single is not None:
        return [Cell(single)]
    if line.count("|") >= 2 or line.count("｜") >= 2:
        parts = re.split(r"[|｜]", line.strip())
        if parts and not parts[0].strip():
            parts = parts[1:]
        if parts and not parts[-1].strip():
            parts = parts[:-1]
        return [Cell(part.strip()) for part in parts]
    tokens = line.split()
    # Trailing value tokens after a label: "一、本年新收… 95 0 0 0 0 0 95". Only when the
    # label itself is not a number, so a line of numbers alone stays split value by value.
    n = len(tokens)
    while n > 0 and is_value_token(tokens[n - 1]):
        n -= 1
    if n == len(tokens):
        return [Cell(line.strip())]
    if n == 0:
        return [Cell(t) for t in tokens]
    return [Cell(" ".join(tokens[:n]))] + [Cell(t) for t in tokens[n:]]


def _one_value(line: str) -> bool:
    single = _bar_cell(line)
    text = single if single is not None else line.strip()
    return bool(text) and "\t" not in text and " " not in text and is_value_token(text)


def _blank_cells(lines: list[str]) -> set[int]:
    """0-based indexes of the blank lines that stand for blank cells (see the module
    docstring); empty unless the document writes one cell per line."""
    one = [_one_value(line) for line in lines]
    values = [i for i, flag in enumerate(one) if flag]
    if len(values) < 20:
        return set()
    # Cells as paragraphs: nearly every line, label or value, is followed by a blank one
    # (where cells stand on consecutive lines, only blank cells and paragraph ends are).
    filled = [i for i, line in enumerate(lines[:-1]) if line.strip()]
    spaced = sum(1 for i in filled if not lines[i + 1].strip()) > 0.8 * len(filled)
    out: set[int] = set()
    i = 0
    while i < len(lines):
        if lines[i].strip():
            i += 1
            continue
        start = i
        while i < len(lines) and not lines[i].strip():
            i += 1
        run = range(start, i)
        if spaced:
            # Cells separated by a blank line: one more blank paragraph per blank cell.
            out.update(list(run)[: (len(run) - 1) // 2])
        elif start > 0 and one[start - 1] and i < len(lines) and one[i]:
            # Cells on consecutive lines: an empty line between two values is a cell.
            out.update(run)
    return out


def text_to_layout(text: str, *, blank_cells: bool = True) -> Layout:
    """``blank_cells``: read blank lines that stand for cells (plain text; not a PDF's
    text layer, whose blank lines are only page breaks)."""
    layout = Layout()
    lines = [raw.rstrip() if raw.strip() else raw for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    blanks = _blank_cells(lines) if blank_cells else set()
    for index, line in enumerate(lines):
        if index in blanks:
            layout.add_line("", [Cell("")], keep_blank=True)
            continue
        line = line.rstrip()
        if line.strip() and _bar_cell(line) == "":
            layout.add_line(line, [Cell("")], keep_blank=True)  # "|": a blank cell
            continue
        if _PIPE_RULE.match(line) and "|" in line:
            layout.add_line(line)  # keep numbering; a separator is not a row
            continue
        layout.add_line(line, split_line(line) if line.strip() else None)
    return layout
