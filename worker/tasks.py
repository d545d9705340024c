"""Celery tasks: thin wrappers that run one step and hand on the steps it returns.

A successor that goes to the same queue is run at once in the same task (parse → evaluate →
plan_notices is one task, not three): each step still commits on its own and returns its
successors, so this only saves the broker round trip, the message and a fresh session per
step. Successors for another queue (deliver, a slow site's fetch) are enqueued, at the end
of the task and also when a later step fails, so that what was committed is handed on.

Only transient errors are retried, with exponential backoff and jitter: a site that is
down, an endpoint refusing, or a unique-key race with another worker (the retry then
finds the row the other worker wrote). A few retries, minutes apart at most: past them the
reconciler (worker/reconciler.py) redoes what is still owed, counted and bounded.

A step commits before its successors are enqueued; an enqueue that fails (the broker down)
is retried briefly, then logged and left to the reconciler, never fatal to the step.
"""

from __future__ import annotations

import logging
from collections import deque

from sqlalchemy.exc import IntegrityError, OperationalError

from models.db import batch_transaction, shared_connection
from worker import faultpoints, pipeline
from worker.celery_app import app
from worker.delivery import pending_notices
from worker.digest import send_digest as plan_digest
from worker.events import notify_poll_events
from worker.followup import follow_up as plan_follow_up
from worker.errors import TransientError
from worker.planning import check_deadlines as plan_deadlines
from worker.reconciler import reconcile as sweep
from worker.reconciler import record_error
from worker.runtime import get_runtime
from worker.steps import Next

log = logging.getLogger(__name__)
# The countdown stays far below the broker's visibility timeout (a retry waits as an unacked message).
RETRY = dict(autoretry_for=(TransientError, IntegrityError, OperationalError), retry_backoff=15,
             retry_backoff_max=300, retry_jitter=True, max_retries=6)
PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0.5, "interval_step": 1.0, "interval_max": 3.0}


def enqueue(steps: list[Next]) -> int:
    """Hand steps to the broker; returns how many could not be (left to the reconciler)."""
    lost = 0
    for step in steps:
        try:
            app.send_task(f"nianbao.{step.step}", args=[step.arg], retry=True, retry_policy=PUBLISH_RETRY)
        except Exception as exc:  # noqa: BLE001 - kombu, redis-py and socket errors alike: the row still owes it
            lost += 1
            log.warning("could not enqueue %s(%s), the reconciler will hand it out: %s: %s",
                        step.step, step.arg, type(exc).__name__, exc)
    return lost


INLINE_STEPS = 20  # steps one task runs in-process before handing the rest to the queue
# Lists: a poll batch's finds are fetched in one task (fetch_reports), and read, scored and
# planned BATCH at a time, a task and a transaction for a list (_run_batch); the notices a
# list planned are delivered in one task, a few reports' at a time (deliver_many).
BATCH = {"fetch_report": 500, "parse_snapshot": 25, "evaluate": 25, "plan_notices": 25, "deliver": 100}
IN_ONE_TRANSACTION = ("parse_snapshot", "evaluate", "plan_notices")


def queue_of(step: str) -> str:
    return app.conf.task_routes.get(f"nianbao.{step}", {}).get("queue", app.conf.task_default_queue)


def coalesce(steps: list[Next]) -> list[Next]:
    """One step's successors as lists where a list is one piece of work: the ids of a batchable
    step together (in chunks of BATCH), the notices it planned as one delivery."""
    out: list[Next] = []
    groups: dict[str, list[int]] = {}
    for step in steps:
        if isinstance(step.arg, int) and step.step in BATCH:
            groups.setdefault(step.step, []).append(step.arg)
        else:
            out.append(step)
    for name, ids in groups.items():
        if len(ids) == 1:  # alone, it runs as it always did
            out.append(Next(name, ids[0]))
            continue
        size = BATCH.get(name, len(ids))
        out += [Next(name, ids[i:i + size]) for i in range(0, len(ids), size)]
    return out


