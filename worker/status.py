"""Where every agency stands: the rows behind `nianbao status` (and later the dashboard)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, timezone

from sqlalchemy import func
from sqlmodel import Session, select

from models import Agency, Deficiency, Evaluation, Health, Notice, Report, Snapshot, Source
from models.types import utcnow
from notifications.dates import cn_datetime, duration
from notifications.labels import fetch_reason, label
from worker.expectations import compute, filed_as_own
from worker.planning import expected_year
from worker.polls import GAVE_UP


@dataclass
class AgencyStatus:
    slug: str
    name: str
    level: str
    year: int
    report: str  # title of the report for that year, or ""
    report_url: str
    published_on: str | None
    score: int | None
    grade: str | None
    open_errors: int
    open_warnings: int
    open_other: int
    deadline: str
    # published | late | pending | missing | unreachable | ambiguous | needs_review | unreadable | not_scored |
    # not_fetched | processing (a step of its pipeline is owed: detail says which) | work_failed (given up)
    state: str
    detail: str  # why, in a few words (Chinese: it is shown to the office)
    fetch: str  # ok | failed: reason | new
    region: str = ""
    last_fetch: str | None = None  # when an active source was last polled (ISO, UTC)
    agency_id: int | None = None
    coverage: int | None = None  # percent of the applicable checks (weighted) the rules could evaluate

    def as_dict(self) -> dict:
        # Shallow on purpose: every field is a scalar, and dataclasses.asdict deep-copies
        # (a third of the overview's time with 2,000 rows).
        return {name: getattr(self, name) for name in _FIELDS}


def agency_statuses(session: Session, today: date) -> list[AgencyStatus]:
    """One row per active agency, from a fixed number of queries (not a few per agency: the
    dashboard lists thousands)."""
    from rules import report_deadline

    year = expected_year(today)
    # Only the columns a row needs: whole entities (the JSON columns of Agency, the ORM
    # bookkeeping) cost more than the queries themselves at a few thousand agencies.
    agencies = list(session.exec(select(Agency.id, Agency.slug, Agency.name, Agency.level, Agency.region,
                                        Agency.deadline).where(Agency.active == True)  # noqa: E712
                                 .order_by(Agency.slug)))
    sources: dict[int, list] = defaultdict(list)
    for source in session.exec(select(Source.agency_id, Source.active, Source.status, Source.status_reason,
                                      Source.failed_since, Source.last_ok_on, Source.last_polled_at, Source.id,
                                      Source.next_poll_at)):
        sources[source.agency_id].append(source)
    # Each report with its current snapshot's parse status and newest evaluation, in one query:
    # `IN (<thousands of ids>)` would make the driver parse one placeholder per id.
    current = select(Report.latest_snapshot_id).where(Report.year == year)
    newest = (select(Evaluation.snapshot_id, func.max(Evaluation.id).label("id"))
              .where(Evaluation.snapshot_id.in_(current)).group_by(Evaluation.snapshot_id).subquery())
    reports: dict[int, list] = defaultdict(list)
    for report in session.exec(
            select(Report.id, Report.agency_id, Report.year, Report.url, Report.title, Report.published_on,
                   Report.backdated, Report.visible_after, Report.first_seen_at, Report.latest_snapshot_id,
                   Report.edit_count, Report.status_reason, Report.source_id, Snapshot.parse_status,
                   Snapshot.parse_error,
                   Report.status.label("report_status"), Report.state_since.label("report_since"),
                   Snapshot.work_state.label("snapshot_work"), Snapshot.state_since.label("snapshot_since"),
                   Evaluation.id.label("evaluation_id"), Evaluation.score, Evaluation.grade, Evaluation.coverage,
                   Evaluation.work_state.label("evaluation_work"), Evaluation.state_since.label("evaluation_since"))
            .outerjoin(Snapshot, Snapshot.id == Report.latest_snapshot_id)
            .outerjoin(newest, newest.c.snapshot_id == Report.latest_snapshot_id)
            .outerjoin(Evaluation, Evaluation.id == newest.c.id)
            .where(Report.year == year).order_by(Report.id)):
        reports[report.agency_id].append(report)
    opened: dict[int, dict[str, int]] = defaultdict(dict)
    for agency_id, severity, count in session.exec(
            select(Deficiency.agency_id, Deficiency.severity, func.count())
            .where(Deficiency.year == year, Deficiency.state == "open")
            .group_by(Deficiency.agency_id, Deficiency.severity)):
        opened[agency_id][severity] = count
    rules = session.get(Health, "rules")
    rules_broken = rules is not None and not rules.ok  # as the workers last found the rule files
    now = utcnow()
    return [_row(agency, year, today, report_deadline(agency.level, year, agency.deadline), sources[agency.id],
                 reports[agency.id], opened[agency.id], rules_broken, now) for agency in agencies]


def _row(agency, year, today, deadline, sources, reports, opened, rules_broken: bool, now) -> AgencyStatus:
    in_review = {r.id for r in reports if r.parse_status == "needs_review"}
    reports = filed_as_own(reports, in_review)
    aside = len(in_review) - sum(r.id in in_review for r in reports)  # misfiled documents set aside
    exp = compute(year, deadline, today, reports, sources)
    active = [s for s in sources if s.active]
    polled = max((s.last_polled_at for s in active if s.last_polled_at), default=None)
    failed = [s for s in active if s.status == "failed"]
    fetch = "; ".join(f"failed: {s.status_reason}" for s in failed) or (
        "new" if any(s.status == "new" for s in active) else "ok")
    report = reports[-1] if reports else None
    score = grade = coverage = None
    if exp.ambiguous:
        state, detail = "ambiguous", "；".join(exp.candidates) or exp.detail
    elif report is None:
        state, detail = exp.state, exp.detail  # pending | missing | unreachable, judged by polling's model
    else:
        state = "late" if exp.state == "published_late" else "published"
        detail = exp.detail
        if report.edit_count:
            detail = "；".join(filter(None, [detail, f"发布后修改{report.edit_count}次"]))
        # Where its work stands, from the work states (worker/reconciler.py): a step that has not run
        # yet is work waiting (处理中, since when), one the reconciler gave up on is 处理失败; a reason is
        # named only when it is the reason.
        if report.parse_status is None:  # no snapshot yet
            if report.report_status == "failed":
                state, detail = "work_failed", report.status_reason or "多次未能完成抓取，已停止"
            elif report.report_status == "discovered":
                state, detail = "processing", waited("已发现，等待抓取", report.report_since, now)
            elif report.report_status == "fetch_failed":
                state, detail = "not_fetched", fetch_retry(report, sources)
            else:
                state, detail = "not_fetched", fetch_reason(report.status_reason) or "尚未抓取"
        elif report.parse_status == "needs_review":  # another agency's or year's report: not judged
            state, detail = "needs_review", report.parse_error
        elif report.snapshot_work == "failed":
            step = "读取" if report.parse_status == "pending" else "评分"
            state, detail = "work_failed", f"多次未能完成{step}，已停止自动重试，待管理员处理"
        elif report.parse_status == "pending":  # fetched, never read: nothing says it cannot be
            state, detail = "processing", waited("已抓取，等待读取", report.snapshot_since, now)
        elif report.parse_status == "needs_ocr" and _ocr_on():  # a scan waiting on the ocr queue
            state, detail = "processing", waited("扫描件，等待文字识别", report.snapshot_since, now)
        elif report.parse_status != "parsed":
            state, detail = "unreadable", label("parse_status", report.parse_status)  # the reason stays in the API
        elif report.evaluation_id is None:
            # Scoring waits for rules when there are none (the reconciler does not count it against the item).
            state, detail = (("not_scored", "规则文件有误，未能评分") if rules_broken
                             else ("processing", waited("已读取，等待评分", report.snapshot_since, now)))
        else:
            score, grade = report.score, report.grade
            coverage = percent(report.coverage)
            if report.evaluation_work == "plan":  # scored; its deficiencies and notices are not drawn up yet
                state, detail = "processing", waited("已评分，等待生成整改项和通知", report.evaluation_since, now)
            elif report.evaluation_work == "failed":
                state, detail = "work_failed", "多次未能生成整改项和通知，已停止自动重试，待管理员处理"
    if aside:
        detail = "；".join(filter(None, [detail, f"另有{aside}份文件待人工确认（所载单位或年度不符）"]))
    if any(s.status_reason == GAVE_UP and s.status != "failed" for s in active):
        # The reconciler stopped handing out this source's poll for its claim: said until it is polled again.
        detail = "；".join(filter(None, [detail, f"年报栏目{GAVE_UP}"]))
    return AgencyStatus(
        slug=agency.slug, name=agency.name, level=agency.level, year=year,
        report=(report.title if report else ""), report_url=(report.url if report else ""),
        published_on=report.published_on.isoformat() if report and report.published_on else None,
        score=score, grade=grade, open_errors=opened.get("error", 0), open_warnings=opened.get("warning", 0),
        open_other=sum(v for k, v in opened.items() if k not in ("error", "warning")),
        deadline=exp.deadline.isoformat(), state=state, detail=detail, fetch=fetch, region=agency.region or "",
        last_fetch=polled.isoformat() if polled else None, agency_id=agency.id, coverage=coverage)


def fetch_retry(report, sources) -> str:
    """A report whose fetch failed: why, and when it is fetched again. Not the reconciler's: the
    fetch ran and the site answered (or did not); the report is fetched again when its page is
    next polled successfully, on the site's own schedule (its poll interval, backed off while it
    fails), so a site that is down is not asked again every few minutes."""
    why = f"抓取失败：{fetch_reason(report.status_reason) or '原因未记录'}"
    source = next((s for s in sources if s.id == report.source_id and s.active), None)
    if source is None:
        return f"{why}；其栏目已不再轮询，不会自动重试（处理后运行 nianbao retry report {report.id}）"
    when = f"（{cn_datetime(source.next_poll_at)}）" if source.next_poll_at and source.next_poll_at > utcnow() else ""
    return f"{why}；下次成功轮询该栏目{when}时自动重新抓取（立即重试：nianbao retry report {report.id}）"


def _ocr_on() -> bool:
    from config.settings import get_settings

    return get_settings().ocr


def waited(what: str, since, now) -> str:
    """"已读取，等待评分（已等待 5 分钟）": how long a step has been owed."""
    if since is None:
        return what
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return f"{what}（已等待{duration(max(0.0, (now - since).total_seconds()))}）"


def percent(coverage: float | None) -> int | None:
    """Coverage as a whole percent, rounded down (99.6% is not yet all of it)."""
    return None if coverage is None else int(coverage * 100 + 1e-9)


_FIELDS = tuple(f.name for f in fields(AgencyStatus))


def health(session: Session) -> list[dict]:
    return [{"component": h.component, "ok": h.ok, "message": h.message, "checked_at": h.checked_at.isoformat()}
            for h in session.exec(select(Health).order_by(Health.component))]


def notice_counts(session: Session) -> dict[str, int]:
    return dict(session.exec(select(Notice.status, func.count()).group_by(Notice.status)).all())
