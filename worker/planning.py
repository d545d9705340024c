"""Steps plan_notices and check_deadlines: findings → Deficiency cases → Notice rows.

A Deficiency is one problem of one agency and report year; it stays open across report
versions until a version passes the rule. Notices are keyed (dedup_key) by what they say:
the same finding set for the same report never goes out twice, and planning runs in one
transaction with the deficiency changes, so a crash leaves neither half.
"""

from __future__ import annotations

import hashlib
from datetime import date

from sqlmodel import Session, select

from models import Agency, Deficiency, Evaluation, Finding, Notice, Office, Report, Snapshot, Source
from models.db import session_scope
from models.types import utcnow
from notifications import render
from notifications.dates import add_working_days, cn_date
from worker.runtime import Runtime
from worker.steps import Next

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
MISSING_RULE = "TIM-02"


def _digest(keys: set[tuple[str, str]]) -> str:
    return hashlib.sha256(repr(sorted(keys)).encode()).hexdigest()[:16]


def _add_notice(session: Session, rt: Runtime, dedup_key: str, kind: str, audience: str, agency: Agency | None,
                report: Report | None, template: str, context: dict) -> Notice | None:
    if session.exec(select(Notice).where(Notice.dedup_key == dedup_key)).first():
        return None
    office = session.exec(select(Office)).first()
    context = {"office_name": office.name if office else "政务公开办", "today": rt.today(), **context}
    subject, body = render(template, context)
    notice = Notice(dedup_key=dedup_key, kind=kind, audience=audience, agency_id=agency.id if agency else None,
                    report_id=report.id if report else None, subject=subject, body=body)
    session.add(notice)
    return notice


def plan_notices(rt: Runtime, evaluation_id: int) -> list[Next]:
    with session_scope(rt.db_url) as session:
        evaluation = session.get(Evaluation, evaluation_id)
        if evaluation is None:
            return []
        snapshot = session.get(Snapshot, evaluation.snapshot_id)
        report = session.get(Report, snapshot.report_id)
        if report.latest_snapshot_id != snapshot.id or report.year is None:
            return []  # an older version, or a report we cannot place in a year: nothing to say
        agency = session.get(Agency, report.agency_id)
        findings = list(session.exec(select(Finding).where(Finding.evaluation_id == evaluation.id)))
        failing = sorted((f for f in findings if f.status == "fail"),
                         key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.rule_id, f.subject))
        fail_keys = {(f.rule_id, f.subject) for f in failing}
        unsure_keys = {(f.rule_id, f.subject) for f in findings if f.status == "not_evaluated"}

        cases = {(d.rule_id, d.subject): d for d in session.exec(
            select(Deficiency).where(Deficiency.agency_id == agency.id, Deficiency.year == report.year))}
        for f in failing:
            case = cases.get((f.rule_id, f.subject))
            if case is None:
                case = Deficiency(agency_id=agency.id, year=report.year, rule_id=f.rule_id, subject=f.subject,
                                  severity=f.severity, title=f.title, message=f.message)
            elif case.state == "resolved":
                case.state, case.opened_at, case.resolved_at = "open", utcnow(), None
            case.severity, case.title, case.message = f.severity, f.title, f.message
            case.last_evaluation_id = evaluation.id
            session.add(case)
        resolved = []
        for key, case in cases.items():
            # A rule we could not evaluate this time says nothing about the problem: keep it open.
            if case.state == "open" and key not in fail_keys and key not in unsure_keys:
                case.state, case.resolved_at, case.last_evaluation_id = "resolved", utcnow(), evaluation.id
                session.add(case)
                resolved.append(case)

        common = {"agency_name": agency.name, "year": report.year, "report_title": report.title or report.url,
                  "report_url": report.url, "published_on": report.published_on, "sha256": snapshot.sha256,
                  "fetched_at": snapshot.fetched_at, "score": evaluation.score, "grade": evaluation.grade}
        notices: list[Notice | None] = []
        if failing:
            digest = _digest(fail_keys)
            correct_by, known = add_working_days(rt.today(), rt.settings.correction_days)
            notices.append(_add_notice(
                session, rt, f"deficiency:{report.id}:{digest}", "deficiency", "agency", agency, report, "deficiency",
                {**common, "findings": [_finding_view(f) for f in failing], "correct_by": correct_by,
                 "holidays_known": known}))
            errors = sum(1 for f in failing if f.severity == "error")
            notices.append(_add_notice(
                session, rt, f"alert:report:{report.id}:{digest}", "alert", "office", agency, report, "alert",
                {"headline": f"{agency.name}{report.year}年年报存在{len(failing)}项问题（其中错误{errors}项），"
                             f"评分{evaluation.score}分",
                 "lines": [f"{f.rule_id} {f.title}：{f.message}" for f in failing], "report_url": report.url}))
        if resolved:
            still_open = [c for c in cases.values() if c.state == "open"]
            notices.append(_add_notice(
                session, rt, f"resolution:{report.id}:{evaluation.id}", "resolution", "agency", agency, report,
                "resolution", {**common, "resolved": resolved, "still_open": still_open}))
            notices.append(_add_notice(
                session, rt, f"alert:resolved:{report.id}:{evaluation.id}", "alert", "office", agency, report, "alert",
                {"headline": f"{agency.name}{report.year}年年报已整改{len(resolved)}项问题"
                             + (f"，仍有{len(still_open)}项待整改" if still_open else "，问题已全部消除"),
                 "lines": [f"{c.rule_id} {c.title}：已消除" for c in resolved], "report_url": report.url}))
        session.commit()
        return [Next("deliver", n.id) for n in notices if n is not None]


