"""Step evaluate: a parsed snapshot + the current ruleset → Evaluation and Findings.

Keyed by (snapshot, ruleset version): the same document under the same rules is scored
once; new rules score it again. Passes are not stored, only what is not a pass.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert
from sqlmodel import select

from documents.report import ParsedReport
from models import Agency, Evaluation, Finding, Report, Snapshot
from models.db import session_scope
from models.types import utcnow
from worker.runtime import Runtime
from worker.steps import Next, enter


def publication_date(report: Report, parsed: dict) -> date | None:
    """The listing's date first (what the portal shows), then the date the page itself states."""
    if report.published_on:
        return report.published_on
    stated = (parsed.get("meta") or {}).get("published")
    try:
        return date.fromisoformat(stated) if stated else None
    except ValueError:
        return None


def previous_report(session, report: Report, year: int | None) -> ParsedReport | None:
    """The same agency's parsed report on the year before (its latest version), for the
    history rules; None when we hold none."""
    if not year:
        return None
    rows = session.exec(select(Report).where(Report.agency_id == report.agency_id, Report.year == year - 1,
                                             Report.latest_snapshot_id != None)  # noqa: E711
                        .order_by(Report.first_seen_at.desc())).all()
    for row in rows:
        snapshot = session.get(Snapshot, row.latest_snapshot_id)
        if snapshot is not None and snapshot.parse_status == "parsed" and snapshot.parsed:
            return ParsedReport.from_json(snapshot.parsed)
    return None


def context_for(session, snapshot: Snapshot):
    """(ParsedReport, rules.Context) of a stored snapshot: what `evaluate`, `rules diff` and
    `rescore` all score, so the three cannot drift apart."""
    from rules import Context

    report = session.get(Report, snapshot.report_id)
    agency = session.get(Agency, report.agency_id)
    parsed = ParsedReport.from_json(snapshot.parsed)
    year = report.year or parsed.meta.get("year")
    ctx = Context(agency_name=agency.name, agency_level=agency.level, year=year,
                  published_on=publication_date(report, snapshot.parsed), deadline_override=agency.deadline,
                  previous=previous_report(session, report, year), rulemaking=agency.rulemaking)
    return parsed, ctx


def evaluate(rt: Runtime, snapshot_id: int) -> list[Next]:
    from rules import evaluate as run_rules

    ruleset = rt.rules.current()
    with session_scope(rt.db_url) as session:
        snapshot = session.get(Snapshot, snapshot_id)
        if snapshot is None:
            return []
        if snapshot.parse_status == "pending":
            return [Next("parse_snapshot", snapshot.id)]  # not read yet (a rescore of a stuck version)
        now = utcnow()
        if snapshot.parse_status != "parsed":
            if snapshot.work_state == "evaluate":
                enter(snapshot, "work_state", "done", now)
                session.add(snapshot)
                session.commit()
            return []
        existing = session.exec(select(Evaluation).where(Evaluation.snapshot_id == snapshot.id,
                                                         Evaluation.ruleset_version == ruleset.version)).first()
        if existing:
            if snapshot.work_state in ("evaluate", "failed"):
                # Scored before, yet owed again (the page went back to this version): planning is owed.
                enter(snapshot, "work_state", "done", now)
                existing.work_state, existing.state_since, existing.attempts = "plan", now, 0
                session.add(snapshot)
                session.add(existing)
                session.commit()
            return [Next("plan_notices", existing.id)]
        report = session.get(Report, snapshot.report_id)
        if report.published_on is None and (snapshot.parsed.get("meta") or {}).get("published"):
            report.published_on = publication_date(report, snapshot.parsed)
            session.add(report)
        parsed, ctx = context_for(session, snapshot)
        result = run_rules(ruleset, parsed, ctx)
        failed = [o for o in result.outcomes if o.status == "fail"]
        unsure = [o for o in result.outcomes if o.status == "not_evaluated"]
        evaluation = Evaluation(snapshot_id=snapshot.id, ruleset_version=ruleset.version, score=result.score,
                                grade=result.grade, failed=len(failed), not_evaluated=len(unsure),
                                coverage=result.coverage, work_state="plan", state_since=now)
        enter(snapshot, "work_state", "done", now)  # in the same transaction as its evaluation
        session.add(snapshot)
        session.add(evaluation)
        session.flush()
        lost: dict[tuple[str, str], float] = {}
        for rule_id, subject, points in result.lost:
            lost[(rule_id, subject)] = lost.get((rule_id, subject), 0) + points
        rows = [dict(points=lost.get((o.rule_id, o.subject), 0), evaluation_id=evaluation.id, rule_id=o.rule_id,
                     subject=o.subject, status=o.status, severity=o.severity, title=o.title, message=o.message,
                     evidence=_jsonable(o.evidence), basis=_jsonable(o.basis)) for o in failed + unsure]
        if rows:  # one executemany, not an ORM round trip a finding
            session.execute(insert(Finding.__table__), rows)
        session.commit()
        return [Next("plan_notices", evaluation.id)]


def _jsonable(value):
    """Evidence may hold dates and tuples; the JSON column wants plain data."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
