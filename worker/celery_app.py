"""The Celery application: broker from the Settings, late acks, routes and the beat schedule.

State lives in our tables, not in the result backend (there is none). Recovery does not wait
for the broker: the reconciler (beat, every NIANBAO_RECONCILE_SECONDS) hands out again any
work that has waited past its lease. Tasks are acked after they finish (acks_late), so a
message held by a dead worker also comes back after the visibility timeout, a late duplicate
that changes nothing (every step is idempotent). A task whose worker process was killed is
not requeued at once (task_reject_on_worker_lost off): a document that kills its worker would
otherwise kill every worker in turn; the reconciler redoes it, counted, and gives up after
NIANBAO_MAX_ATTEMPTS.
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab
from celery.signals import beat_init, worker_process_init

from config.settings import get_settings



def transport_options(settings) -> dict:
    """Redis: a task held by a dead worker comes back after visibility_timeout. Kombu only looks
    for such tasks every interval × throttle seconds (100 s by default), so a short timeout gets a
    matching sweep, or recovery would wait far longer than the timeout says."""
    vt = settings.visibility_timeout
    options = {"visibility_timeout": vt, "unacked_restore_interval": max(1, min(10, vt // 4)),
               "unacked_restore_throttle": 1 if vt < 600 else 10}
    if settings.broker_key_prefix:
        options["global_keyprefix"] = settings.broker_key_prefix
    return options


settings = get_settings()
app = Celery("nianbao", include=["worker.tasks"])
app.conf.update(
    broker_url=settings.broker_url or "memory://",
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=False,
    # Each child keeps a few messages in reserve (fair scheduling hands them only to an idle
    # child): with 1, a child that finishes waits for the main process to fetch its next
    # message, and the pipeline's short steps ran 22 % slower (bench/pipeline.py, measured
    # when a report took 3.4 tasks; work now travels in lists, 0.08 tasks a report). Reserved messages are unacked: lost with their worker, the
    # reconciler hands their work out again. OCR workers keep 1 (cli: `nianbao worker`).
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
    broker_transport_options=transport_options(settings),
    task_default_queue="work",
    # A slow agency site must not starve scoring or notices: each kind of work has its queue.
    task_routes={
        "nianbao.poll_source": {"queue": "fetch"},
        "nianbao.poll_batch": {"queue": "fetch"},
        "nianbao.fetch_report": {"queue": "fetch"},
        "nianbao.deliver": {"queue": "notify"},
        "nianbao.deliver_pending": {"queue": "notify"},
        # OCR takes seconds a page: scans wait on their own queue, read by their own workers.
        "nianbao.ocr_snapshot": {"queue": "ocr"},
    },
    beat_schedule={
        # Beat also starts a full cycle as it starts (below): a deployment started at noon knows
        # before the next morning which reports are missing.
        # Each source's own next_poll_at (calendar, jitter, backoff) decides; this only looks often.
        "poll-due-sources": {"task": "nianbao.poll_due", "schedule": 300.0},
        "reconcile": {"task": "nianbao.reconcile", "schedule": settings.reconcile_seconds},
        "deliver-pending-notices": {"task": "nianbao.deliver_pending", "schedule": 120.0},
        "ocr-pending": {"task": "nianbao.ocr_pending", "schedule": 900.0},
        "refresh-expectations": {"task": "nianbao.refresh_expectations", "schedule": crontab(hour=7, minute=50)},
        "check-deadlines": {"task": "nianbao.check_deadlines", "schedule": crontab(hour=8, minute=0)},
        "follow-up": {"task": "nianbao.follow_up", "schedule": crontab(hour=8, minute=30)},
        "digest": {"task": "nianbao.send_digest", "schedule": crontab(hour=8, minute=45)},
    },
    timezone="Asia/Shanghai",
)


@worker_process_init.connect
def _fresh_connections(**_kwargs) -> None:
    # A forked child must not reuse the parent's database connections.
    from models.db import dispose_engines

    dispose_engines()


@beat_init.connect
def _first_cycle(sender=None, **_kwargs) -> None:
    # The periodic entries first run an interval (or a day) after beat starts; a full cycle now
    # polls what is due and checks deadlines at once. Idempotent: a restarted beat repeats it harmlessly.
    app.send_task("nianbao.cycle", args=[{"by": "beat"}])
