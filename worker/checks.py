"""Is each part of the system there: the facts `status`, /healthz and /metrics state.

Each is found out when asked, not guessed: the database and the broker by connecting now
(bounded in time); the rules by loading the rule files now (a broken file is named with its
file:line, and whether the workers still have a last good ruleset to score with); the agencies
file and the last full cycle as the last cycle recorded them (Health rows). Machine form here
(`state` words, ISO times); `say` words a check for people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from sqlalchemy import func, text
from sqlmodel import select

from config.urls import mask_service_url as mask_url

from models import Health, Source
from models.db import session_scope
from notifications.dates import cn_datetime, relative
from worker.errors import RulesUnavailable
from worker.runtime import Runtime

BROKER_TIMEOUT = 2.0


@dataclass
class Check:
    component: str  # database | broker | rules | agencies | cycle | polling
    ok: bool
    # ok | unreachable | not_used (embedded: no broker) | broken (a file with problems) | never (not yet run)
    state: str
    detail: str = ""  # the driver's reason, a masked address, a count: for logs and the API
    problems: list[str] = field(default_factory=list)  # file:line lines of a broken file
    at: str | None = None  # when it was last recorded (ISO, UTC), for recorded checks
    count: int | None = None  # rules loaded (broken: the last good ones this process still has)

    def as_dict(self) -> dict:
        return asdict(self)


def _reason(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return first[:200]


def database(db_url: str) -> Check:
    try:
        with session_scope(db_url) as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the answer is "not reachable"
        return Check("database", False, "unreachable", f"{mask_url(db_url)}: {_reason(exc)}")
    return Check("database", True, "ok", mask_url(db_url))


def broker(settings, timeout: float = BROKER_TIMEOUT) -> Check:
    if settings.embedded:
        return Check("broker", True, "not_used", "embedded engine: no broker")
    from kombu import Connection

    try:
        with Connection(settings.broker_url, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - refused, timed out, wrong password: not reachable
        return Check("broker", False, "unreachable", f"{mask_url(settings.broker_url)}: {_reason(exc)}")
    return Check("broker", True, "ok", mask_url(settings.broker_url))


def rules(rt: Runtime) -> Check:
    """The rule files as they are now: loaded (how many rules), or `broken` with every problem at
    its file:line. A process that loaded good rules before keeps scoring with them (count says how
    many); one started since has none and scores nothing until the files are fixed."""
    try:
        ruleset = rt.rules.current()
    except RulesUnavailable as exc:
        return Check("rules", False, "broken", str(rt.rules.directory), problems=_problems(str(exc)))
    if rt.rules.error:
        return Check("rules", False, "broken", str(rt.rules.directory), problems=_problems(rt.rules.error),
                     count=len(ruleset.rules))
    return Check("rules", True, "ok", f"version {ruleset.version}", count=len(ruleset.rules))


def _problems(error: str) -> list[str]:
    """The file:line lines of a RuleFileError's text (its first line only counts them)."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    if len(lines) > 1 and "处问题" in lines[0]:
        lines = lines[1:]
    return lines


def recorded(session, component: str) -> Check:
    """The agencies file or the last full cycle, as last recorded."""
    row = session.get(Health, component)
    if row is None:
        return Check(component, component != "cycle", "never")
    return Check(component, row.ok, "ok" if row.ok else "broken", row.message,
                 problems=[] if row.ok or component == "cycle" else _problems(row.message),
                 at=row.checked_at.isoformat())


def last_poll(session) -> Check:
    """When a source was last polled (beat's periodic polls record no cycle, but are polls)."""
    at = session.exec(select(func.max(Source.last_polled_at))).one()
    if at is None:
        return Check("polling", True, "never")
    if at.tzinfo is None:  # SQLite's max() forgets the column type
        at = at.replace(tzinfo=timezone.utc)
    return Check("polling", True, "ok", at=at.isoformat())


def all_checks(rt: Runtime) -> list[Check]:
    checks = [database(rt.db_url), broker(rt.settings), rules(rt)]
    if checks[0].ok:
        with session_scope(rt.db_url) as session:
            checks += [recorded(session, "agencies"), recorded(session, "cycle"), last_poll(session)]
    return checks


