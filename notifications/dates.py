"""Dates the way the office writes them (2026年3月31日), and working-day arithmetic.

Working days follow the State Council holiday schedule via chinese-calendar; past the years
the package knows, it falls back to Monday–Friday and says so, so a notice never claims a
precision it does not have.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar


def cn_date(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return "（未注明）"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.year}年{value.month}月{value.day}日"


def add_working_days(start: date, days: int) -> tuple[date, bool]:
    """The date `days` working days after `start` (start itself not counted).

    Returns (date, holidays_known): holidays_known is False when a year outside the
    package's data was crossed and plain weekdays were counted instead.
    """
    current, counted, known = start, 0, True
    while counted < days:
        current += timedelta(days=1)
        try:
            working = chinese_calendar.is_workday(current)
        except NotImplementedError:
            known = False
            working = current.weekday() < 5
        if working:
            counted += 1
    return current, known
