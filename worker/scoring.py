"""Step evaluate: a parsed snapshot + the current ruleset → Evaluation and Findings.

Keyed by (snapshot, ruleset version): the same document under the same rules is scored
once; new rules score it again. Passes are not stored, only what is not a pass.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import insert, update
from sqlmodel import select

from documents.report import ParsedReport
from models import Agency, Evaluation, Finding, Report, Snapshot
from models.db import rows_by_id, session_scope
from models.types import utcnow
from worker.runtime import Runtime
from worker.steps import Next, enter, error_text

log = logging.getLogger(__name__)


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
    found = previous_reports(session, [(report.agency_id, year)]).get((report.agency_id, year))
    return ParsedReport.from_json(found) if found else None


def previous_reports(session, wanted) -> dict[tuple[int, int], dict]:
    """For each (agency id, year): the parsed JSON of that agency's report on the year before
    (the latest one found of those whose latest version was read), in two queries for them all."""
    wanted = {(agency_id, year) for agency_id, year in wanted if year}
    if not wanted:
        return {}
    candidates = session.exec(
        select(Report.agency_id, Report.year, Report.latest_snapshot_id)
        .where(Report.agency_id.in_({a for a, _ in wanted}), Report.year.in_({y - 1 for _, y in wanted}),
               Report.latest_snapshot_id != None)  # noqa: E711
        .order_by(Report.first_seen_at.desc())).all()
    candidates = [c for c in candidates if (c.agency_id, c.year + 1) in wanted]
    parsed = dict(session.exec(select(Snapshot.id, Snapshot.parsed).where(
        Snapshot.id.in_({c.latest_snapshot_id for c in candidates}), Snapshot.parse_status == "parsed")).all()) \
        if candidates else {}
    found: dict[tuple[int, int], dict] = {}
    for c in candidates:
        if parsed.get(c.latest_snapshot_id):
            found.setdefault((c.agency_id, c.year + 1), parsed[c.latest_snapshot_id])
    return found


def report_year(report: Report, parsed: ParsedReport) -> int | None:
    return report.year or parsed.meta.get("year")


def _context(report: Report, agency: Agency, snapshot: Snapshot, year: int | None, previous: dict | None):
    from rules import Context

    return Context(agency_name=agency.name, agency_level=agency.level, year=year,
                   published_on=publication_date(report, snapshot.parsed), deadline_override=agency.deadline,
                   previous=ParsedReport.from_json(previous) if previous else None, rulemaking=agency.rulemaking)


def context_for(session, snapshot: Snapshot):
    """(ParsedReport, rules.Context) of a stored snapshot: what `evaluate`, `rules diff` and
    `rescore` all score, so the three cannot drift apart."""
    report = session.get(Report, snapshot.report_id)
    agency = session.get(Agency, report.agency_id)
    parsed = ParsedReport.from_json(snapshot.parsed)
    year = report_year(report, parsed)
    previous = previous_reports(session, [(report.agency_id, year)]).get((report.agency_id, year))
    return parsed, _context(report, agency, snapshot, year, previous)


def evaluate(rt: Runtime, snapshot_id: int) -> list[Next]:
    return _evaluate(rt, [snapshot_id], alone=True)


def evaluate_many(rt: Runtime, snapshot_ids: list[int]) -> list[Next]:
    """A list of snapshots scored in one session: each one as evaluate scores it, an item that
    fails keeping its error on its row (its scoring still owed) while the rest are written
    together. A database error fails the whole list."""
    return _evaluate(rt, snapshot_ids, alone=False)


def _evaluate(rt: Runtime, snapshot_ids: list[int], *, alone: bool) -> list[Next]:
    """Score the snapshots: their rows loaded a table at a time, the rules run on each, every
    evaluation and finding written in a few statements and one commit. ``alone``: an item's
    unexpected error is raised (the single step, whose caller records it); otherwise it is
    logged and kept as that row's last_error."""
    ids = list(dict.fromkeys(snapshot_ids))
    try:
        ruleset = rt.rules.current()
    except Exception as exc:
        if alone:
            raise
        _failed(rt, ids, exc)
        return []
    with session_scope(rt.db_url) as session:
        snapshots = rows_by_id(session, Snapshot, ids)
        now = utcnow()
        steps: dict[int, list[Next]] = {}
        todo: list[Snapshot] = []
        for snapshot in (snapshots[i] for i in ids if i in snapshots):
            if snapshot.parse_status == "pending":
                steps[snapshot.id] = [Next("parse_snapshot", snapshot.id)]  # not read yet (a rescore of a stuck version)
            elif snapshot.parse_status != "parsed":
                if snapshot.work_state == "evaluate":
                    enter(snapshot, "work_state", "done", now)
            else:
                todo.append(snapshot)
        existing = {e.snapshot_id: e for e in session.exec(select(Evaluation).where(
            Evaluation.snapshot_id.in_([s.id for s in todo]), Evaluation.ruleset_version == ruleset.version))} \
            if todo else {}
        for snapshot in todo:
            if snapshot.id in existing:
                found = existing[snapshot.id]
                if snapshot.work_state in ("evaluate", "failed"):
                    # Scored before, yet owed again (the page went back to this version): planning is owed.
                    enter(snapshot, "work_state", "done", now)
                    found.work_state, found.state_since, found.attempts = "plan", now, 0
                steps[snapshot.id] = [Next("plan_notices", found.id)]
        todo = [s for s in todo if s.id not in existing]
        reports = rows_by_id(session, Report, {s.report_id for s in todo})
        agencies = rows_by_id(session, Agency, {r.agency_id for r in reports.values()})

        def failed(snapshot: Snapshot, exc: Exception) -> None:
            if alone:
                raise exc
            log.exception("step evaluate(%s) failed", snapshot.id)
            snapshot.last_error = error_text(exc)  # its scoring still owed: the reconciler redoes it

        readings: list[tuple[Snapshot, ParsedReport, int | None]] = []
        for snapshot in todo:
            try:
                parsed = ParsedReport.from_json(snapshot.parsed)
            except Exception as exc:
                failed(snapshot, exc)
                continue
            readings.append((snapshot, parsed, report_year(reports[snapshot.report_id], parsed)))
        previous = previous_reports(session, [(reports[s.report_id].agency_id, year) for s, _, year in readings])
        scored: list[tuple[Snapshot, Evaluation, list[dict]]] = []
        for snapshot, parsed, year in readings:
            report = reports[snapshot.report_id]
            try:
                ctx = _context(report, agencies[report.agency_id], snapshot, year,
                               previous.get((report.agency_id, year)))
                evaluation, findings = _score(ruleset, parsed, ctx, snapshot, now)
            except Exception as exc:
                failed(snapshot, exc)
                continue
            if report.published_on is None and (snapshot.parsed.get("meta") or {}).get("published"):
                report.published_on = ctx.published_on
            enter(snapshot, "work_state", "done", now)  # in the same transaction as its evaluation
            session.add(evaluation)
            scored.append((snapshot, evaluation, findings))
        session.flush()  # the evaluations' ids, in one INSERT
        rows = [dict(f, evaluation_id=evaluation.id) for _, evaluation, findings in scored for f in findings]
        if rows:  # one executemany, not an ORM round trip a finding
            session.execute(insert(Finding.__table__), rows)
        for snapshot, evaluation, _ in scored:
            steps[snapshot.id] = [Next("plan_notices", evaluation.id)]
        session.commit()
        return [step for i in ids for step in steps.get(i, [])]


