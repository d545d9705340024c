"""Publication deadlines of annual reports (条例 Art. 49).

Departments of governments at county level and above publish last year's report by
31 January; the 主管部门 publishes the government's own report by 31 March. Locals may set
stricter dates, given as an "MM-DD" override. These are calendar dates: Art. 49 says
nothing about weekends or holidays (domain.md §3), so no working-day shifting happens here.
Must not read settings or the database; callers pass the override.
"""

from __future__ import annotations

import re
from datetime import date

LEVELS = ("government", "department")
DEFAULT_DEADLINES = {"department": (1, 31), "government": (3, 31)}
_MMDD = re.compile(r"^(\d{2})-(\d{2})$")


def parse_override(override: str) -> tuple[int, int]:
    """"MM-DD" -> (month, day); raises ValueError naming the expected form."""
    match = _MMDD.match(str(override).strip())
    if not match:
        raise ValueError(f"deadline override {override!r} is not MM-DD (e.g. 01-28)")
    month, day = int(match.group(1)), int(match.group(2))
    try:
        date(2024, month, day)  # a leap year, so 02-29 is accepted here
    except ValueError:
        raise ValueError(f"deadline override {override!r} is not a calendar date") from None
    return month, day


def report_deadline(level: str, year: int, override: str | None = None) -> date:
    """Last day to publish the report on ``year`` (it falls in year + 1)."""
    if level not in LEVELS:
        raise ValueError(f"agency level {level!r} is not one of {', '.join(LEVELS)}")
    month, day = parse_override(override) if override else DEFAULT_DEADLINES[level]
    if (month, day) == (2, 29) and not _is_leap(year + 1):
        day = 28  # an override of 02-29 means "end of February"
    return date(year + 1, month, day)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
