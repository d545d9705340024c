"""The names of the pipeline steps and the shape of "what to run next"."""

from __future__ import annotations

from typing import NamedTuple


class Next(NamedTuple):
    step: str  # poll_source | fetch_report | parse_snapshot | evaluate | plan_notices | deliver
    arg: int


STEPS = ("poll_source", "fetch_report", "parse_snapshot", "evaluate", "plan_notices", "deliver")
