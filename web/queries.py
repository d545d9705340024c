"""What the pages and the API show, read through models/ and worker/ (never written here
except through the actions in web/actions.py)."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import case, func
from sqlmodel import Session, select

from documents.report import APPLICANT_COLUMNS, SECTION_KEYS
from models import (Agency, Deficiency, DeliveryAttempt, Evaluation, ExpectedReport, Finding, Notice, Office,
                    PollEvent, Report, Silence, Snapshot, Source)
from notifications.labels import LABELS
from rules.fields import APPLY_ROW_LABELS, COLUMN_LABELS as FIELD_COLUMN_LABELS, cell_label
from worker.status import agency_statuses, percent

STATE_LABELS = LABELS["state"]
LEVEL_LABELS = LABELS["level"]
SEVERITY_LABELS = LABELS["severity"]
NOTICE_STATUS_LABELS = LABELS["notice_status"]
SORT_KEYS = ("slug", "name", "level", "region", "state", "score", "errors", "deadline", "last_fetch")
COLUMNS = APPLICANT_COLUMNS
COLUMN_LABELS = tuple(FIELD_COLUMN_LABELS[c] for c in APPLICANT_COLUMNS)
APPLY_ROWS = list(APPLY_ROW_LABELS.items())
SECTION_LABELS = SECTION_KEYS
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
MAX_ID = 2**63 - 1  # ids are 64-bit: a larger one names nothing (and must not reach the driver)


class NotFound(LookupError):
    pass


def silences_active(session: Session, today: date) -> list[Silence]:
    return list(session.exec(select(Silence).where(Silence.until >= today).order_by(Silence.id)))


def overview(session: Session, today: date, *, state: str | None = None, level: str | None = None,
             region: str | None = None, q: str | None = None, sort: str = "slug", desc: bool = False) -> list[dict]:
    """agency_statuses rows, with region, last fetch, countdown, silenced open deficiencies, the
    current report's id, and since when / until when its open deficiencies run."""
    silences = silences_active(session, today)
    statuses = agency_statuses(session, today)
    open_rules: dict[int, set[str]] = {}
    cases: dict[int, tuple] = {}
    report_ids: dict[int, int] = {}
    if statuses:
        year = statuses[0].year
        if silences:
            for agency_id, rule_id in session.exec(select(Deficiency.agency_id, Deficiency.rule_id).where(
                    Deficiency.year == year, Deficiency.state == "open",
                    Deficiency.rule_id.in_({s.rule_id for s in silences}))):
                open_rules.setdefault(agency_id, set()).add(rule_id)
        overdue = func.sum(case((Deficiency.correct_by < today, 1), else_=0))
        for agency_id, since, due, late in session.exec(
                select(Deficiency.agency_id, func.min(Deficiency.opened_at), func.min(Deficiency.correct_by), overdue)
                .where(Deficiency.year == year, Deficiency.state == "open").group_by(Deficiency.agency_id)):
            cases[agency_id] = (since, due, int(late or 0))
        report_ids = dict(session.exec(select(Report.agency_id, func.max(Report.id)).where(Report.year == year)
                                       .group_by(Report.agency_id)).all())
    rows = []
    for status in statuses:
        silenced = sorted(r for r in open_rules.get(status.agency_id, ())
                          if any(s.rule_id == r and s.agency_id in (None, status.agency_id) for s in silences))
        since, due, late = cases.get(status.agency_id, (None, None, 0))
        row = status.as_dict()
        row.update(state_label=STATE_LABELS.get(status.state, status.state),
                   level_label=LEVEL_LABELS.get(status.level, status.level),
                   days_to_deadline=(date.fromisoformat(status.deadline) - today).days, silenced_rules=silenced,
                   report_id=report_ids.get(status.agency_id) if status.report_url else None,
                   open_since=_iso(since), correct_by=due.isoformat() if due else None, overdue=late)
        rows.append(row)
    return filter_rows(rows, state=state, level=level, region=region, q=q, sort=sort, desc=desc)


