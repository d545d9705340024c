"""Column types shared by the tables."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, TypeDecorator

OFFICE_TZ = ZoneInfo("Asia/Shanghai")  # the office's calendar day decides what "today" is
_pinned: dict[str, date | None] = {"day": None}


def on_day(day: date, real: datetime) -> datetime:
    """`real` moved by whole days so that it falls on `day` in the office's time zone: a pinned
    date keeps the time of day running, and every time recorded lands on that day."""
    return real + timedelta(days=(day - real.astimezone(OFFICE_TZ).date()).days)


def pin_clock(day: date | None) -> None:
    """Pin this process's clock to `day` (the demo's date), or unpin it with None."""
    _pinned["day"] = day


def utcnow() -> datetime:
    """The one clock every recorded time comes from (polled, fetched, sent, claimed …)."""
    real = datetime.now(timezone.utc)
    return on_day(_pinned["day"], real) if _pinned["day"] else real


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on every backend.

    SQLite keeps no offset, so values are normalised to UTC on the way in and marked UTC on
    the way out; PostgreSQL stores timestamptz. Naive datetimes are refused: they are bugs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use timezone-aware datetimes")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value
