"""The embedded engine: one process polls, parses, scores and notifies, no broker needed.

Steps go through an in-process FIFO queue instead of Celery, the same step functions in
the same order, so the embedded default and the distributed engine cannot drift apart.
A transient failure is recorded on its row and left for the next cycle.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable

from worker import pipeline
from worker.delivery import pending_notices
from worker.errors import RulesUnavailable, TransientError
from worker.digest import send_digest
from worker.events import notify_poll_events
from worker.followup import follow_up
from worker.planning import check_deadlines
from worker.runtime import Runtime
from worker.steps import Next

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (step name, done, total)


@dataclass
class CycleReport:
    steps: Counter = field(default_factory=Counter)
    transient: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def drain(rt: Runtime, queue: deque[Next], report: CycleReport, progress: Progress | None = None) -> None:
    while queue:
        step = queue.popleft()
        try:
            queue.extend(pipeline.run_step(rt, step.step, step.arg))
        except TransientError as exc:
            report.transient.append(str(exc))
        except RulesUnavailable as exc:
            report.errors.append(f"{step.step}({step.arg}): {exc}")
        report.steps[step.step] += 1
        if progress:  # counted over the whole cycle, not this drain
            done = sum(report.steps.values())
            progress(step.step, done, done + len(queue))


def run_cycle(rt: Runtime, *, all_sources: bool = True, progress: Progress | None = None) -> CycleReport:
    """One full cycle: agencies file → poll → fetch → parse → score → notices → deadlines → delivery."""
    started = time.monotonic()
    report = CycleReport()
    pipeline.refresh_roster(rt)
    pipeline.check_rules(rt)
    queue: deque[Next] = deque(pipeline.due_sources(rt, all_sources=all_sources))
    drain(rt, queue, report, progress)
    pipeline.refresh_expectations(rt)
    try:
        queue.extend(check_deadlines(rt))
    except RulesUnavailable as exc:  # without rules nothing can be judged missing either
        report.errors.append(f"check_deadlines: {exc}")
    queue.extend(follow_up(rt))  # reminders before the correction date, the office copied after it
    queue.extend(notify_poll_events(rt))  # unreachable sites, silent edits, backdated or ambiguous reports
    queue.extend(send_digest(rt))  # only when the last digest is digest_days old
    queue.extend(pending_notices(rt))  # includes retries of notices that failed transiently before
    drain(rt, queue, report, progress)
    report.seconds = time.monotonic() - started
    return report


def run_forever(rt: Runtime, *, progress: Progress | None = None, stop: Callable[[], bool] = lambda: False) -> None:
    """Scheduler and worker in one process: a cycle over the due sources every minute."""
    while not stop():
        report = run_cycle(rt, all_sources=False, progress=progress)
        log.info("cycle: %s in %.1fs; %d transient failures", dict(report.steps), report.seconds,
                 len(report.transient))
        for _ in range(60):
            if stop():
                return
            time.sleep(1)


def deliver_now(rt: Runtime, notice_id: int) -> str:
    """Deliver one notice in-process (an admin's re-send or digest) and say how it went."""
    from models import Notice
    from models.db import session_scope

    report = CycleReport()
    drain(rt, deque([Next("deliver", notice_id)]), report)
    with session_scope(rt.db_url) as session:
        notice = session.get(Notice, notice_id)
        return f"notice {notice_id}: {notice.status}" + (f" ({notice.last_error})" if notice.last_error else "")