def _iso(moment) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite returns aggregates without the column's type
        moment = moment.replace(tzinfo=timezone.utc) if isinstance(moment, datetime) else datetime.fromisoformat(
            str(moment)).replace(tzinfo=timezone.utc)
    return moment.isoformat()


def open_board(session: Session, today: date, year: int, *, severity: str | None = None, region: str | None = None,
               overdue_only: bool = False, limit: int | None = None) -> list[dict]:
    """Every open deficiency of the year across agencies, like an alert list: overdue first, then
    by severity, then by the date to correct by."""
    query = (select(Deficiency.id, Deficiency.agency_id, Deficiency.rule_id, Deficiency.subject, Deficiency.severity,
                    Deficiency.title, Deficiency.message, Deficiency.opened_at, Deficiency.correct_by,
                    Deficiency.reminded_at, Agency.slug, Agency.name, Agency.region)
             .join(Agency, Agency.id == Deficiency.agency_id)
             .where(Deficiency.year == year, Deficiency.state == "open"))
    if severity:
        query = query.where(Deficiency.severity == severity)
    if region:
        query = query.where(Agency.region == region)
    if overdue_only:
        query = query.where(Deficiency.correct_by < today)
    if limit:  # the overview's few: ordered and cut in the database
        late = case((Deficiency.correct_by < today, 0), else_=1)
        rank = case({"error": 0, "warning": 1, "info": 2}, value=Deficiency.severity, else_=9)
        undated = case((Deficiency.correct_by == None, 1), else_=0)  # noqa: E711 (nulls last on every database)
        query = query.order_by(late, rank, undated, Deficiency.correct_by, Agency.name, Deficiency.rule_id).limit(limit)
    rows = []
    for d in session.exec(query):
        late = d.correct_by is not None and d.correct_by < today
        rows.append({"id": d.id, "agency_slug": d.slug, "agency_name": d.name, "region": d.region or "",
                     "rule_id": d.rule_id, "subject": d.subject, "severity": d.severity, "title": d.title,
                     "message": d.message, "opened_at": _iso(d.opened_at),
                     "correct_by": d.correct_by.isoformat() if d.correct_by else None, "overdue": late,
                     "days_left": (d.correct_by - today).days if d.correct_by else None,
                     "reminded": d.reminded_at is not None})
    rows.sort(key=lambda r: (not r["overdue"], SEVERITY_ORDER.get(r["severity"], 9), r["correct_by"] or "9999",
                             r["agency_name"], r["rule_id"]))
    return rows[:limit] if limit else rows


def open_count(session: Session, year: int) -> int:
    return session.exec(select(func.count()).select_from(Deficiency).where(Deficiency.year == year,
                                                                          Deficiency.state == "open")).one()


def all_silences(session: Session, today: date) -> list[dict]:
    """Every silence, active first, with the agency's name (or every agency), who and why."""
    names = dict(session.exec(select(Agency.id, Agency.name)).all())
    slugs = dict(session.exec(select(Agency.id, Agency.slug)).all())
    rows = [{**silence_dict(s, today), "agency_name": names.get(s.agency_id, "") if s.agency_id else "",
             "agency_slug": slugs.get(s.agency_id, "") if s.agency_id else "", "created_at": _iso(s.created_at)}
            for s in session.exec(select(Silence).order_by(Silence.until.desc(), Silence.id.desc()))]
    rows.sort(key=lambda r: not r["active"])
    return rows


def expectation(session: Session, agency_id: int, year: int) -> dict | None:
    """Where the agency stands for the report year now due (kept by polling, one row)."""
    row = session.exec(select(ExpectedReport).where(ExpectedReport.agency_id == agency_id,
                                                    ExpectedReport.year == year)).first()
    if row is None:
        return None
    return {"state": row.state, "detail": row.detail, "deadline": row.deadline.isoformat(),
            "published_on": row.published_on.isoformat() if row.published_on else None}


