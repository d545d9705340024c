"""Tables whose rows lost their labels: numbers matched to labels by order, or not at all.

A PDF turned into Markdown (or text) by a converter keeps a row whole only when its label
fits on one line of its cell. A row whose label wrapped comes out in two pieces: the
label's lines as text somewhere near the table, its numbers as a row of their own (the
2024 report of 上海市科委 is such a document). Reading each number row as the label line
just before it puts values in the wrong rows (无法提供 1. read as 1 where the report says 4).

What a converter keeps is the order: labels come out in the table's order, and so do the
rows of numbers. So the labels of the rows not read whole (in document order) are paired
with the rows of numbers without a label (in document order), one to one, but only when
there are as many of each and the labels stand in the template's order; otherwise none of
those rows is read, and their fields are doubtful. The caller then checks the table's
identities on the result.

This module must not know report keys: the caller matches labels (``match``) and gives
the template's order of rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from documents.rows import TableRow

_NUMBERED = re.compile(r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|[(（]\s*[一二三四五六七八九十\d]+\s*[)）]|\d+\s*[.、．])")


def orphan(row: TableRow, k: int) -> bool:
    """A row of numbers with no label of its own (at least k - 1 cells: one may be blank)."""
    return not row.labels and row.has_numbers and len(row.value_cells(k)) >= k - 1


def is_shredded(rows: Sequence[TableRow], k: int) -> bool:
    return any(orphan(r, k) for r in rows)


@dataclass
class Pairing:
    pairs: list[tuple[str, str, TableRow]]  # (key, label as written, the row of numbers)
    unsure: list[tuple[str, str]]  # (key, label) of rows that could not be paired with certainty
    reason: str = ""


def pair(rows: Sequence[TableRow], k: int, trusted: set[str], order: Sequence[str],
         match: Callable[[str], str | None]) -> Pairing:
    """Pair labels and rows of numbers (see the module docstring). ``trusted``: keys read
    from whole rows; ``order``: every row key in template order; ``match``: label → key."""
    mentions: list[list] = []  # [label text, open: its next line may continue it], document order
    numbers: list[TableRow] = []
    for row in rows:
        if row.joined or (row.labels and not row.values):
            text = "".join(row.labels)
            if mentions and mentions[-1][1] and not _NUMBERED.match(text):
                mentions[-1][0] += text  # a wrapped label's next line
            else:
                mentions.append([text, True])
            if row.joined:  # the lines before a row of numbers: a whole label, then its numbers
                mentions[-1][1] = False
                if len(row.value_cells(k)) >= k - 1:  # not a stray page number after the label
                    numbers.append(row)
        elif orphan(row, k) or row.labels:
            if orphan(row, k):
                numbers.append(row)
            if mentions:
                mentions[-1][1] = False
    keys: list[tuple[str, str]] = []
    for text, _ in mentions:
        key = match(text)
        if key is not None and key not in trusted and all(key != k2 for k2, _ in keys):
            keys.append((key, text))
    if not numbers:
        return Pairing([], [])
    rank = {key: i for i, key in enumerate(order)}
    in_order = all(rank[a] < rank[b] for (a, _), (b, _) in zip(keys, keys[1:]))
    if len(keys) != len(numbers) or not in_order:
        why = (f"{len(numbers)} row(s) of numbers stand apart from their labels and {len(keys)} label(s)"
               f" are left without numbers" if len(keys) != len(numbers) else
               "the labels left without numbers are not in the table's order")
        return Pairing([], keys, why + ": they cannot be matched with certainty")
    return Pairing([(key, text, row) for (key, text), row in zip(keys, numbers)], [])
