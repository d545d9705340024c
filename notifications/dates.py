"""Dates the way the office writes them (2026年3月31日, 3月31日 14:05, 3 小时前), and
working-day arithmetic.

Times are stored in UTC and shown in Beijing time. Asia/Shanghai has kept UTC+8 without
daylight saving since 1991, so a fixed offset is exact for every date we show and does not
depend on the host's time zone or on tzdata being installed.

Working days follow the State Council holiday schedule via chinese-calendar; past the years
the package knows, it falls back to Monday–Friday and says so, so a notice never claims a
precision it does not have.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import chinese_calendar

BEIJING = timezone(timedelta(hours=8), "北京时间")


def _as_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return local(value).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    return local(datetime.fromisoformat(text)).date() if len(text) > 10 else date.fromisoformat(text)


def _as_datetime(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


def local(value: datetime) -> datetime:
    """A stored (UTC) time in Beijing time."""
    return _as_datetime(value).astimezone(BEIJING)


def cn_date(value: date | datetime | str | None) -> str:
    day = _as_date(value)
    if day is None:
        return "（未注明）"
    return f"{day.year}年{day.month}月{day.day}日"


def cn_datetime(value: datetime | str | None, *, year: bool = True) -> str:
    """2026年6月30日 14:05 (Beijing time); "" when there is none."""
    moment = _as_datetime(value)
    if moment is None:
        return ""
    moment = moment.astimezone(BEIJING)
    day = f"{moment.year}年{moment.month}月{moment.day}日" if year else f"{moment.month}月{moment.day}日"
    return f"{day} {moment:%H:%M}"


def relative(value: datetime | str | None, now: datetime) -> str:
    """How long ago, the way people say it: 刚刚, 5 分钟前, 3 小时前, 2 天前, or the date."""
    moment = _as_datetime(value)
    if moment is None:
        return ""
    seconds = (_as_datetime(now) - moment).total_seconds()
    if seconds < 0:
        return cn_datetime(moment)
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{int(seconds // 60)} 分钟前"
    if seconds < 86400:
        return f"{int(seconds // 3600)} 小时前"
    if seconds < 30 * 86400:
        return f"{int(seconds // 86400)} 天前"
    return cn_date(moment)


def duration(seconds: float) -> str:
    """How long, the way people say it: 不到 1 分钟, 5 分钟, 3 小时, 2 天."""
    if seconds < 60:
        return "不到 1 分钟"
    if seconds < 3600:
        return f" {int(seconds // 60)} 分钟"
    if seconds < 86400:
        return f" {int(seconds // 3600)} 小时"
    return f" {int(seconds // 86400)} 天"


def days_phrase(days: int) -> str:
    """A countdown: 还有 5 天 / 今天截止 / 已过 3 天."""
    if days > 0:
        return f"还有 {days} 天"
    if days == 0:
        return "今天截止"
    return f"已过 {-days} 天"


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