def problems_text(problems: list) -> list[str]:
    """The parser's notes about a document, as sentences."""
    from rules.audits import describe_problem

    return list(dict.fromkeys(describe_problem(p) + "。" for p in problems if isinstance(p, dict)))


def agency_choices(session: Session) -> list[tuple[str, str]]:
    """(slug, name) of every agency, by name: the choice list of the notices filter."""
    return [(slug, name) for slug, name in session.exec(select(Agency.slug, Agency.name).order_by(Agency.name))]


def office_name(session: Session) -> str:
    return session.exec(select(Office.name)).first() or ""


def score_history(session: Session, agency_ids: list[int] | None = None) -> dict[int, list[tuple[int, int]]]:
    """Each agency's score per report year (the newest evaluation of each report's current version)."""
    newest = (select(Evaluation.snapshot_id, func.max(Evaluation.id).label("id"))
              .group_by(Evaluation.snapshot_id).subquery())
    query = (select(Report.agency_id, Report.year, Evaluation.score)
             .join(newest, newest.c.snapshot_id == Report.latest_snapshot_id)
             .join(Evaluation, Evaluation.id == newest.c.id).where(Report.year != None)  # noqa: E711
             .order_by(Report.agency_id, Report.year, Report.id))
    if agency_ids is not None:
        query = query.where(Report.agency_id.in_(agency_ids))
    out: dict[int, dict[int, int]] = {}
    for agency_id, year, score in session.exec(query):
        out.setdefault(agency_id, {})[year] = score
    return {a: sorted(years.items()) for a, years in out.items()}


def filter_rows(rows: list[dict], *, state: str | None = None, level: str | None = None, region: str | None = None,
                q: str | None = None, sort: str = "slug", desc: bool = False) -> list[dict]:
    if state:
        rows = [r for r in rows if r["state"] == state]
    if level:
        rows = [r for r in rows if r["level"] == level]
    if region:
        rows = [r for r in rows if r["region"] == region]
    if q:
        rows = [r for r in rows if q in r["name"] or q in r["slug"]]
    if sort == "errors":
        rows.sort(key=lambda r: (r["open_errors"], r["open_warnings"], r["open_other"]), reverse=desc)
        return rows
    # Rows without a value (no score yet, never fetched) come last in either direction.
    known = sorted((r for r in rows if r[sort] is not None), key=lambda r: r[sort], reverse=desc)
    return known + [r for r in rows if r[sort] is None]


def _agency(session: Session, slug: str) -> Agency:
    agency = session.exec(select(Agency).where(Agency.slug == slug)).first()
    if agency is None:
        raise NotFound(f"没有代码为“{slug}”的单位")
    return agency


def latest_evaluation(session: Session, snapshot_id: int | None) -> Evaluation | None:
    if snapshot_id is None:
        return None
    return session.exec(select(Evaluation).where(Evaluation.snapshot_id == snapshot_id)
                        .order_by(Evaluation.id.desc())).first()


def report_summary(session: Session, report: Report) -> dict:
    evaluation = latest_evaluation(session, report.latest_snapshot_id)
    return {"id": report.id, "year": report.year, "title": report.title, "url": report.url, "status": report.status,
            "published_on": report.published_on.isoformat() if report.published_on else None,
            "edit_count": report.edit_count, "score": evaluation.score if evaluation else None,
            "grade": evaluation.grade if evaluation else None, "snapshot_id": report.latest_snapshot_id}


