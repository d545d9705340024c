"""The embedded engine: one process polls, parses, scores and notifies, no broker needed.

Steps go through an in-process FIFO queue instead of Celery, the same step functions in
the same order, so the embedded default and the distributed engine cannot drift apart.
A transient failure is recorded on its row and left for the next cycle; any other error of a
step is recorded on its row too and the cycle goes on. Each cycle starts with the reconciler
(worker/reconciler.py), which hands out again whatever has waited past its lease (a process
killed mid-cycle, a transient failure).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable

from worker import cycle, pipeline
from worker.errors import RulesUnavailable, TransientError
from worker.reconciler import reconcile, record_error
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
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop the engine; the reconciler retries it
            log.exception("step %s(%s) failed", step.step, step.arg)
            record_error(rt, step.step, step.arg, exc)
            report.errors.append(f"{step.step}({step.arg}): {type(exc).__name__}: {exc}")
        report.steps[step.step] += 1
        if progress:  # counted over the whole cycle, not this drain
            done = sum(report.steps.values())
            progress(step.step, done, done + len(queue))


def run_cycle(rt: Runtime, *, all_sources: bool = True, progress: Progress | None = None) -> CycleReport:
    """One full cycle: agencies file → poll → fetch → parse → score → notices → deadlines → delivery."""
    started = time.monotonic()
    report = CycleReport()
    queue: deque[Next] = deque(reconcile(rt).steps)  # what an earlier process (or a lost message) left owing
    begun = cycle.start(rt, all_sources=all_sources)
    queue.extend(begun.polls)
    drain(rt, queue, report, progress)
    steps, errors = cycle.finish(rt, polled=len(begun.source_ids))
    report.errors += errors
    queue.extend(steps)
    drain(rt, queue, report, progress)
    report.seconds = time.monotonic() - started
    return report


def run_forever(rt: Runtime, *, progress: Progress | None = None, stop: Callable[[], bool] = lambda: False) -> None:
    """Scheduler and worker in one process: a cycle over the due sources every minute (each
    cycle begins with the reconciler), and the reconciler alone every NIANBAO_RECONCILE_SECONDS
    in between."""
    while not stop():
        report = run_cycle(rt, all_sources=False, progress=progress)
        log.info("cycle: %s in %.1fs; %d transient failures", dict(report.steps), report.seconds,
                 len(report.transient))
        waited, last_sweep = 0.0, time.monotonic()
        while waited < 60:
            if stop():
                return
            time.sleep(1)
            waited += 1
            if time.monotonic() - last_sweep >= rt.settings.reconcile_seconds:
                drain(rt, deque(reconcile(rt).steps), CycleReport())
                last_sweep = time.monotonic()


def deliver_now(rt: Runtime, notice_id: int) -> None:
    """Deliver one notice in-process (an admin's re-send or digest); how it went is on its row,
    which the caller says in words (cli.notices_cmd)."""
    drain(rt, deque([Next("deliver", notice_id)]), CycleReport())
