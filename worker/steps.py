"""The names of the pipeline steps and the shape of "what to run next"."""

from __future__ import annotations

from typing import NamedTuple


class Next(NamedTuple):
    step: str  # poll_source | fetch_report | parse_snapshot | evaluate | plan_notices | deliver
    arg: int


STEPS = ("poll_source", "fetch_report", "parse_snapshot", "evaluate", "plan_notices", "deliver")


def owed(snapshot) -> list[Next]:
    """The step a snapshot still owes, read from its durable state (never from "the bytes did not
    change": the latest version may still wait to be read or scored)."""
    step = {"parse": "parse_snapshot", "ocr": "ocr_snapshot", "evaluate": "evaluate"}.get(snapshot.work_state)
    return [Next(step, snapshot.id)] if step else []


def enter(row, state_field: str, state: str, now) -> None:
    """Move a work row to a new state: the time it entered it, and no attempts yet."""
    if getattr(row, state_field) != state or row.state_since is None:
        setattr(row, state_field, state)
        row.state_since, row.attempts, row.last_error = now, 0, ""


def error_text(exc: BaseException) -> str:
    """An unexpected error as kept on a work row's last_error, for the admins."""
    return f"{type(exc).__name__}: {exc}"[:2000]
