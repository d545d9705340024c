"""Plain text to a Layout: every line becomes a row of cells.

Three table spellings are recognised, line by line, without deciding yet what is a table:
tab-separated cells (copied from a web page), pipe-separated cells (``| a | b |``), and a
label followed by whitespace-separated numbers (PDF text layers: ``规章 0 0 0``). A line
holding one label or one number (one cell per line) stays a single cell; ``rows.py``
joins such lines into table rows. Line numbers are those of the text itself.

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


def split_line(line: str) -> list[Cell]:
    """Split one line of text into cells (see the module docstring)."""
    if "\t" in line:
        return [Cell(part.strip()) for part in line.split("\t")]
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


def text_to_layout(text: str) -> Layout:
    layout = Layout()
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        if _PIPE_RULE.match(line) and "|" in line:
            layout.add_line(line)  # keep numbering; a separator is not a row
            continue
        layout.add_line(line, split_line(line) if line.strip() else None)
    return layout
