"""What is waiting, per step, and what has stopped: the facts behind `status`, `/healthz`,
`/metrics` and the dashboard, read from the work states (worker/reconciler.py) with indexed
queries (one count and one minimum per step).

`backlog(session, settings)` answers: per step, how many items wait, how many have waited past
the step's lease (the reconciler hands those out again), the oldest one's age; every item the
reconciler gave up on and every notice that failed or whose outcome is unknown, with the one
command that retries it; when the reconciler last ran.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from models import Health, Notice, Snapshot
from models.types import utcnow
from notifications.labels import error_said, label
from worker.reconciler import STAGES, describe

LIST_LIMIT = 50  # failed and unknown items listed (the counts are exact)


@dataclass
class StepBacklog:
    step: str  # poll | fetch | parse | ocr | evaluate | plan | deliver
    label: str  # Chinese: 待抓取 …
    waiting: int
    overdue: int  # waited past the lease: the reconciler's next sweep hands them out again
    oldest_seconds: float | None  # age of the oldest waiting item (since it became due)
    failed: int  # given up (notices: failed, not acknowledged)


@dataclass
class StuckItem:
    kind: str  # report | snapshot | evaluation | notice
    id: int
    step: str
    state: str  # failed | unknown
    reason: str  # as stored (English: "OperationalError: …", what the provider said), for the API and logs
    since: str | None  # ISO, UTC
    attempts: int
    agency: str
    what: str  # Chinese words naming the work
    command: str  # the one command that retries it
    reason_said: str = ""  # the reason for people (notifications/labels.py error_said)

    def __post_init__(self) -> None:
        self.reason_said = self.reason_said or error_said(self.reason)


@dataclass
class Backlog:
    steps: list[StepBacklog]
    failed: list[StuckItem] = field(default_factory=list)
    unknown: list[StuckItem] = field(default_factory=list)  # notices whose delivery outcome is unknown
    failed_total: int = 0
    unknown_total: int = 0
    reconciled_at: str | None = None  # the reconciler's last run (ISO, UTC); None: never
    reconciler_note: str = ""

    @property
    def waiting(self) -> int:
        return sum(s.waiting for s in self.steps)

    @property
    def overdue(self) -> int:
        return sum(s.overdue for s in self.steps)

    def as_dict(self) -> dict:
        return {**asdict(self), "waiting": self.waiting, "overdue": self.overdue}


def backlog(session: Session, settings, now: datetime | None = None, reference_now: datetime | None = None) -> Backlog:
    """reference_now: the clock notices' retry times are on (Runtime.now(); a pinned test date)."""
    now = now or utcnow()
    reference_now = reference_now or now
    from worker import polls

    count, oldest, late = polls.waiting(session, now, timedelta(seconds=settings.lease("poll")))
    steps = [StepBacklog("poll", label("work_stage", "poll"), count, late, _age(now, oldest), 0)]
    for stage in STAGES:
        model, state = stage.model, getattr(stage.model, stage.state)
        where = [state == stage.waiting] + ([model.via != "ingest"] if stage.kind == "report" else [])
        cutoff = now - timedelta(seconds=settings.lease(stage.name))
        count, oldest = session.exec(select(func.count(), func.min(model.state_since)).where(*where)).one()
        overdue = session.exec(select(func.count()).where(*where, model.state_since < cutoff)).one() if count else 0
        failed = 0 if stage.kind == "snapshot" else session.exec(select(func.count()).where(state == stage.failed)).one()
        steps.append(StepBacklog(stage.name, label("work_stage", stage.name), count, overdue,
                                 _age(now, oldest), failed))
    # One failed state for both snapshot steps: count it under the step it stopped at.
    snap_failed = dict(session.exec(select(Snapshot.parse_status, func.count()).where(Snapshot.work_state == "failed")
                                    .group_by(Snapshot.parse_status)).all())
    by_step = {s.step: s for s in steps}
    by_step["parse"].failed = snap_failed.pop("pending", 0)
    by_step["ocr"].failed = snap_failed.pop("needs_ocr", 0)
    by_step["evaluate"].failed = sum(snap_failed.values())
    steps.append(_deliver(session, settings, now, reference_now))

    out = Backlog(steps=steps)
    out.failed_total = sum(s.failed for s in steps)
    out.failed = _failed_items(session)
    out.unknown_total = session.exec(select(func.count()).where(Notice.status == "unknown",
                                                                Notice.acked_at == None)).one()  # noqa: E711
    out.unknown = [_notice_item(n, "unknown") for n in session.exec(
        select(Notice).where(Notice.status == "unknown", Notice.acked_at == None)  # noqa: E711
        .order_by(Notice.id).limit(LIST_LIMIT))]
    run = session.get(Health, "reconciler")
    if run is not None:
        out.reconciled_at, out.reconciler_note = run.checked_at.isoformat(), run.message
    return out


