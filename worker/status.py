"""Where every agency stands: the rows behind `nianbao status` (and later the dashboard)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from models import Agency, Deficiency, Evaluation, Health, Notice, Report, Snapshot, Source
from worker.expectations import expectation_for
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
    year = expected_year(today)
    rows = []
    for agency in session.exec(select(Agency).where(Agency.active == True).order_by(Agency.slug)):  # noqa: E712
        sources = list(session.exec(select(Source).where(Source.agency_id == agency.id, Source.active == True)))  # noqa: E712
        failed = [s for s in sources if s.status == "failed"]
        fetch = "; ".join(f"failed: {s.status_reason}" for s in failed) or (
            "new" if any(s.status == "new" for s in sources) else "ok")
        report = session.exec(select(Report).where(Report.agency_id == agency.id, Report.year == year)
                              .order_by(Report.id.desc())).first()
        opened = dict(session.exec(select(Deficiency.severity, func.count()).where(
            Deficiency.agency_id == agency.id, Deficiency.year == year, Deficiency.state == "open")
            .group_by(Deficiency.severity)).all())
        score = grade = None
        exp = expectation_for(session, agency, today, year)
        deadline = exp.deadline
        if exp.ambiguous:
            state, detail = "ambiguous", "；".join(exp.candidates) or exp.detail
        elif report is None:
            state, detail = exp.state, exp.detail  # pending | missing | unreachable, judged by polling's model
        else:
            snapshot = session.get(Snapshot, report.latest_snapshot_id) if report.latest_snapshot_id else None
            evaluation = None
            if snapshot is not None:
                evaluation = session.exec(select(Evaluation).where(Evaluation.snapshot_id == snapshot.id)
                                          .order_by(Evaluation.id.desc())).first()
            state = "late" if exp.state == "published_late" else "published"
            detail = exp.detail
            if report.edit_count:
                detail = "；".join(filter(None, [detail, f"发布后修改{report.edit_count}次"]))
            if snapshot is None:
                state, detail = "not_fetched", report.status_reason or "尚未抓取"
            elif snapshot.parse_status != "parsed":
                state, detail = "unreadable", f"{snapshot.parse_status}: {snapshot.parse_error}"
            elif evaluation is None:
                state, detail = "not_scored", "没有可用的规则"
            else:
                score, grade = evaluation.score, evaluation.grade
        rows.append(AgencyStatus(
            slug=agency.slug, name=agency.name, level=agency.level, year=year,
            report=(report.title if report else ""), report_url=(report.url if report else ""),
            published_on=report.published_on.isoformat() if report and report.published_on else None,
            score=score, grade=grade, open_errors=opened.get("error", 0), open_warnings=opened.get("warning", 0),
            open_other=sum(v for k, v in opened.items() if k not in ("error", "warning")),
            deadline=deadline.isoformat(), state=state, detail=detail, fetch=fetch))
    return rows


def health(session: Session) -> list[dict]:
    return [{"component": h.component, "ok": h.ok, "message": h.message, "checked_at": h.checked_at.isoformat()}
            for h in session.exec(select(Health).order_by(Health.component))]


def notice_counts(session: Session) -> dict[str, int]:
    return dict(session.exec(select(Notice.status, func.count()).group_by(Notice.status)).all())