def _run(step: str, arg) -> None:
    if isinstance(arg, list) and step in IN_ONE_TRANSACTION:
        _run_batch(step, [int(i) for i in arg])
        return
    rt = get_runtime()
    queue = queue_of(step)
    todo: deque[Next] = deque([Next(step, arg)])
    handed: list[Next] = []
    ran = 0
    try:
        with shared_connection(rt.db_url):  # one checkout for the task's steps, not one per session
            while todo:
                current = todo.popleft()
                if current.step == "evaluate":
                    # A broken rule file is recorded for `status`; scoring goes on with the last good rules,
                    # and with none at all RulesUnavailable leaves the snapshot unscored (not retried: an
                    # admin must act).
                    pipeline.check_rules(rt)
                try:
                    steps = pipeline.run_step(rt, current.step, current.arg)
                except (TransientError, IntegrityError, OperationalError) as exc:
                    handed += getattr(exc, "steps", [])
                    raise  # retried by Celery, then by the reconciler
                except Exception as exc:
                    record_error(rt, current.step, current.arg, exc)  # the reason the admins read if it stops
                    raise
                ran += 1
                faultpoints.hit(f"after_commit:{current.step}")  # the fault suite's window: committed, not handed on
                for nxt in coalesce(steps):
                    # A list's single leftovers (a transient failure) go to the queue, to be retried there.
                    inline = (queue_of(nxt.step) == queue and ran + len(todo) < INLINE_STEPS
                              and not (isinstance(current.arg, list) and isinstance(nxt.arg, int))
                              and not (isinstance(nxt.arg, list) and nxt.step in IN_ONE_TRANSACTION))
                    (todo if inline else handed).append(nxt)
    finally:
        # What the steps run so far committed is handed on even when a later one fails (its retry
        # starts again at the first step, which finds its work done and returns its successor).
        enqueue(handed + list(todo))


def _run_batch(step: str, ids: list[int]) -> None:
    """A list of snapshots (or evaluations) read, scored and planned in ONE transaction: a step
    with a list function (pipeline.BATCH_FUNCTIONS) runs once for the list, the others item by
    item, each in a savepoint. Either way every item keeps its own durable work_state, attempts
    and last_error: an item that fails leaves its error on its row, its work owed (the reconciler
    redoes it), and the others go on. A transient error (the database, a unique-key race) fails the whole
    batch, which Celery retries; every step is idempotent. Successors on this queue run in the
    same transaction; the others are handed on once it is committed."""
    rt = get_runtime()
    queue = queue_of(step)
    todo: deque[Next] = deque([Next(step, ids)])
    handed: list[Next] = []
    ran: list[str] = []
    with shared_connection(rt.db_url), batch_transaction(rt.db_url):
        while todo:
            current = todo.popleft()
            if current.step == "evaluate":
                pipeline.check_rules(rt)
            successors: list[Next] = []
            if current.step in pipeline.BATCH_FUNCTIONS:  # a list step: it records each item's error itself
                successors += coalesce(pipeline.run_step(rt, current.step, current.arg))
            else:
                for item in current.arg:
                    try:
                        successors += coalesce(pipeline.run_step(rt, current.step, item))
                    except (TransientError, IntegrityError, OperationalError):
                        raise
                    except Exception as exc:  # noqa: BLE001 - one bad item must not lose the batch
                        log.exception("step %s(%s) failed", current.step, item)
                        record_error(rt, current.step, item, exc)
            ran.append(current.step)
            for name in dict.fromkeys(s.step for s in successors):
                ids_of = [i for s in successors if s.step == name and isinstance(s.arg, int) for i in [s.arg]]
                lists = [s for s in successors if s.step == name and isinstance(s.arg, list)]
                if name in IN_ONE_TRANSACTION and queue_of(name) == queue and len(ran) < 8:
                    todo.append(Next(name, ids_of + [i for s in lists for i in s.arg]))
                elif name in BATCH:  # the batch's notices in one delivery task (claimed about eight notices, whole reports, at a time)
                    handed += coalesce([Next(name, i) for i in ids_of + [i for s in lists for i in s.arg]])
                else:
                    handed += lists + [Next(name, i) for i in ids_of]
    for name in ran:
        faultpoints.hit(f"after_commit:{name}")  # the fault suite's window: committed, not handed on
    enqueue(handed)


@app.task(name="nianbao.poll_source", **RETRY)
def poll_source(source_id: int) -> None:
    _run("poll_source", source_id)


@app.task(name="nianbao.poll_batch", **RETRY)
def poll_batch(batch: dict) -> None:
    """A batch of sources ({"ids": [...], "force": bool}) polled concurrently: tasks stay coarse."""
    _run("poll_batch", batch)