def _deliver(session: Session, settings, now: datetime, reference_now: datetime) -> StepBacklog:
    due_since = func.coalesce(Notice.next_attempt_at, Notice.created_at)
    count, oldest = session.exec(select(func.count(), func.min(due_since)).where(Notice.status == "pending")).one()
    lease = timedelta(seconds=settings.lease("deliver"))
    overdue = session.exec(select(func.count()).where(
        Notice.status == "pending",
        ((Notice.next_attempt_at == None) & (Notice.created_at < now - lease))  # noqa: E711
        | (Notice.next_attempt_at < reference_now - lease))).one() if count else 0
    failed = session.exec(select(func.count()).where(Notice.status == "failed", Notice.acked_at == None)).one()  # noqa: E711
    return StepBacklog("deliver", label("work_stage", "deliver"), count, overdue, _age(now, oldest), failed)


def _age(now: datetime, oldest: datetime | None) -> float | None:
    if oldest is None:
        return None
    if oldest.tzinfo is None:  # SQLite's min() comes back as a naive string/datetime
        from datetime import timezone

        oldest = oldest.replace(tzinfo=timezone.utc)
    return max(0.0, (now - oldest).total_seconds())


def _failed_items(session: Session) -> list[StuckItem]:
    items: list[StuckItem] = []
    for stage in STAGES:
        if stage.kind == "snapshot" and stage.name != "parse":
            continue  # the snapshot's failed rows are listed once, under the step they stopped at
        model, state = stage.model, getattr(stage.model, stage.state)
        for row in session.exec(select(model).where(state == stage.failed).order_by(model.id).limit(LIST_LIMIT)):
            step = stage.name
            if stage.kind == "snapshot" and row.parse_status != "pending":
                step = "ocr" if row.parse_status == "needs_ocr" else "evaluate"
            agency, what = describe(session, stage.kind, row)
            items.append(StuckItem(stage.kind, row.id, step, "failed", row.last_error,
                                   row.state_since.isoformat() if row.state_since else None, row.attempts,
                                   agency.name if agency else "", what, f"nianbao retry {stage.kind} {row.id}"))
    for notice in session.exec(select(Notice).where(Notice.status == "failed", Notice.acked_at == None)  # noqa: E711
                               .order_by(Notice.id).limit(LIST_LIMIT)):
        items.append(_notice_item(notice, "failed"))
    return items


def _notice_item(notice: Notice, state: str) -> StuckItem:
    # A failed notice is retried like any failed work; one of unknown outcome is re-sent only after
    # asking the recipient (or acknowledged): its own command.
    command = f"nianbao retry notice {notice.id}" if state == "failed" else f"nianbao notices resend {notice.id}"
    return StuckItem("notice", notice.id, "deliver", state, notice.last_error,
                     notice.claimed_at.isoformat() if notice.claimed_at else None, notice.attempts,
                     "", f"{label('notice_kind', notice.kind)}：{notice.subject}", command)


def lines_zh(b: Backlog) -> list[str]:
    """The backlog in Chinese sentences (for `status` and the digest)."""
    from notifications.dates import cn_datetime

    lines = []
    for s in b.steps:
        if s.waiting or s.failed:
            said = f"{s.label} {s.waiting} 项"
            if s.waiting and s.oldest_seconds is not None:
                said += f"，最早的已等待{_duration(s.oldest_seconds)}"
            if s.overdue:
                said += f"，其中 {s.overdue} 项超时（将自动重新派发）"
            if s.failed:
                said += f"；已停止 {s.failed} 项"
            lines.append(said)
    if not lines:
        lines.append("没有等待处理的工作")
    for item in b.failed:
        lines.append(f"已停止：{item.what}（{label('work_stage', item.step)}），原因：{error_said(item.reason)}；"
                     f"处理后运行 {item.command}")
    for item in b.unknown:
        lines.append(f"发送结果未知：{item.what}；核实后运行 {item.command} 重发，或 nianbao notices ack {item.id} 确认")
    lines.append("遗漏工作巡检：" + (f"最近一次 {cn_datetime(b.reconciled_at)}" if b.reconciled_at else "尚未运行"))
    return lines


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f" {int(seconds)} 秒"
    if seconds < 3600:
        return f" {int(seconds // 60)} 分钟"
    if seconds < 86400:
        return f" {int(seconds // 3600)} 小时"
    return f" {int(seconds // 86400)} 天"
