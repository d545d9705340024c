"""The reconciler: the database says what work is owed; the queue only makes it fast.

Every piece of work is a row in a waiting state, since a time (`state_since`):

| step           | owed by                                     | kind (`nianbao retry KIND ID`) |
|----------------|---------------------------------------------|--------------------------------|
| poll_batch     | source claimed, not polled since (polls.py) | (polled again at its next time) |
| fetch_report   | report.status = discovered                  | report                         |
| parse_snapshot | snapshot.work_state = parse                 | snapshot                       |
| ocr_snapshot   | snapshot.work_state = ocr (a scan)          | snapshot                       |
| evaluate       | snapshot.work_state = evaluate              | snapshot                       |
| plan_notices   | evaluation.work_state = plan                | evaluation                     |
| deliver        | notice.status = pending and due             | notice                         |

A step moves its row on in the transaction that records its result, and its successor's row is
born owing the next step, so a lost message (a killed worker, a Redis restart, a failed
enqueue) loses nothing: `reconcile` finds what has waited longer than its step's lease
(`NIANBAO_LEASE_<STEP>`), hands it out again and restarts the lease, counting `attempts`.
After `NIANBAO_MAX_ATTEMPTS` it stops: the row is `failed` with its reason, the admins get a
notice naming the command that retries it, and `nianbao retry` (or `--failed`) sets it owing
again. Every step is idempotent, so a late duplicate of a handed-out step changes nothing.

Notices count deliveries, not hand-outs (worker.delivery: each claim is an attempt, retried with
a backoff of hours, NIANBAO_NOTICE_MAX_ATTEMPTS), and end in the same `failed` state: the admins
are told, `status` lists it, `nianbao retry notice ID` or `--failed` sends it again. A notice whose
worker died mid-send is `unknown`, never re-sent here (worker.delivery.sweep_stale).
A source's poll (worker/polls.py) is owed from its claim; a report whose fetch *failed* (the site
answered with an error, or not at all) is not lost work: it is fetched again by the next good poll
of its page, on the site's schedule (worker/status.py says when).
Runs every `NIANBAO_RECONCILE_SECONDS` from beat and in the embedded loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from models import Agency, Evaluation, Notice, Report, Snapshot
from models.db import session_scope
from models.types import utcnow
from notifications.labels import error_said, label
from worker.errors import RulesUnavailable
from worker.runtime import Runtime
from worker.steps import Next, error_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    name: str  # the lease's name: fetch | parse | ocr | evaluate | plan | deliver
    step: str  # the step (task) it owes
    kind: str  # what `nianbao retry` calls the row
    model: Any
    state: str  # the state column
    waiting: str  # its value while the step is owed
    failed: str = "failed"


STAGES = (
    Stage("fetch", "fetch_report", "report", Report, "status", "discovered"),
    Stage("parse", "parse_snapshot", "snapshot", Snapshot, "work_state", "parse"),
    Stage("ocr", "ocr_snapshot", "snapshot", Snapshot, "work_state", "ocr"),
    Stage("evaluate", "evaluate", "snapshot", Snapshot, "work_state", "evaluate"),
    Stage("plan", "plan_notices", "evaluation", Evaluation, "work_state", "plan"),
)
STEP_DONE = {"poll": "轮询", "fetch": "抓取", "parse": "读取", "ocr": "文字识别", "evaluate": "评分", "plan": "生成通知", "deliver": "发送"}


@dataclass
class Reconciled:
    steps: list[Next] = field(default_factory=list)
    handed: dict[str, int] = field(default_factory=dict)  # stage → items handed out again
    failed: list[tuple[str, int]] = field(default_factory=list)  # (kind, id) given up in this sweep
    gave_up_polls: list[int] = field(default_factory=list)  # sources whose claim was given up (polled at their time)
    at: datetime | None = None


def reconcile(rt: Runtime, now: datetime | None = None) -> Reconciled:
    """One sweep over every step; returns the steps to run (hand them to the queue or run them)."""
    now = now or utcnow()
    out = Reconciled(at=now)
    try:
        rt.rules.current()
        rules_ok = True
    except RulesUnavailable:
        rules_ok = False  # scoring waits for rules: its items neither move nor count attempts
    from worker import polls

    out_steps, out.gave_up_polls = polls.overdue(rt, now)  # lost polls: their sources are still owed
    out.handed["poll"] = sum(len(s.arg["ids"]) for s in out_steps)
    with session_scope(rt.db_url) as session:
        for source_id in out.gave_up_polls:
            notice = _tell_admins_poll(session, rt, source_id, now)
            if notice is not None:
                session.flush()
                out.steps.append(Next("deliver", notice.id))
        for stage in STAGES:
            if stage.name == "evaluate" and not rules_ok:
                continue
            ids = _sweep(session, rt, stage, now, out)
            out.handed[stage.name] = len(ids)
            out_steps += [Next(stage.step, i) for i in ids]
        session.commit()
    out.steps = out_steps + out.steps  # the work first, then the admin notices about what was given up
    from worker.delivery import due_notices

    notices = due_notices(rt, lease=timedelta(seconds=rt.settings.lease("deliver")))
    out.handed["deliver"] = len(notices)
    out.steps += notices
    from worker.digest import owed_digest

    out.steps += owed_digest(rt)  # a digest that waited for the work in flight, once it has settled
    _record_run(rt, out)
    if out.steps or out.failed:
        log.info("reconciler: handed out %s; gave up on %s", out.handed, out.failed)
    return out


def _overdue(rt: Runtime, stage: Stage, now: datetime) -> list:
    """The conditions of a row that owes ``stage``'s step and has waited past its lease."""
    model, state = stage.model, getattr(stage.model, stage.state)
    overdue = [state == stage.waiting, model.state_since < now - timedelta(seconds=rt.settings.lease(stage.name))]
    if stage.kind == "report":
        overdue.append(model.via != "ingest")
    return overdue


