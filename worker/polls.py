"""A source's poll as durable work: claimed, taken, done, and redone when its message is lost.

`claim_due` hands out the due sources: each is stamped `poll_claimed_at` (and its next_poll_at
pushed CLAIM_MINUTES on, so the next `poll_due` leaves it alone); its poll is owed until the
source has been polled since (`last_polled_at >= poll_claimed_at`), which the poll itself
records, whatever its outcome. A poll message lost outside a cycle (a killed worker, a Redis
restart) is therefore found by the reconciler (`overdue`) once the poll lease
(`NIANBAO_LEASE_POLL`) has passed, not when the 30-minute claim lapses.

A source is never polled twice at once: a poll batch first *takes* its sources (`take`, a
conditional UPDATE) and polls only those no other poll is running on (started within the lease
and not finished), and, unless forced, only those still owed. A late duplicate of a batch
(the lost one was only slow, the broker redelivered it) thus polls nothing already polled
since its claim; the retry of the same message (its token) may take its own sources again.

After NIANBAO_MAX_ATTEMPTS hand-outs the reconciler gives up on a source for this claim: the
source says why (its status_reason) and it is polled at its next time, like a failed poll.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import select

from models import Source
from models.db import session_scope
from models.types import utcnow
from worker.runtime import Runtime
from worker.steps import Next

log = logging.getLogger(__name__)
CLAIM_MINUTES = 30  # the claim on next_poll_at: poll_due leaves a handed-out source alone meanwhile
GAVE_UP = "多次派发轮询均未完成（处理它的进程可能中途退出），将按原计划时间再轮询"


def _token() -> str:
    return uuid.uuid4().hex[:16]


def batches(rt: Runtime, rows: list[tuple[int, str]], force: bool, token: str) -> list[Next]:
    """(id, url) rows in batches of poll_batch_size, a host's sources together (its per-host limits
    hold across the batch)."""
    from worker.polling import host_of

    rows = sorted(rows, key=lambda r: (host_of(r[1]), r[0]))
    size = rt.settings.poll_batch_size
    return [Next("poll_batch", {"ids": [r[0] for r in rows[i:i + size]], "force": force, "token": token})
            for i in range(0, len(rows), size)]


def claim_due(rt: Runtime, *, all_sources: bool = False) -> list[Next]:
    """Claim the sources whose next poll time has come (every active one with all_sources, which
    also re-checks every recent report) and return their polls."""
    now = utcnow()
    with session_scope(rt.db_url) as session:
        # Claim and list in one statement (UPDATE … RETURNING: PostgreSQL, SQLite ≥ 3.35).
        claim = (update(Source).where(Source.active == True)  # noqa: E712
                 .values(next_poll_at=now + timedelta(minutes=CLAIM_MINUTES), poll_claimed_at=now, poll_attempts=0)
                 .returning(Source.id, Source.url))
        if not all_sources:
            claim = claim.where((Source.next_poll_at == None) | (Source.next_poll_at <= now))  # noqa: E711
        rows = [tuple(r) for r in session.execute(claim)]
        session.commit()
    return batches(rt, rows, all_sources, _token())


def _owed():
    """A source owes the poll it was handed out for: claimed and not polled since."""
    return and_(Source.poll_claimed_at != None,  # noqa: E711
                or_(Source.last_polled_at == None, Source.last_polled_at < Source.poll_claimed_at))  # noqa: E711


def _running(now: datetime, lease: timedelta):
    """A poll of it is under way: started within the lease and not finished."""
    return and_(Source.poll_started_at != None, Source.poll_started_at >= now - lease,  # noqa: E711
                or_(Source.last_polled_at == None, Source.last_polled_at < Source.poll_started_at))  # noqa: E711


def lease(rt: Runtime) -> timedelta:
    return timedelta(seconds=rt.settings.lease("poll"))


def take(rt: Runtime, ids: list[int], *, force: bool, token: str) -> list[int]:
    """The sources of a batch this poll may poll now: active, not being polled by another message,
    and still owed (or force). They are marked as polled by this message from now."""
    if not ids:
        return []
    now = utcnow()
    with session_scope(rt.db_url) as session:
        where = [Source.id.in_(ids), Source.active == True,  # noqa: E712
                 or_(~_running(now, lease(rt)), Source.poll_token == token)]
        if not force:
            where.append(_owed())
        rows = session.execute(update(Source).where(*where).values(poll_started_at=now, poll_token=token)
                               .returning(Source.id).execution_options(synchronize_session=False))
        taken = sorted(r[0] for r in rows)
        session.commit()
    if len(taken) < len(ids):
        log.info("poll batch %s: %d of %d sources polled already or being polled", token, len(ids) - len(taken),
                 len(ids))
    return taken


def poll_batch(rt: Runtime, arg) -> list[Next]:
    """Step poll_batch: take the batch's sources, then poll those (worker.polling.poll_batch)."""
    from worker import polling

    if not isinstance(arg, dict):
        arg = {"ids": list(arg), "force": False}
    force = bool(arg.get("force"))
    ids = take(rt, [int(i) for i in arg.get("ids", [])], force=force, token=str(arg.get("token") or _token()))
    if not ids:
        return []
    return polling.poll_batch(rt, {**arg, "ids": ids})


def overdue(rt: Runtime, now: datetime | None = None) -> tuple[list[Next], list[int]]:
    """The reconciler's part: sources owed a poll for longer than the lease, none running, are
    handed out again (the lease restarts; counted). Returns (the polls, the sources given up)."""
    now = now or utcnow()
    cutoff = now - lease(rt)
    late = [Source.active == True, _owed(), Source.poll_claimed_at < cutoff, ~_running(now, lease(rt))]  # noqa: E712
    with session_scope(rt.db_url) as session:
        gave_up = session.execute(update(Source).where(*late, Source.poll_attempts >= rt.settings.max_attempts)
                                  .values(poll_claimed_at=None, status_reason=GAVE_UP)
                                  .returning(Source.id).execution_options(synchronize_session=False))
        given_up = sorted(r[0] for r in gave_up)
        ids = select(Source.id).where(*late, Source.poll_attempts < rt.settings.max_attempts) \
            .order_by(Source.poll_claimed_at).limit(rt.settings.reconcile_batch)
        rows = [tuple(r) for r in session.execute(
            update(Source).where(Source.id.in_(ids), *late)
            .values(poll_claimed_at=now, poll_attempts=Source.poll_attempts + 1)
            .returning(Source.id, Source.url).execution_options(synchronize_session=False))]
        session.commit()
    if given_up:
        log.warning("reconciler: gave up polling sources %s for this claim", given_up)
    return batches(rt, rows, False, _token()), given_up


def waiting(session, now: datetime, rt_lease: timedelta) -> tuple[int, datetime | None, int]:
    """(sources owed a poll, the oldest claim, how many past the lease) for the backlog."""
    from sqlalchemy import func

    where = [Source.active == True, _owed()]  # noqa: E712
    count, oldest = session.exec(select(func.count(), func.min(Source.poll_claimed_at)).where(*where)).one()
    late = session.exec(select(func.count()).where(*where, Source.poll_claimed_at < now - rt_lease)).one() if count else 0
    return count, oldest, late