def _finding_view(f: Finding) -> dict:
    return {"rule_id": f.rule_id, "subject": f.subject, "severity": f.severity, "title": f.title,
            "message": f.message, "evidence": f.evidence or {}, "basis": f.basis or {}}


def expected_year(today: date) -> int:
    """The report year whose deadlines fall in the current year (reports on Y are due in Y+1)."""
    return today.year - 1


def check_deadlines(rt: Runtime) -> list[Next]:
    """Missing reports become deficiencies (TIM-02) and alerts once their deadline has passed.

    An agency whose every source failed is `unreachable`, not missing: a site that is down is
    not an agency that failed to publish.
    """
    from rules import report_deadline

    today, year = rt.today(), expected_year(rt.today())
    next_steps: list[Next] = []
    with session_scope(rt.db_url) as session:
        for agency in session.exec(select(Agency).where(Agency.active == True)):  # noqa: E712
            deadline = report_deadline(agency.level, year, agency.deadline)
            if today <= deadline:
                continue
            has_report = session.exec(select(Report.id).where(Report.agency_id == agency.id,
                                                              Report.year == year)).first()
            if has_report:
                continue
            sources = list(session.exec(select(Source).where(Source.agency_id == agency.id, Source.active == True)))  # noqa: E712
            if (sources and all(s.status == "failed" for s in sources)) or any(s.status == "new" for s in sources):
                continue  # unreachable or never polled: not evidence of a missing report
            case = session.exec(select(Deficiency).where(
                Deficiency.agency_id == agency.id, Deficiency.year == year, Deficiency.rule_id == MISSING_RULE,
                Deficiency.subject == "")).first()
            message = f"截至{cn_date(today)}，未在政府信息公开年报栏目发现{year}年度报告（截止日期{cn_date(deadline)}）。"
            if case is None:
                case = Deficiency(agency_id=agency.id, year=year, rule_id=MISSING_RULE, severity="error",
                                  title="未按期公布年度报告", message=message)
                session.add(case)
            elif case.state == "resolved":
                continue
            lines = [message, "依据：《中华人民共和国政府信息公开条例》第四十九条"]
            notices = [
                _add_notice(session, rt, f"missing:{agency.id}:{year}", "deficiency", "agency", agency, None, "missing",
                            {"agency_name": agency.name, "year": year, "deadline": deadline, "rule_id": MISSING_RULE}),
                _add_notice(session, rt, f"alert:missing:{agency.id}:{year}", "alert", "office", agency, None, "alert",
                            {"headline": f"{agency.name}逾期未公布{year}年年报（规则 {MISSING_RULE}）",
                             "lines": lines, "report_url": None}),
            ]
            session.commit()
            next_steps += [Next("deliver", n.id) for n in notices if n is not None]
    return next_steps