@app.task(name="nianbao.refresh_expectations", **RETRY)
def refresh_expectations() -> None:
    """Daily, before check_deadlines: every agency's expected report (pending turns missing with time)."""
    pipeline.refresh_expectations(get_runtime())


@app.task(name="nianbao.fetch_report", **RETRY)
def fetch_report(report_id: int) -> None:
    _run("fetch_report", report_id)


@app.task(name="nianbao.parse_snapshot", **RETRY)
def parse_snapshot(snapshot_id: int) -> None:
    _run("parse_snapshot", snapshot_id)


@app.task(name="nianbao.ocr_snapshot", **RETRY)
def ocr_snapshot(snapshot_id: int) -> None:
    _run("ocr_snapshot", snapshot_id)


@app.task(name="nianbao.ocr_pending")
def ocr_pending() -> None:
    """Beat: scans still waiting for OCR (a lost message) are handed on again."""
    from worker.parsing import ocr_pending as pending

    enqueue(pending(get_runtime()))


@app.task(name="nianbao.evaluate", **RETRY)
def evaluate(snapshot_id: int) -> None:
    _run("evaluate", snapshot_id)


@app.task(name="nianbao.plan_notices", **RETRY)
def plan_notices(evaluation_id: int) -> None:
    _run("plan_notices", evaluation_id)


@app.task(name="nianbao.deliver", **RETRY)
def deliver(notice_id: int) -> None:
    _run("deliver", notice_id)


@app.task(name="nianbao.reconcile")
def reconcile() -> None:
    """Beat, every NIANBAO_RECONCILE_SECONDS: hand out again what has waited past its lease, and
    finish a full cycle whose cycle_finish message was lost."""
    from worker import cycle as cycles

    rt = get_runtime()
    enqueue(sweep(rt).steps + cycles.overdue(rt))


@app.task(name="nianbao.poll_due")
def poll_due() -> None:
    """Beat: re-read the agencies file, then poll every source that is due."""
    rt = get_runtime()
    pipeline.refresh_roster(rt)
    enqueue(pipeline.due_sources(rt))


@app.task(name="nianbao.check_deadlines", **RETRY)
def check_deadlines() -> None:
    enqueue(plan_deadlines(get_runtime()))


@app.task(name="nianbao.deliver_pending")
def deliver_pending() -> None:
    rt = get_runtime()
    enqueue(notify_poll_events(rt) + pending_notices(rt))  # what polling saw is told within minutes


@app.task(name="nianbao.follow_up", **RETRY)
def follow_up() -> None:
    """Daily: reminders before correction dates, the office copied once they pass."""
    enqueue(plan_follow_up(get_runtime()))


@app.task(name="nianbao.send_digest", **RETRY)
def send_digest() -> None:
    """Daily check; a digest goes out when the last one is NIANBAO_DIGEST_DAYS old."""
    enqueue(plan_digest(get_runtime()))


@app.task(name="nianbao.cycle", **RETRY)
def cycle(options: dict | None = None) -> None:
    """A full cycle now (`nianbao cycle`, beat at start): the due sources' polls, then cycle_finish."""
    from worker import cycle as cycles

    rt, all_sources = get_runtime(), bool((options or {}).get("all"))
    enqueue(sweep(rt).steps)  # what lost messages left owing first, as the embedded cycle does
    begun = cycles.start(rt, all_sources=all_sources)
    state = cycles.hold(rt, begun, all_sources)  # the reconciler finishes it if the message below is lost
    enqueue(begun.polls)
    cycle_finish.apply_async(args=[state], countdown=cycles.FINISH_RECHECK_SECONDS)


@app.task(name="nianbao.cycle_finish", **RETRY)
def cycle_finish(state: dict) -> None:
    """The cycle's deadlines, follow-up and deliveries, once its polls are done: until then it comes
    back every few seconds (a message with a countdown, holding no worker). Lost polls are the
    reconciler's (worker/polls.py); a lost cycle_finish too (worker/cycle.py)."""
    from worker import cycle as cycles

    steps = cycles.settle(get_runtime(), state)
    if steps is None:
        cycle_finish.apply_async(args=[state], countdown=cycles.FINISH_RECHECK_SECONDS)
        return
    enqueue(steps)
