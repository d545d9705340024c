"""Where table readings are collected: fields, where, doubtful and problems.

The table mappers (``apply_table``, ``active_table``, ``appeals_table``) call
``Sink.take_row`` for each row they recognise; the sink stores numbers under their keys,
notes where each was read, and summarises problems once per table rather than once per
cell (a report with 150 blank cells gets one ``blank_cells`` entry, not 150).

This module must not match labels; it only records readings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from documents.rows import Fit


def _chinese(text: str | None) -> bool:
    """A reason written for a person (rows.fit's, cells.UNREAD_REASON) is shown as it is."""
    return bool(text) and "\u4e00" <= text[0] <= "\u9fff"


@dataclass
class _Tally:
    blank: list[str] = field(default_factory=list)  # "label / column" of blank cells
    blank_keys: list[str] = field(default_factory=list)  # their field keys (rules may count them as 0)
    extra: list[tuple[str, int, int, int]] = field(default_factory=list)  # label, line, given, k
    differ: int = 0
    short: list[tuple[str, int, int, int]] = field(default_factory=list)
    placed: list[tuple[str, int, int, int]] = field(default_factory=list)
    runs: int = 0  # rows whose numbers ran together and were cut into columns


@dataclass
class Sink:
    fields: dict[str, int | float] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    doubtful: dict[str, str] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)
    tallies: dict[str, _Tally] = field(default_factory=dict)

    def take_row(self, *, section: str, label: str, line: int, result: Fit, keys: Sequence[str],
                 columns: Sequence[str], wan_yuan: Sequence[int] = ()) -> None:
        """Record one table row. ``wan_yuan``: positions whose column is in 万元."""
        tally = self.tallies.setdefault(section, _Tally())
        k = len(keys)
        if result.status == "short":
            tally.short.append((label, line, result.given, k))
            return
        if result.status.startswith("extra"):
            tally.extra.append((label, line, result.given, k))
        if result.status == "short_placed":
            tally.placed.append((label, line, result.given, k))
        if result.status.startswith("run"):
            tally.runs += 1
        for i, (key, value) in enumerate(zip(keys, result.values)):
            if i in result.doubtful and key not in self.fields:
                self.doubtful[key] = (
                    f"{result.reason}（表{section} {label} / {columns[i]}）" if _chinese(result.reason) else
                    f"{result.reason} ({section} {label}, line {line}); not read" if result.reason else
                    f"row has {result.given} values for {k} columns and the readings differ"
                    f" ({section} {label}, line {line})" if result.status != "short_placed" else
                    f"row has {result.given} values for {k} columns (blank cells not visible); this column"
                    f" cannot be placed ({section} {label}, line {line}); not read")
            if value.kind != "number" or key in self.fields:
                if value.kind == "blank":
                    tally.blank.append(f"{label} / {columns[i]}")
                    if key not in self.fields:
                        tally.blank_keys.append(key)
                continue
            number = value.number
            if i in wan_yuan and value.unit == "元":
                # The column is in 万元 but the cell says 元: convert, and say so.
                number = round(number / 10000, 6)
                self.problems.append({"kind": "unit", "where": f"{section} {label}, line {line}",
                                      "detail": f"cell written in 元 ({value.number}元); read as {number} 万元"})
            self.fields[key] = number
            self.where[key] = (f"{section} {label} / {columns[i]}, line {line}" if label
                               else f"{section} {columns[i]}, line {line}")
        if result.doubtful:
            tally.differ += 1

    def finish(self) -> None:
        """Add the per-table summaries to ``problems`` (call once, after all tables)."""
        for section, tally in self.tallies.items():
            if tally.extra:
                (first, l1, given, k), (last, l2, _, _) = tally.extra[0], tally.extra[-1]
                span = first if len(tally.extra) == 1 else f"{first} … {last}"
                lines = f"line {l1}" if l1 == l2 else f"lines {l1}–{l2}"
                verdict = ("the readings differ in some rows (see doubtful)" if tally.differ
                           else "every plausible reading gives the same numbers")
                self.problems.append({"kind": "column_count", "where": f"{section} {span}",
                                      "detail": f"{len(tally.extra)} row(s) have {given} values for {k} columns"
                                                f" ({lines}); {verdict}"})
            if tally.placed:
                (first, l1, _, k), (last, l2, _, _) = tally.placed[0], tally.placed[-1]
                span = first if len(tally.placed) == 1 else f"{first} … {last}"
                self.problems.append({"kind": "column_count", "where": f"{section} {span}",
                                      "detail": f"{len(tally.placed)} row(s) have fewer values than {k} columns"
                                                f" (lines {l1}–{l2}): blank cells the text does not show; only"
                                                f" columns every plausible placement agrees on are read, the others"
                                                f" are doubtful"})
            if tally.short:
                (first, l1, given, k) = tally.short[0]
                self.problems.append({"kind": "column_count", "where": f"{section} {first}, line {l1}",
                                      "detail": f"{len(tally.short)} row(s) could not be read: e.g. {given} values"
                                                f" for {k} columns and no placement adds up"})
            if tally.runs:
                self.problems.append({"kind": "run_together", "where": section,
                                      "detail": f"{tally.runs} row(s) have their numbers run together with no"
                                                f" separator; cut into columns by the template and the table's"
                                                f" identities (fields they leave open are doubtful)"})
            if tally.blank:
                self.problems.append({"kind": "blank_cells", "where": section,
                                      "detail": f"{len(tally.blank)} cell(s) left blank, read as not stated"
                                                f" (not 0), e.g. {tally.blank[0]}",
                                      "keys": list(dict.fromkeys(tally.blank_keys))})
