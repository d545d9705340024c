"""Step deliver: send one outbox row, at most once, and record every attempt.

The row is claimed with a conditional UPDATE (pending → sending) so two workers, or a task
run twice, cannot both send it. Each try is a DeliveryAttempt row (time, result, the
provider's error, targets masked). Transient failures go back to pending with a backoff
(NIANBAO_NOTICE_MAX_ATTEMPTS deliveries, about six hours, then the row fails); permanent ones
fail at once. A failed notice is failed work like any other (worker/reconciler.py): the admins
are told, `status` lists it, and `nianbao retry notice ID` (or `--failed`) sends it again. A worker
that dies between claiming and recording leaves the row `sending`; sweep_stale marks it
`unknown` instead of sending again: we say honestly that we do not know, rather than risk a
duplicate notice to a government office.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

from sqlalchemy import insert, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from config.agencies import expand_env
from models import Agency, DeliveryAttempt, Notice
from models.db import session_scope
from models.types import utcnow
from notifications import mask_url, send
from notifications.dates import cn_datetime
from notifications.labels import error_said
from notifications.routing import select_targets
from worker import faultpoints
from worker.errors import TransientError
from worker.runtime import Runtime
from worker.steps import Next

log = logging.getLogger(__name__)
RECORD_TRIES = 6  # 0.5 s doubling: about half a minute to record an answer the provider gave


def backoff(attempts: int) -> timedelta:
    seconds = min(3600, 30 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def targets_for(session: Session, notice: Notice) -> list[str]:
    from worker.planning import office_of

    office = office_of(session)
    if notice.audience == "office":
        entries = office.notify if office else []
    elif notice.audience == "admins":
        entries = (office.admins or office.notify) if office else []
    else:
        agency = session.get(Agency, notice.agency_id)
        entries = agency.notify if agency else []
    return select_targets(entries, notice.kind, notice.severity)


def deliver(rt: Runtime, notice_id: int) -> list[Next]:
    with session_scope(rt.db_url) as session:
        # Read what to send first, claim it, and hold no transaction during the send: a connection
        # lost then must not leave a claimed row that was never sent.
        notice = session.get(Notice, notice_id)
        if notice is None or notice.status != "pending":
            return []
        targets = targets_for(session, notice)
        session.expunge(notice)  # a copy of our own: what the claim returns is kept on it, not written back
        claimed = _claim(session, rt, [notice_id], {notice_id: notice})
        session.commit()
        if not claimed:
            return []  # sent, failed for good, not yet due, or being sent by someone else
        if not targets:
            _record_answers(session, rt, [(notice_id, targets, None)], {notice_id: notice})
            session.commit()
            return []
    attachment = (notice.attachment_name, notice.attachment) if notice.attachment_name else None
    result = send([expand_env(t) for t in targets], notice.subject, notice.body, html=notice.body_html,
                  attachment=attachment)
    faultpoints.hit("after_send")  # the fault suite's window: handed to the provider, outcome not recorded
    return _record(rt, notice_id, targets, result, notice)


GROUP = 8  # notices claimed together (whole reports' notices): a worker killed mid-send holds no more


def deliver_many(rt: Runtime, notice_ids: list[int]) -> list[Next]:
    """deliver for a list of notices (a batch's) in one task, a few reports' notices at a time
    (whole reports, about GROUP notices): they are claimed together in one statement (UPDATE …
    RETURNING, only rows still pending and due: a row another worker claimed or sent is not sent
    again), sent one after the other with no transaction open, and their answers recorded in the
    transaction that claims the next group. So a worker that dies holds at most one group's
    notices `sending` (each swept as unknown, never re-sent by itself, as for a single notice);
    the rest stay pending."""
    with session_scope(rt.db_url) as session:
        notices = {n.id: n for n in session.exec(select(Notice).where(Notice.id.in_(notice_ids),
                                                                     Notice.status == "pending"))}
        agency_ids = {n.agency_id for n in notices.values() if n.audience == "agency"}
        if agency_ids:  # read once, into the session: targets_for finds them there
            session.exec(select(Agency).where(Agency.id.in_(agency_ids))).all()
        targets = {i: targets_for(session, n) for i, n in notices.items()}
    reports: dict[int, list[int]] = {}  # a report's notices together, any other notice alone
    for i in sorted(notices):
        reports.setdefault(notices[i].report_id or -i, []).append(i)
    groups: list[list[int]] = [[]]
    for ids in reports.values():
        if len(groups[-1]) >= GROUP:
            groups.append([])
        groups[-1] += ids
    follow: list[Next] = []
    retry: list[int] = []
    answers: list[tuple] = []
    for group in [*(g for g in groups if g), []]:
        claimed = _record_and_claim(rt, answers, group, notices, follow, retry)
        answers = []
        for notice_id in claimed:
            notice, to = notices[notice_id], targets[notice_id]
            if not to:
                answers.append((notice_id, to, None))
                continue
            attachment = (notice.attachment_name, notice.attachment) if notice.attachment_name else None
            answers.append((notice_id, to, send([expand_env(t) for t in to], notice.subject, notice.body,
                                                html=notice.body_html, attachment=attachment)))
            faultpoints.hit("after_send")  # the fault suite's window: handed to the provider, outcome not recorded
    if retry:
        raise TransientError(f"notices {retry} went back to pending", steps=follow)
    return follow


def _claim(session: Session, rt: Runtime, ids: list[int], notices: dict[int, Notice]) -> list[int]:
    """Claim the notices still pending and due (pending → sending), in one statement; their
    attempts, as claimed, are kept on `notices`."""
    now = rt.now()  # retry times are on the reference clock (a pinned demo/test date moves them too)
    claimed = session.execute(
        update(Notice).where(Notice.id.in_(ids), Notice.status == "pending",
                             (Notice.next_attempt_at == None) | (Notice.next_attempt_at <= now))  # noqa: E711
        .values(status="sending", attempts=Notice.attempts + 1, claimed_at=utcnow())
        .returning(Notice.id, Notice.attempts).execution_options(synchronize_session=False))
    out = []
    for notice_id, attempts in claimed:
        notices[notice_id].attempts, notices[notice_id].status = attempts, "sending"
        out.append(notice_id)
    return sorted(out)


def _record_and_claim(rt: Runtime, answers: list[tuple], group: list[int], notices: dict[int, Notice],
                      follow: list[Next], retry: list[int]) -> list[int]:
    """Record the answers of the notices sent, and claim the next group, in one transaction;
    tried again on a fresh connection for about half a minute (see _record)."""
    for attempt in range(RECORD_TRIES):
        try:
            with session_scope(rt.db_url) as session:
                more, again = _record_answers(session, rt, answers, notices)
                claimed = _claim(session, rt, group, notices) if group else []
                session.commit()
            follow += more
            retry += again
            return claimed
        except OperationalError:
            if attempt == RECORD_TRIES - 1 or not answers:
                raise  # the rows sent stay `sending`: sweep_stale says they are unknown, never sends them twice
            log.warning("notices %s: could not record the outcome, trying again", [a[0] for a in answers],
                        exc_info=True)
            time.sleep(min(8.0, 0.5 * 2 ** attempt))
    return []


def _record(rt: Runtime, notice_id: int, targets: list[str], result, notice: Notice) -> list[Next]:
    """Record what the provider answered. The outcome is known here: a database that drops the
    connection now (a restart, a failover) must not turn a sent notice into one of unknown
    outcome, so recording is tried again, on a fresh connection, for about half a minute."""
    for attempt in range(RECORD_TRIES):
        try:
            with session_scope(rt.db_url) as session:
                follow, retry = _record_answers(session, rt, [(notice_id, targets, result)], {notice_id: notice})
                session.commit()
            if retry:
                raise TransientError(f"notice {notice_id}: {result.error}")
            return follow
        except OperationalError:
            if attempt == RECORD_TRIES - 1:
                raise  # the row stays `sending`: sweep_stale says it is unknown, never sends it twice
            log.warning("notice %s: could not record the outcome, trying again", notice_id, exc_info=True)
            time.sleep(min(8.0, 0.5 * 2 ** attempt))
    return []


def _record_answers(session: Session, rt: Runtime, answers: list[tuple], notices: dict[int, Notice]
                    ) -> tuple[list[Next], list[int]]:
    """The answers (notice id, targets, the provider's result or None for no target) written in
    the session, not committed: each notice's outcome, by an UPDATE of the rows still `sending` (one
    swept as unknown meanwhile, in a very long outage, is left so: the admins have been told),
    and an attempt row each. Returns the admin notices to deliver and the ids gone back to pending."""
    now, follow, retry = utcnow(), [], []
    recorded: set[int] = set()

    def outcome(ids: list[int], **values) -> set[int]:
        rows = session.execute(update(Notice).where(Notice.id.in_(ids), Notice.status == "sending").values(**values)
                               .returning(Notice.id).execution_options(synchronize_session=False))
        return {r[0] for r in rows}

    for kind in sorted({notices[i].kind for i, _, result in answers if result is None}):
        outcome([i for i, _, result in answers if result is None and notices[i].kind == kind],
                status="no_target", last_error=f"no target is configured for {kind} notices")
    sent = [i for i, _, result in answers if result is not None and result.ok]
    if sent:
        recorded |= outcome(sent, status="sent", sent_at=now, last_error="")
    for notice_id, _, result in answers:
        if result is None or result.ok:
            continue
        notice = notices[notice_id]
        if result.permanent or notice.attempts >= rt.settings.notice_max_attempts:
            if outcome([notice_id], status="failed", last_error=result.error):
                recorded.add(notice_id)
                notice.status, notice.last_error = "failed", result.error
                follow += _tell_admins(session, rt, notice)
        elif outcome([notice_id], status="pending", last_error=result.error,
                     next_attempt_at=rt.now() + backoff(notice.attempts)):
            recorded.add(notice_id)
            retry.append(notice_id)
    attempts = [{"notice_id": i, "at": now, "ok": result.ok, "permanent": result.permanent,
                 "targets": ", ".join(mask_url(t) for t in to), "error": result.error}
                for i, to, result in answers if i in recorded]
    if attempts:
        session.execute(insert(DeliveryAttempt.__table__), attempts)
    return follow, retry


def _tell_admins(session: Session, rt: Runtime, notice: Notice) -> list[Next]:
    """A notice that can never be delivered is an admin's problem (a bad address, a bad URL)."""
    if notice.audience == "admins":
        return []  # never alert about the alert: it stays failed and shows in `notices list`
    from worker.planning import add_notice

    admin = add_notice(session, rt, f"admin:failed:{notice.id}:{notice.attempts}:{int(utcnow().timestamp())}", "admin", "admins", None, None, "admin",
                       {"headline": f"通知发送失败：{notice.subject}",
                        "lines": [f"通知编号 {notice.id}，已尝试 {notice.attempts} 次", f"原因：{error_said(notice.last_error)}",
                                  f"请检查收件地址或通知渠道配置，修正后运行 nianbao retry notice {notice.id} 重新发送"
                                  "（nianbao retry --failed 重试全部停止的工作）。"]})
    session.flush()
    return [Next("deliver", admin.id)] if admin else []


def pending_notices(rt: Runtime) -> list[Next]:
    """Pending rows that are due (new, or waiting for a retry) to hand to deliver; stale claims swept first."""
    return due_notices(rt)


def due_notices(rt: Runtime, lease: timedelta = timedelta(0)) -> list[Next]:
    """Pending rows due for `lease` already (new ones since they were written, retries since their
    time came), after the stale claims are swept (with the admin notices that sweep writes)."""
    steps = sweep_stale(rt)
    with session_scope(rt.db_url) as session:
        ids = session.exec(select(Notice.id).where(
            Notice.status == "pending",
            ((Notice.next_attempt_at == None) & (Notice.created_at <= utcnow() - lease))  # noqa: E711
            | (Notice.next_attempt_at <= rt.now() - lease))
            .order_by(Notice.id))
        due = [Next("deliver", i) for i in ids]
    return due + [s for s in steps if s not in due]


UNKNOWN = "the worker stopped between sending and recording; check with the recipient before re-sending"


def sweep_stale(rt: Runtime) -> list[Next]:
    """Claims older than sending_stale_seconds: the worker died mid-send. The notice is marked
    `unknown`, never sent again by itself; the admins hear at once which one and the command that
    re-sends it, and the digest lists it until someone re-sends or acknowledges it."""
    older_than = timedelta(seconds=rt.settings.sending_stale_seconds)
    with session_scope(rt.db_url) as session:
        stale = session.exec(select(Notice).where(Notice.status == "sending",
                                                  Notice.claimed_at < utcnow() - older_than)).all()
        told = []
        for notice in stale:
            swept = session.execute(update(Notice).where(Notice.id == notice.id, Notice.status == "sending")
                                    .values(status="unknown", last_error=UNKNOWN))
            if swept.rowcount != 1:
                continue  # its worker recorded the outcome after all
            session.add(DeliveryAttempt(notice_id=notice.id, ok=False, at=notice.claimed_at or utcnow(),
                                        error="outcome unknown: " + UNKNOWN))
            told.append(_tell_unknown(session, rt, notice))
        session.commit()
        return [Next("deliver", n.id) for n in told if n is not None]


def _tell_unknown(session: Session, rt: Runtime, notice: Notice) -> Notice | None:
    from notifications.labels import label
    from worker.planning import add_notice

    sent_at = cn_datetime(notice.claimed_at) if notice.claimed_at else ""
    return add_notice(
        session, rt, f"admin:unknown:{notice.id}:{notice.attempts}", "admin", "admins", None, None, "admin",
        {"headline": f"通知发送结果未知：{notice.subject}",
         "lines": [f"通知编号 {notice.id}（{label('notice_kind', notice.kind)}，发往{label('audience', notice.audience)}），"
                   f"{sent_at}交给发送渠道后，处理它的进程中途退出，未能记录结果；系统不会自动重发，以免重复发送。",
                   f"请先向接收方核实是否已收到：未收到的，运行 nianbao notices resend {notice.id} 重新发送；"
                   f"已收到的，运行 nianbao notices ack {notice.id} 确认。处理之前，每期监测汇总都会列出这条通知。"]},
        severity="warning")


def resend(rt: Runtime, notice_id: int) -> bool:
    """An admin's decision to try a failed, unknown or unrouted notice again: its attempts from zero
    (its delivery log keeps every earlier one)."""
    with session_scope(rt.db_url) as session:
        done = session.execute(update(Notice).where(Notice.id == notice_id,
                                                    Notice.status.in_(("failed", "unknown", "no_target")))
                               .values(status="pending", next_attempt_at=None, last_error="", attempts=0))
        session.commit()
        return done.rowcount == 1


def masked_targets(session: Session, notice: Notice) -> list[str]:
    return [mask_url(expand_env(t)) for t in targets_for(session, notice)]
