"""Where every agency stands: the rows behind `nianbao status` (and later the dashboard)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from models import Agency, Deficiency, Evaluation, Health, Notice, Report, Snapshot, Source
from worker.expectations import compute
from worker.planning import expected_year


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
    state: str  # published | late | pending | missing | unreachable | ambiguous | unreadable | not_scored | not_fetched
    detail: str  # why, in a few words (Chinese: it is shown to the office)
    fetch: str  # ok | failed: reason | new

    def as_dict(self) -> dict:
        return asdict(self)


def agency_statuses(session: Session, today: date) -> list[AgencyStatus]:
    """One row per active agency, from a fixed number of queries (not a few per agency: the
    dashboard lists thousands)."""
    from rules import report_deadline

    year = expected_year(today)
    agencies = list(session.exec(select(Agency).where(Agency.active == True).order_by(Agency.slug)))  # noqa: E712
    sources: dict[int, list[Source]] = defaultdict(list)
    for source in session.exec(select(Source)):
        sources[source.agency_id].append(source)
    reports: dict[int, list[Report]] = defaultdict(list)
    for report in session.exec(select(Report).where(Report.year == year).order_by(Report.id)):
        reports[report.agency_id].append(report)
    opened: dict[int, dict[str, int]] = defaultdict(dict)
    for agency_id, severity, count in session.exec(
            select(Deficiency.agency_id, Deficiency.severity, func.count())
            .where(Deficiency.year == year, Deficiency.state == "open")
            .group_by(Deficiency.agency_id, Deficiency.severity)):
        opened[agency_id][severity] = count
    latest = {r[-1].latest_snapshot_id for r in reports.values() if r[-1].latest_snapshot_id}
    snapshots = {row.id: row for row in session.exec(  # the parsed JSON stays in the database
        select(Snapshot.id, Snapshot.parse_status, Snapshot.parse_error).where(Snapshot.id.in_(latest)))}
    scores = {}
    for snapshot_id, score, grade in session.exec(
            select(Evaluation.snapshot_id, Evaluation.score, Evaluation.grade)
            .where(Evaluation.snapshot_id.in_(latest)).order_by(Evaluation.id)):
        scores[snapshot_id] = (score, grade)  # the newest evaluation wins
    return [_row(agency, year, today, report_deadline(agency.level, year, agency.deadline), sources[agency.id],
                 reports[agency.id], opened[agency.id], snapshots, scores) for agency in agencies]


def _row(agency, year, today, deadline, sources, reports, opened, snapshots, scores) -> AgencyStatus:
    exp = compute(year, deadline, today, reports, sources)
    active = [s for s in sources if s.active]
    failed = [s for s in active if s.status == "failed"]
    fetch = "; ".join(f"failed: {s.status_reason}" for s in failed) or (
        "new" if any(s.status == "new" for s in active) else "ok")
    report = reports[-1] if reports else None
    score = grade = None
    if exp.ambiguous:
        state, detail = "ambiguous", "；".join(exp.candidates) or exp.detail
    elif report is None:
        state, detail = exp.state, exp.detail  # pending | missing | unreachable, judged by polling's model
    else:
        snapshot = snapshots.get(report.latest_snapshot_id)
        state = "late" if exp.state == "published_late" else "published"
        detail = exp.detail
        if report.edit_count:
            detail = "；".join(filter(None, [detail, f"发布后修改{report.edit_count}次"]))
        if snapshot is None:
            state, detail = "not_fetched", report.status_reason or "尚未抓取"
        elif snapshot.parse_status != "parsed":
            state, detail = "unreadable", f"{snapshot.parse_status}: {snapshot.parse_error}"
        elif report.latest_snapshot_id not in scores:
            state, detail = "not_scored", "没有可用的规则"
        else:
            score, grade = scores[report.latest_snapshot_id]
    return AgencyStatus(
        slug=agency.slug, name=agency.name, level=agency.level, year=year,
        report=(report.title if report else ""), report_url=(report.url if report else ""),
        published_on=report.published_on.isoformat() if report and report.published_on else None,
        score=score, grade=grade, open_errors=opened.get("error", 0), open_warnings=opened.get("warning", 0),
        open_other=sum(v for k, v in opened.items() if k not in ("error", "warning")),
        deadline=exp.deadline.isoformat(), state=state, detail=detail, fetch=fetch)


def health(session: Session) -> list[dict]:
    return [{"component": h.component, "ok": h.ok, "message": h.message, "checked_at": h.checked_at.isoformat()}
            for h in session.exec(select(Health).order_by(Health.component))]


def notice_counts(session: Session) -> dict[str, int]:
    return dict(session.exec(select(Notice.status, func.count()).group_by(Notice.status)).all())
