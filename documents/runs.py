"""Rows whose numbers run together ("5000005" for 5 0 0 0 0 0 5): every reading, and the one
the table's own identities leave.

Crawlers and "text version" pages flatten a Word table into text with nothing between a
row's cells. The digits can then be cut into the row's columns in several ways; the
template says how many columns the row has and what a cell may hold (a count: 0 or a
number without a leading zero; 本年增/减: a sign; an amount: decimals and 元/万元), and
the identities of the tables (report-fields.md) say which cuts a correct report allows:
a row of table 三 adds up to its 总计, per column 一 + 二 = （七）总计 + 四 and （七）总计 is the
sum of the result rows, each group of table 四 adds up to its 总计. Where exactly one
reading satisfies them it is taken; where several do, the fields they disagree on are
doubtful (never guessed); where none does (the report's own figures do not add up), only
what every reading agrees on is read.

This module must not know report keys beyond the row and column names it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import product

from documents.cells import Value, read_cell

MAX_READINGS = 5000  # per row: a run longer than any real row could hold more; give up
MAX_COMBINATIONS = 50000  # joint readings of a table tried before falling back to each row

_COUNT = re.compile(r"(?:0|[1-9]\d*)(?:件|个|条|项)?")
_SIGNED = re.compile(r"[-−－]?(?:0|[1-9]\d*)(?:件|个|条|项)?")
_AMOUNT = re.compile(r"(?:0|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*)(?:\.\d+)?(?:万元|元)?")
GRAMMAR = {"count": _COUNT, "signed": _SIGNED, "amount": _AMOUNT}
RUN_CHARS = re.compile(r"^[\d,.\-−－件个条项万元]+$")


def is_run(text: str, k: int) -> bool:
    """Whether one cell's text holds the numbers of ``k`` > 1 columns run together."""
    text = text.strip()
    return k > 1 and bool(RUN_CHARS.match(text)) and sum(ch.isdigit() for ch in text) >= k


def readings(text: str, kinds: Sequence[str]) -> list[tuple[Value, ...]]:
    """Every way to cut ``text`` into ``len(kinds)`` cells of those kinds (see GRAMMAR);
    an empty list when there are none or more than MAX_READINGS."""
    text = re.sub(r"\s+", "", text)
    if len(kinds) == 1:
        value = read_cell(text)
        return [(value,)] if value.kind == "number" else []
    grammar = [GRAMMAR[k] for k in kinds]
    out: list[tuple[Value, ...]] = []
    memo: dict[tuple[int, int], list[tuple[str, ...]]] = {}

    def cut(pos: int, col: int) -> list[tuple[str, ...]]:
        if col == len(grammar):
            return [()] if pos == len(text) else []
        key = (pos, col)
        if key in memo:
            return memo[key]
        found: list[tuple[str, ...]] = []
        remaining = len(grammar) - col - 1
        for end in range(pos + 1, len(text) - remaining + 1):
            part = text[pos:end]
            if grammar[col].fullmatch(part):
                for rest in cut(end, col + 1):
                    found.append((part, *rest))
                    if len(found) > MAX_READINGS:
                        memo[key] = found
                        return found
        memo[key] = found
        return found

    parts = cut(0, 0)
    if len(parts) > MAX_READINGS:
        return []
    for cells in parts:
        out.append(tuple(read_cell(p) for p in cells))
    return out


def agreed(candidates: Sequence[Sequence[Value]], k: int) -> tuple[list[Value], set[int]]:
    """The values every candidate agrees on, ``UNKNOWN`` elsewhere, and those positions."""
    values: list[Value] = []
    differ: set[int] = set()
    for i in range(k):
        seen = {(c[i].kind, c[i].number) for c in candidates}
        if len(seen) == 1:
            values.append(candidates[0][i])
        else:
            values.append(Value("unknown"))
            differ.add(i)
    return values, differ


def adds_up(values: Sequence[Value]) -> bool:
    """A row of parts and their 总计 last."""
    nums = [v.number or 0 for v in values]
    return sum(nums[:-1]) == nums[-1]


def solve(rows: dict[str, list[tuple[Value, ...]]], fixed: dict[str, Sequence[Value]],
          holds: Callable[[dict[str, Sequence[Value]]], bool]) -> tuple[dict[str, list[tuple[Value, ...]]], bool]:
    """Keep, for each run row, the readings that belong to some reading of the whole table
    satisfying ``holds``. Returns (the kept readings, whether the identities settled it:
    False when no joint reading holds or there were too many to try, in which case every
    row keeps all its own readings)."""
    keys = [k for k, c in rows.items() if len(c) > 1]
    total = 1
    for k in keys:
        total *= len(rows[k])
    if total > MAX_COMBINATIONS:
        return rows, False
    single = {k: c[0] for k, c in rows.items() if len(c) == 1}
    kept: dict[str, set[tuple[Value, ...]]] = {k: set() for k in keys}
    found = False
    for combo in product(*(rows[k] for k in keys)):
        table: dict[str, Sequence[Value]] = {**fixed, **single, **dict(zip(keys, combo))}
        if holds(table):
            found = True
            for k, reading in zip(keys, combo):
                kept[k].add(reading)
    if not found:
        return rows, False
    return {k: ([r for r in c if r in kept[k]] if k in kept else c) for k, c in rows.items()}, True
