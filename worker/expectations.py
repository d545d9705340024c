"""The report each agency owes each year, and where it stands: the expectation model.

``compute`` is a pure function of one agency × year: its reports for that year, its sources
and the reference date. States:

- ``pending``: the deadline has not passed, or it has but no poll has succeeded since;
- ``published`` / ``published_late``: a report for the year is there, judged on the date
  it was published (the stated date, unless that date is earlier than the last poll that
  did not show the report: then the page is backdated and that poll's date counts);
- ``missing``: the deadline has passed, a poll after it succeeded, and no report;
- ``unreachable``: no report and every source is failing now. A site that is down is not
  an agency that failed to publish, so unreachable is never turned into missing.

``refresh`` stores the result in ExpectedReport rows (for `status`, digests, the web later);
``check_deadlines`` and ``status`` can call ``expectation_for`` to share one answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

from sqlmodel import Session, select

from models import Agency, ExpectedReport, Report, Snapshot, Source
from models.types import utcnow


@dataclass
class Expectation:
    year: int
    deadline: date
    state: str  # pending | published | published_late | missing | unreachable
    detail: str = ""
    report_id: int | None = None
    published_on: date | None = None
    stated_published_on: date | None = None
    backdated: bool = False
    ambiguous: bool = False
    candidates: list[str] = field(default_factory=list)


def effective_date(report: Report) -> date | None:
    """The date lateness is judged on: the stated one, unless the page is backdated."""
    if report.backdated and report.visible_after:
        return report.visible_after
    if report.published_on:
        return report.published_on
    if report.visible_after:  # no stated date, but we know when it was not there yet
        return report.first_seen_at.date() if report.first_seen_at else None
    return None


def filed_as_own(reports: list, in_review: set[int]) -> list:
    """The year's reports that count as the agency's: a document waiting for a person because it
    names another agency or year (needs_review) does not make the year ambiguous beside the
    agency's own report, nor hide it; alone, it stands for the year (no missing-report notice)."""
    own = [r for r in reports if r.id not in in_review]
    return own or list(reports)


def compute(year: int, deadline: date, today: date, reports: Iterable[Report],
            sources: Iterable[Source]) -> Expectation:
    reports = [r for r in reports if r.year == year]
    sources = [s for s in sources if s.active]
    if reports:
        dated = [(effective_date(r), r) for r in reports]
        known = sorted((d, r.id) for d, r in dated if d)
        ambiguous = len({r.url for r in reports}) > 1
        best = min(dated, key=lambda dr: (dr[0] is None, dr[0] or date.max))[1]
        published = known[0][0] if known else None
        stated = min((r.published_on for r in reports if r.published_on), default=None)
        backdated = any(r.backdated for r in reports)
        state = "published_late" if published and published > deadline else "published"
        detail = []
        if published and published > deadline:
            detail.append(f"晚{(published - deadline).days}天")
        if not published:
            detail.append("发布日期不详")
        if backdated:
            detail.append(f"页面标注日期{stated}早于此前抓取时尚未发布的日期")
        if ambiguous:
            detail.append(f"同一年度有{len({r.url for r in reports})}个候选报告，需人工确认")
        return Expectation(year, deadline, state, "；".join(detail), None if ambiguous else best.id, published,
                           stated, backdated, ambiguous, sorted({r.url for r in reports}))
    if sources and all(s.status == "failed" for s in sources):
        since = min((s.failed_since for s in sources if s.failed_since), default=None)
        detail = "全部来源抓取失败" + (f"（自{since.date()}起）" if since else "")
        return Expectation(year, deadline, "unreachable", detail)
    if today <= deadline:
        return Expectation(year, deadline, "pending")
    if any(s.status == "ok" and s.last_ok_on and s.last_ok_on > deadline for s in sources):
        return Expectation(year, deadline, "missing", f"已过截止日期{(today - deadline).days}天")
    return Expectation(year, deadline, "pending", "截止日期后尚未成功抓取" if sources else "没有来源")


def expected_year(today: date) -> int:
    return today.year - 1  # reports on Y are due in Y+1


def expectation_for(session: Session, agency: Agency, today: date, year: int | None = None) -> Expectation:
    year = year or expected_year(today)
    return _expectations(session, [agency], today, year)[agency.id]


CHUNK = 500  # agencies read per query (bounded IN lists)


def _expectations(session: Session, agencies: list[Agency], today: date, year: int) -> dict[int, Expectation]:
    """The expectations of many agencies from three queries a chunk, not three an agency (a
    poll batch refreshes hundreds)."""
    from rules import report_deadline

    out: dict[int, Expectation] = {}
    for i in range(0, len(agencies), CHUNK):
        chunk = agencies[i:i + CHUNK]
        ids = [a.id for a in chunk]
        reports: dict[int, list[Report]] = {a: [] for a in ids}
        for r in session.exec(select(Report).where(Report.agency_id.in_(ids), Report.year == year)):
            reports[r.agency_id].append(r)
        in_review = set(session.exec(select(Report.id).join(Snapshot, Snapshot.id == Report.latest_snapshot_id).where(
            Report.agency_id.in_(ids), Report.year == year, Snapshot.parse_status == "needs_review")))
        sources: dict[int, list[Source]] = {a: [] for a in ids}
        for s in session.exec(select(Source).where(Source.agency_id.in_(ids))):
            sources[s.agency_id].append(s)
        for agency in chunk:
            out[agency.id] = compute(year, report_deadline(agency.level, year, agency.deadline), today,
                                     filed_as_own(reports[agency.id], in_review), sources[agency.id])
    return out


def refresh(session: Session, today: date, agency_ids: Iterable[int] | None = None) -> int:
    """Store the current expectation of the given agencies (all active ones by default); returns
    how many changed state. The caller commits."""
    query = select(Agency).where(Agency.active == True)  # noqa: E712
    if agency_ids is not None:
        ids = list(set(agency_ids))
        if not ids:
            return 0
        query = query.where(Agency.id.in_(ids))
    year = expected_year(today)
    agencies = session.exec(query).all()
    rows = {r.agency_id: r for r in session.exec(select(ExpectedReport).where(
        ExpectedReport.year == year, ExpectedReport.agency_id.in_([a.id for a in agencies])))}
    changed = 0
    now = utcnow()
    expectations = _expectations(session, list(agencies), today, year)
    for agency in agencies:
        exp = expectations[agency.id]
        # Every column given: a default_factory costs pydantic an inspect.signature a row.
        row = rows.get(agency.id) or ExpectedReport(agency_id=agency.id, year=year, deadline=exp.deadline,
                                                    state=exp.state, state_since=now, updated_at=now, candidates=[])
        if row.state != exp.state or row.id is None:
            row.state_since, changed = now, changed + 1
        row.deadline, row.state, row.detail, row.report_id = exp.deadline, exp.state, exp.detail, exp.report_id
        row.published_on, row.stated_published_on = exp.published_on, exp.stated_published_on
        row.backdated, row.ambiguous, row.candidates = exp.backdated, exp.ambiguous, exp.candidates
        row.updated_at = now
        session.add(row)
    return changed
