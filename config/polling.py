"""How often a source is polled: sparse most of the year, dense around the deadlines, jittered.

Reports are due 1月31日 (departments) and 3月31日 (governments), so nianbao polls every
``dense_minutes`` inside the dense windows (by default 01-10..02-15 and 03-10..04-15) and
every ``sparse_minutes`` outside them; each delay is spread by ±``jitter`` so 10,000 sources
polled at once do not stay in lockstep. Defaults come from the Settings; an agency may
override any of them under ``polling:`` in the agencies file (read here, checked with
file:line like the rest of that file).

This module depends on nothing of ours.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

WINDOW = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\.\.(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
POLLING_KEYS = {
    "sparse_minutes": "密集时段以外两次抓取之间的分钟数",
    "dense_minutes": "密集时段内两次抓取之间的分钟数",
    "windows": "密集抓取的时段列表，每项写作 月-日..月-日",
    "jitter": "每次间隔随机浮动的比例（0 到 0.5）",
}


@dataclass(frozen=True)
class PollingPolicy:
    sparse_minutes: int = 360
    dense_minutes: int = 60
    windows: tuple[str, ...] = ("01-10..02-15", "03-10..04-15")
    jitter: float = 0.2

    def dense_on(self, day: date) -> bool:
        mmdd = day.strftime("%m-%d")
        for window in self.windows:
            start, end = window.split("..")
            if (start <= mmdd <= end) if start <= end else (mmdd >= start or mmdd <= end):
                return True
        return False

    def interval(self, day: date) -> timedelta:
        return timedelta(minutes=self.dense_minutes if self.dense_on(day) else self.sparse_minutes)

    def next_delay(self, day: date, rng: random.Random | None = None) -> timedelta:
        base = self.interval(day).total_seconds()
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return timedelta(seconds=max(60.0, base * (1 + spread)))

    def with_overrides(self, overrides: dict | None) -> "PollingPolicy":
        if not overrides:
            return self
        values = {k: v for k, v in overrides.items() if k in POLLING_KEYS}
        if "windows" in values:
            values["windows"] = tuple(values["windows"])
        return replace(self, **values)


def parse_windows(text: str) -> tuple[str, ...]:
    """'01-10..02-15,03-10..04-15' → the windows; raises ValueError naming the bad one."""
    windows = tuple(w.strip() for w in text.split(",") if w.strip())
    for window in windows:
        if not WINDOW.match(window):
            raise ValueError(f"时段“{window}”不是“月-日..月-日”的写法")
    return windows


def read_polling(reader, node, where: str) -> dict:
    """The ``polling:`` mapping of one agency in the agencies file; problems go to the reader."""
    keys = reader.mapping(node, f"{where}的 polling", POLLING_KEYS)
    out: dict = {}
    for key in ("sparse_minutes", "dense_minutes"):
        if key in keys:
            value = keys[key].value
            if not str(value).isdigit() or int(value) < 1:
                reader.problem(keys[key], f"{where}的 polling 中 {key} 应是不小于 1 的整数（分钟数），而不是“{value}”",
                               f"写作如 {key}: 60")
            else:
                out[key] = int(value)
    if "jitter" in keys:
        try:
            jitter = float(keys["jitter"].value)
            if not 0 <= jitter <= 0.5:
                raise ValueError
            out["jitter"] = jitter
        except (TypeError, ValueError):
            reader.problem(keys["jitter"], f"{where}的 polling 中 jitter 应是 0 到 0.5 之间的数",
                           "写作如 jitter: 0.2")
    if "windows" in keys:
        windows = reader.texts(keys["windows"], f"{where}的 polling 中 windows")
        bad = [w for w in windows if not WINDOW.match(w)]
        for w in bad:
            reader.problem(keys["windows"], f"{where}的 polling 中时段“{w}”不是“月-日..月-日”的写法",
                           "写作如 - 01-10..02-15")
        if not bad:
            out["windows"] = windows
    return out