def agency_detail(session: Session, slug: str, today: date) -> dict:
    agency = _agency(session, slug)
    reports = list(session.exec(select(Report).where(Report.agency_id == agency.id)
                                .order_by(Report.year.desc(), Report.id.desc())))
    report_rows = []
    for report in reports:
        row = report_summary(session, report)
        versions = []
        for snap in session.exec(select(Snapshot).where(Snapshot.report_id == report.id).order_by(Snapshot.id)):
            ev = latest_evaluation(session, snap.id)
            versions.append({"id": snap.id, "sha256": snap.sha256, "fetched_at": snap.fetched_at.isoformat(),
                             "size": snap.size, "parse_status": snap.parse_status, "score": ev.score if ev else None})
        for prev, cur in zip(versions, versions[1:]):
            if prev["score"] != cur["score"]:
                cur["change"] = f"得分 {prev['score']} → {cur['score']}"
            else:
                cur["change"] = "内容变化"
        row["versions"] = versions
        report_rows.append(row)
    deficiencies = list(session.exec(select(Deficiency).where(Deficiency.agency_id == agency.id)
                                     .order_by(Deficiency.state.desc(), Deficiency.year.desc(), Deficiency.rule_id)))
    notices = list(session.exec(select(Notice).where(Notice.agency_id == agency.id).order_by(Notice.id.desc())))
    silences = list(session.exec(select(Silence).where((Silence.agency_id == agency.id) | (Silence.agency_id == None))  # noqa: E711
                                 .order_by(Silence.id.desc())))
    sources = list(session.exec(select(Source).where(Source.agency_id == agency.id).order_by(Source.id)))
    events = list(session.exec(select(PollEvent).where(PollEvent.agency_id == agency.id)
                               .order_by(PollEvent.id.desc()).limit(20)))
    trend = sorted({(r["year"], r["score"]) for r in report_rows if r["year"] and r["score"] is not None})
    return {
        "agency": {"id": agency.id, "slug": agency.slug, "name": agency.name, "level": agency.level,
                   "region": agency.region, "deadline": agency.deadline},
        "reports": report_rows,
        "trend": [{"year": y, "score": s} for y, s in trend],
        "deficiencies": [deficiency_dict(d) for d in deficiencies],
        "notices": [notice_dict(n) for n in notices],
        "silences": [silence_dict(s, today) for s in silences],
        "sources": [{"url": s.url, "kind": s.kind, "status": s.status, "reason": s.status_reason,
                     "last_polled_at": s.last_polled_at.isoformat() if s.last_polled_at else None} for s in sources],
        "events": [{"kind": e.kind, "detail": e.detail} for e in events],
    }


def deficiency_dict(d: Deficiency) -> dict:
    return {"id": d.id, "year": d.year, "rule_id": d.rule_id, "subject": d.subject, "severity": d.severity,
            "title": d.title, "message": d.message, "state": d.state, "opened_at": d.opened_at.isoformat(),
            "correct_by": d.correct_by.isoformat() if d.correct_by else None}


def silence_dict(s: Silence, today: date) -> dict:
    return {"id": s.id, "agency_id": s.agency_id, "rule_id": s.rule_id, "until": s.until.isoformat(),
            "reason": s.reason, "created_by": s.created_by, "active": s.until >= today}


def notice_dict(n: Notice, *, body: bool = False) -> dict:
    out = {"id": n.id, "kind": n.kind, "audience": n.audience, "severity": n.severity, "agency_id": n.agency_id,
           "report_id": n.report_id, "subject": n.subject, "status": n.status, "attempts": n.attempts,
           "last_error": n.last_error, "created_at": n.created_at.isoformat(),
           "sent_at": n.sent_at.isoformat() if n.sent_at else None,
           "acked_at": n.acked_at.isoformat() if n.acked_at else None, "acked_by": n.acked_by}
    if body:
        out["body"] = n.body
    return out


def finding_dict(f: Finding) -> dict:
    return {"id": f.id, "rule_id": f.rule_id, "subject": f.subject, "status": f.status, "severity": f.severity,
            "title": f.title, "message": f.message, "evidence": f.evidence, "basis": f.basis, "points": f.points}