def _sweep(session: Session, rt: Runtime, stage: Stage, now: datetime, out: Reconciled) -> list[int]:
    model, overdue = stage.model, _overdue(rt, stage, now)
    # Given up: handed out max_attempts times and still owed after another lease.
    for row in session.exec(select(model).where(*overdue, model.attempts >= rt.settings.max_attempts)
                            .order_by(model.id).limit(rt.settings.reconcile_batch)):
        reason = row.last_error or "多次重新派发后仍未完成（处理该步骤的进程可能中途退出，请查看工作进程日志）"
        setattr(row, stage.state, stage.failed)
        row.last_error, row.state_since = reason, now
        if stage.kind == "report":  # shown in `status`: a sentence; the technical reason stays in last_error
            row.status_reason = f"多次未能完成抓取，已停止（处理后运行 nianbao retry report {row.id}）"
        session.add(row)
        session.flush()
        out.failed.append((stage.kind, row.id))
        notice = _tell_admins(session, rt, stage, row, reason, now)
        if notice is not None:
            session.flush()
            out.steps.append(Next("deliver", notice.id))
    return claim(session, rt, stage, now)


def claim(session: Session, rt: Runtime, stage: Stage, now: datetime) -> list[int]:
    """The ids of the rows that have waited past ``stage``'s lease, claimed: handed out again,
    their lease restarted and an attempt counted in the one UPDATE that finds them, so a slow
    queue gets one more copy per lease, not one a sweep, and two sweeps at once never claim one
    row twice. The caller commits."""
    model, overdue = stage.model, _overdue(rt, stage, now)
    ids = select(model.id).where(*overdue, model.attempts < rt.settings.max_attempts) \
        .order_by(model.state_since).limit(rt.settings.reconcile_batch)
    rows = session.execute(update(model).where(model.id.in_(ids), *overdue)
                           .values(attempts=model.attempts + 1, state_since=now)
                           .returning(model.id).execution_options(synchronize_session=False))
    return sorted(r[0] for r in rows)


def _tell_admins(session: Session, rt: Runtime, stage: Stage, row, reason: str, now: datetime) -> Notice | None:
    from worker.planning import add_notice

    agency, what = describe(session, stage.kind, row)
    command = f"nianbao retry {stage.kind} {row.id}"
    return add_notice(session, rt, f"admin:work-failed:{stage.kind}:{row.id}:{int(now.timestamp())}", "admin", "admins",
               agency, None, "admin",
               {"headline": f"{what}：{STEP_DONE[stage.name]}多次未能完成，已停止自动重试",
                "lines": [f"{label('work_kind', stage.kind)}编号 {row.id}，已自动重新派发 {row.attempts} 次",
                          f"原因：{error_said(reason)}",
                          f"查明原因后运行 {command} 重新执行（nianbao retry --failed 重试全部停止的工作）。"]},
               severity="warning")


def _tell_admins_poll(session: Session, rt: Runtime, source_id: int, now: datetime) -> Notice | None:
    """A source whose poll was handed out max_attempts times without being done: once a day."""
    from models import Source
    from worker.planning import add_notice

    source = session.get(Source, source_id)
    agency = session.get(Agency, source.agency_id) if source else None
    if source is None:
        return None
    day = now.date().isoformat()
    return add_notice(session, rt, f"admin:poll-failed:{source_id}:{day}", "admin", "admins", agency, None, "admin",
                      {"headline": f"{agency.name if agency else ''}的年报栏目（{source.url}）：轮询多次未能完成",
                       "lines": [f"已自动重新派发 {rt.settings.max_attempts} 次，处理它的进程可能每次都中途退出。",
                                 "该栏目将在原定的下次轮询时间再轮询；请查看工作进程日志找出原因。"]},
                      severity="warning")


