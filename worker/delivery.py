"""Step deliver: send one outbox row, at most once.

The row is claimed with a conditional UPDATE (pending → sending) so two workers, or a task
run twice, cannot both send it. The outcome is recorded on the row. A worker that dies
between claiming and recording leaves the row `sending`; sweep_stale marks such rows
`unknown` instead of sending again: we say honestly that we do not know, rather than risk a
duplicate notice to a government office.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from config.agencies import expand_env
from models import Agency, Notice, Office
from models.db import session_scope
from models.types import utcnow
from notifications import send
from worker.errors import TransientError
from worker.runtime import Runtime
from worker.steps import Next

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=10)


def deliver(rt: Runtime, notice_id: int) -> list[Next]:
    with session_scope(rt.db_url) as session:
        claimed = session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.status == "pending")
            .values(status="sending", attempts=Notice.attempts + 1, claimed_at=utcnow()))
        session.commit()
        if claimed.rowcount != 1:
            return []  # sent, failed for good, or being sent by someone else
        notice = session.get(Notice, notice_id)
        if notice.audience == "office":
            office = session.exec(select(Office)).first()
            targets = office.notify if office else []
        else:
            agency = session.get(Agency, notice.agency_id)
            targets = agency.notify if agency else []
        result = send([expand_env(t) for t in targets], notice.subject, notice.body)
        if result.ok:
            notice.status, notice.sent_at, notice.last_error = "sent", utcnow(), ""
        else:
            notice.status = "failed" if result.permanent else "pending"
            notice.last_error = result.error
        session.add(notice)
        session.commit()
        if not result.ok and not result.permanent:
            raise TransientError(f"notice {notice_id}: {result.error}")
        return []


def pending_notices(rt: Runtime) -> list[Next]:
    """Pending rows (new, or waiting for a retry) to hand to deliver; stale claims are swept first."""
    sweep_stale(rt)
    with session_scope(rt.db_url) as session:
        ids = session.exec(select(Notice.id).where(Notice.status == "pending").order_by(Notice.id))
        return [Next("deliver", i) for i in ids]


def sweep_stale(rt: Runtime) -> int:
    with session_scope(rt.db_url) as session:
        result = session.execute(
            update(Notice).where(Notice.status == "sending", Notice.claimed_at < utcnow() - STALE_AFTER)
            .values(status="unknown", last_error="the worker stopped between sending and recording; "
                                                  "check with the recipient before re-sending"))
        session.commit()
        return result.rowcount