def say(check: Check, now: datetime) -> str:
    """One Chinese sentence (file:line lines follow it as they are: they are the admin's code)."""
    name = {"database": "数据库", "broker": "任务队列", "rules": "规则文件", "agencies": "单位名录",
            "cycle": "上次巡检", "polling": "最近轮询"}[check.component]
    if check.component == "polling":
        return f"{name}：{cn_datetime(check.at)}（{relative(check.at, now)}）" if check.at else f"{name}：尚未轮询任何来源"
    if check.component == "cycle":
        if check.at is None:
            return f"{name}：尚未运行（可运行 nianbao cycle 立即巡检）"
        return (f"{name}：{cn_datetime(check.at)}（{relative(check.at, now)}）完成，{check.detail}"
                if check.ok else f"{name}：{cn_datetime(check.at)}（{relative(check.at, now)}）结束，有问题：{check.detail}")
    if check.component == "database":
        return f"{name}：可以连接" if check.ok else f"{name}：无法连接（{check.detail}）"
    if check.component == "broker":
        if check.state == "not_used":
            return f"{name}：不使用（嵌入式运行，工作在本进程内完成）"
        return (f"{name}：可以连接" if check.ok
                else f"{name}：无法连接（{check.detail}），后台工作进程收不到新工作；请检查 NIANBAO_BROKER_URL 或启动消息队列")
    if check.component == "rules":
        if check.state == "ok":
            return f"{name}：正常，已载入 {check.count} 条规则"
        kept = (f"本进程仍按上次正确的 {check.count} 条规则评分" if check.count
                else "已在运行的工作进程仍按它们上次载入的正确规则评分，此后启动的进程没有规则可用、不评分")
        return f"{name}有误（{kept}）；请修正后运行 nianbao rules check 确认："
    if check.state == "never":
        return f"{name}：尚未读取"
    return (f"{name}：正常（{cn_datetime(check.at)} 读取）" if check.ok
            else f"{name}有误，仍使用上次正确的名录；请修正（nianbao agencies check）：")


def work(rt: Runtime):
    """The backlog (worker/backlog.py) and whether the reconciler is keeping up: its last run is
    `stale` when older than three of its intervals (at least five minutes)."""
    from worker.backlog import backlog

    with session_scope(rt.db_url) as session:
        b = backlog(session, rt.settings, reference_now=rt.now())
    age = None
    if b.reconciled_at:
        age = (datetime.now(timezone.utc) - datetime.fromisoformat(b.reconciled_at)).total_seconds()
    stale = age is None or age > max(300, 3 * rt.settings.reconcile_seconds)
    return b, age, stale


def probe(rt: Runtime) -> dict:
    """/healthz's answer, in machine form: every check, the work waiting per step, and `problems`
    naming what is wrong (`ok` when there is none)."""
    checks = {c.component: c for c in all_checks(rt)}
    problems = [f"{name}_{check.state}" for name, check in checks.items()
                if not check.ok and not (name == "cycle" and check.state == "never")]
    body = {"ok": False, "problems": problems,
            **{name: {k: v for k, v in check.as_dict().items() if k != "component" and v not in (None, [], "")}
               for name, check in checks.items()}}
    if checks["database"].ok:
        b, age, stale = work(rt)
        body["work"] = {s.step: {"waiting": s.waiting, "overdue": s.overdue, "oldest_seconds": s.oldest_seconds,
                                 "failed": s.failed} for s in b.steps}
        body["failed"] = [{"kind": i.kind, "id": i.id, "step": i.step, "reason": i.reason, "since": i.since,
                           "attempts": i.attempts, "retry": i.command} for i in b.failed]
        body["unknown_notices"] = [{"id": i.id, "since": i.since, "resend": i.command} for i in b.unknown]
        body["reconciler"] = {"last_run": b.reconciled_at, "age_seconds": age, "stale": stale}
        problems += (["work_failed"] if b.failed_total else []) + (["work_overdue"] if b.overdue else []) \
            + (["notices_unknown"] if b.unknown_total else []) + (["reconciler_stale"] if stale and b.waiting else [])
    body["ok"] = not problems
    return body