def describe(session: Session, kind: str, row) -> tuple[Agency | None, str]:
    """(agency, a few Chinese words naming the work) of a report, snapshot or evaluation."""
    if kind == "evaluation":
        row = session.get(Snapshot, row.snapshot_id)
        kind = "snapshot"
    report = session.get(Report, row.report_id) if kind == "snapshot" else row
    agency = session.get(Agency, report.agency_id) if report else None
    name = agency.name if agency else ""
    year = f"{report.year}年" if report and report.year else ""
    return agency, f"{name}{year}年报（{report.url}）" if report else f"{label('work_kind', kind)} {row.id}"


def _record_run(rt: Runtime, out: Reconciled) -> None:
    from worker.pipeline import record_health

    handed = sum(out.handed.values())
    record_health(rt, "reconciler", True, f"handed out {handed} ({', '.join(f'{k} {v}' for k, v in out.handed.items() if v) or 'nothing'})"
                  f"; gave up on {len(out.failed)}")


# ---------------------------------------------------------------- by hand: `nianbao retry`

RETRY_KINDS = ("report", "snapshot", "evaluation", "notice")


def retry(rt: Runtime, kind: str, item_id: int) -> list[Next] | None:
    """Set a failed (or waiting) item owing its step again, attempts from zero; the step to run
    now. None when there is no such item or nothing it could redo."""
    now = utcnow()
    with session_scope(rt.db_url) as session:
        if kind == "notice":
            from worker.delivery import resend

            return [Next("deliver", item_id)] if resend(rt, item_id) else None
        model = {"report": Report, "snapshot": Snapshot, "evaluation": Evaluation}[kind]
        row = session.get(model, item_id)
        if row is None:
            return None
        if kind == "report":
            if row.status not in ("failed", "discovered", "fetch_failed") or row.via == "ingest":
                return None
            row.status, step = "discovered", "fetch_report"
        elif kind == "snapshot":
            if row.parse_status == "pending":
                row.work_state, step = "parse", "parse_snapshot"
            elif row.parse_status == "needs_ocr" and row.work_state in ("failed", "ocr") and rt.settings.ocr:
                row.work_state, step = "ocr", "ocr_snapshot"
            elif row.parse_status == "parsed" and row.work_state in ("failed", "evaluate"):
                row.work_state, step = "evaluate", "evaluate"
            else:
                return None
        else:
            if row.work_state not in ("failed", "plan"):
                return None
            row.work_state, step = "plan", "plan_notices"
        row.state_since, row.attempts, row.last_error = now, 0, ""
        session.add(row)
        session.commit()
        return [Next(step, item_id)]


def failed_items(session: Session) -> list[tuple[str, int]]:
    """(kind, id) of every piece of work the reconciler gave up on, and every notice that failed."""
    items = [("report", i) for i in session.exec(select(Report.id).where(Report.status == "failed"))]
    items += [("snapshot", i) for i in session.exec(select(Snapshot.id).where(Snapshot.work_state == "failed"))]
    items += [("evaluation", i) for i in session.exec(select(Evaluation.id).where(Evaluation.work_state == "failed"))]
    items += [("notice", i) for i in session.exec(select(Notice.id).where(Notice.status == "failed",
                                                                          Notice.acked_at == None))]  # noqa: E711
    return sorted(items, key=lambda item: (RETRY_KINDS.index(item[0]), item[1]))


def record_error(rt: Runtime, step: str, arg, exc: BaseException) -> None:
    """An unexpected error of a step, kept on its row for the admins (the reconciler retries the
    step after its lease and gives up after max_attempts with this reason). Never raises."""
    model = {"fetch_report": Report, "parse_snapshot": Snapshot, "ocr_snapshot": Snapshot, "evaluate": Snapshot,
             "plan_notices": Evaluation}.get(step)
    if model is None or not isinstance(arg, int):
        return
    message = error_text(exc)
    try:
        with session_scope(rt.db_url) as session:
            session.execute(update(model).where(model.id == arg).values(last_error=message))
            session.commit()
    except Exception:  # noqa: BLE001 - the database may be what failed; the log has the error
        log.warning("could not record the error of %s(%s)", step, arg, exc_info=True)