def _score(ruleset, parsed: ParsedReport, ctx, snapshot: Snapshot, now) -> tuple[Evaluation, list[dict]]:
    """The rules run on one report: its Evaluation row and its findings' rows (not a pass)."""
    from rules import evaluate as run_rules

    result = run_rules(ruleset, parsed, ctx)
    failed = [o for o in result.outcomes if o.status == "fail"]
    unsure = [o for o in result.outcomes if o.status == "not_evaluated"]
    evaluation = Evaluation(snapshot_id=snapshot.id, ruleset_version=ruleset.version, score=result.score,
                            grade=result.grade, failed=len(failed), not_evaluated=len(unsure),
                            coverage=result.coverage, work_state="plan", state_since=now)
    lost: dict[tuple[str, str], float] = {}
    for rule_id, subject, points in result.lost:
        lost[(rule_id, subject)] = lost.get((rule_id, subject), 0) + points
    rows = [dict(points=lost.get((o.rule_id, o.subject), 0), rule_id=o.rule_id,
                 subject=o.subject, status=o.status, severity=o.severity, title=o.title, message=o.message,
                 evidence=_jsonable(o.evidence), basis=_jsonable(o.basis)) for o in failed + unsure]
    return evaluation, rows


def _failed(rt: Runtime, ids: list[int], exc: Exception) -> None:
    """No rules to score with: the error kept on every snapshot of the list (their scoring still owed)."""
    log.error("step evaluate(%s) failed: %s", ids, error_text(exc))
    with session_scope(rt.db_url) as session:
        session.execute(update(Snapshot).where(Snapshot.id.in_(ids)).values(last_error=error_text(exc)))
        session.commit()


def _jsonable(value):
    """Evidence may hold dates and tuples; the JSON column wants plain data."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