def finding_fields(f: Finding) -> set[str]:
    """The table cells a finding concerns, read from its evidence the way its sentences are."""
    from rules.explain import cells_of

    return set(cells_of({"evidence": f.evidence or {}, "message": ""}))


def apply_table(parsed: dict, flagged: dict[str, list[str]]) -> list[dict]:
    """Section 三 as rows × columns of stated values; a cell is flagged by the rules whose findings concern it."""
    fields = parsed.get("fields") or {}
    where = parsed.get("where") or {}
    doubtful = parsed.get("doubtful") or {}
    rows = []
    for key, label in APPLY_ROWS:
        cells = []
        for col in COLUMNS:
            field = f"apply.{key}.{col}"
            cells.append({"field": field, "value": fields.get(field), "where": where.get(field, ""),
                          "rules": flagged.get(field, []), "doubtful": doubtful.get(field)})
        if any(c["value"] is not None or c["rules"] for c in cells):
            rows.append({"key": key, "label": label, "cells": cells})
    return rows


def report_detail(session: Session, report_id: int, snapshot_id: int | None = None) -> dict:
    report = session.get(Report, report_id) if 1 <= report_id <= MAX_ID else None
    if report is None:
        raise NotFound(f"没有编号为 {report_id} 的年报")
    agency = session.get(Agency, report.agency_id)
    wanted = snapshot_id if snapshot_id is not None else report.latest_snapshot_id
    snapshot = session.get(Snapshot, wanted) if wanted is not None and 1 <= wanted <= MAX_ID else None
    if snapshot_id is not None and (snapshot is None or snapshot.report_id != report.id):
        # An unknown version must not fall back to a clean page that looks like the report.
        raise NotFound(f"这份年报没有编号为 {snapshot_id} 的版本")
    evaluation = latest_evaluation(session, snapshot.id) if snapshot else None
    findings = list(session.exec(select(Finding).where(Finding.evaluation_id == evaluation.id)
                                 .order_by(Finding.points.desc(), Finding.rule_id))) if evaluation else []
    flagged: dict[str, list[str]] = {}
    for f in findings:
        if f.status == "fail":
            for key in finding_fields(f):
                flagged.setdefault(key, []).append(f.rule_id)
    parsed = (snapshot.parsed or {}) if snapshot else {}
    other_flagged = sorted(k for k in flagged if not k.startswith("apply."))
    fields = parsed.get("fields") or {}
    return {
        "report": report_summary(session, report),
        "agency": {"slug": agency.slug, "name": agency.name, "id": agency.id},
        "snapshot": {"id": snapshot.id, "sha256": snapshot.sha256, "content_type": snapshot.content_type,
                     "fetched_at": snapshot.fetched_at.isoformat(), "parse_status": snapshot.parse_status,
                     "parse_error": snapshot.parse_error} if snapshot else None,
        "evaluation": {"id": evaluation.id, "score": evaluation.score, "grade": evaluation.grade,
                       "coverage": percent(evaluation.coverage),
                       "ruleset_version": evaluation.ruleset_version} if evaluation else None,
        "meta": parsed.get("meta") or {},
        "sections": [{"key": k, "label": SECTION_LABELS.get(k, k), **(v if isinstance(v, dict) else {"present": v})}
                     for k, v in (parsed.get("sections") or {}).items()],
        "apply_table": apply_table(parsed, flagged),
        "other_fields": [{"field": k, "label": cell_label(k), "value": fields.get(k),
                          "where": (parsed.get("where") or {}).get(k, ""), "rules": flagged[k]} for k in other_flagged],
        "problems": parsed.get("problems") or [],
        "findings": [finding_dict(f) for f in findings],
        "flagged_fields": sorted(flagged),
    }


def reports(session: Session, *, agency: str | None = None, year: int | None = None, limit: int = 100,
            offset: int = 0) -> list[dict]:
    query = select(Report)
    if agency:
        query = query.where(Report.agency_id == _agency(session, agency).id)
    if year:
        query = query.where(Report.year == year)
    rows = session.exec(query.order_by(Report.id).offset(offset).limit(limit))
    return [report_summary(session, r) for r in rows]


def findings(session: Session, *, agency: str | None = None, rule: str | None = None,
             severity: str | None = None, status: str | None = None, limit: int = 200) -> list[dict]:
    """Findings of each report's current version under its newest evaluation."""
    newest = (select(func.max(Evaluation.id)).join(Report, Report.latest_snapshot_id == Evaluation.snapshot_id)
              .group_by(Evaluation.snapshot_id))
    query = (select(Finding, Report, Agency).join(Evaluation, Evaluation.id == Finding.evaluation_id)
             .join(Report, Report.latest_snapshot_id == Evaluation.snapshot_id)
             .join(Agency, Agency.id == Report.agency_id).where(Finding.evaluation_id.in_(newest)))
    if agency:
        query = query.where(Agency.id == _agency(session, agency).id)
    if rule:
        query = query.where(Finding.rule_id == rule)
    if severity:
        query = query.where(Finding.severity == severity)
    if status:
        query = query.where(Finding.status == status)
    out = []
    for f, report, ag in session.exec(query.order_by(Finding.id).limit(limit)):
        out.append({**finding_dict(f), "report_id": report.id, "agency": ag.slug, "year": report.year})
    return out


def notices(session: Session, *, status: str | None = None, kind: str | None = None, audience: str | None = None,
            agency: str | None = None, limit: int = 100, offset: int = 0) -> list[dict]:
    query = select(Notice)
    if status:
        query = query.where(Notice.status == status)
    if kind:
        query = query.where(Notice.kind == kind)
    if audience:
        query = query.where(Notice.audience == audience)
    if agency:
        query = query.where(Notice.agency_id == _agency(session, agency).id)
    names = dict(session.exec(select(Agency.id, Agency.name)).all())
    rows = []
    for n in session.exec(query.order_by(Notice.id.desc()).offset(offset).limit(limit)):
        row = notice_dict(n)
        row["agency_name"] = names.get(n.agency_id, "")
        rows.append(row)
    return rows


def notice_detail(session: Session, notice_id: int) -> dict:
    n = session.get(Notice, notice_id) if 1 <= notice_id <= MAX_ID else None
    if n is None:
        raise NotFound(f"没有编号为 {notice_id} 的通知")
    attempts = session.exec(select(DeliveryAttempt).where(DeliveryAttempt.notice_id == n.id).order_by(DeliveryAttempt.id))
    agency = session.get(Agency, n.agency_id) if n.agency_id else None
    return {**notice_dict(n, body=True), "agency_slug": agency.slug if agency else "",
            "agency_name": agency.name if agency else "", "attempts_log": [
        {"at": a.at.isoformat(), "ok": a.ok, "permanent": a.permanent, "targets": a.targets, "error": a.error}
        for a in attempts]}


def metrics_snapshot(session: Session) -> dict:
    return {
        "evaluations": session.exec(select(func.count()).select_from(Evaluation)).one(),
        "notices": dict(session.exec(select(Notice.status, func.count()).group_by(Notice.status)).all()),
        "parse": dict(session.exec(select(Snapshot.parse_status, func.count()).group_by(Snapshot.parse_status)).all()),
        "sources": dict(session.exec(select(Source.status, func.count()).where(Source.active == True)  # noqa: E712
                                     .group_by(Source.status)).all()),
        "reports_fetch_failed": session.exec(select(func.count()).select_from(Report)
                                             .where(Report.status == "fetch_failed")).one(),
        "polls": session.exec(select(func.count()).select_from(Source).where(Source.last_polled_at != None)).one(),  # noqa: E711
        "queue_depth": session.exec(select(func.count()).select_from(Notice).where(Notice.status == "pending")).one(),
    }
