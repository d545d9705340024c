"""Steps plan_notices and check_deadlines: findings → Deficiency cases → Notice rows.

A Deficiency is one problem of one agency and report year; it stays open across report
versions until a version passes the rule. Notices are keyed (dedup_key) by what they say:
the same finding set for the same report never goes out twice, and planning runs in one
transaction with the deficiency changes, so a crash leaves neither half. (What polling
observes — unreachable sites, silent edits, backdated pages — is told by worker.events.)

Who hears what: the agency gets its failing findings (never our own doubts: findings not
evaluated go to the admins); the office is alerted to reports with errors, to missing
reports (and, via worker.events, to what polling saw). A silenced rule keeps its deficiency
open and visible in the digest, but sends nothing.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date

from sqlalchemy.orm import defer
from sqlmodel import Session, select

from models import Agency, Deficiency, Evaluation, Finding, Notice, Office, Report, Silence, Snapshot
from models.bulk import insert_new
from models.db import rows_by_id, session_scope
from models.types import utcnow
from notifications import render
from notifications.dates import add_working_days
from rules.explain import group_not_evaluated
from worker.runtime import Runtime
from worker.steps import Next, enter, error_text

log = logging.getLogger(__name__)
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _digest(keys) -> str:
    return hashlib.sha256(repr(sorted(keys)).encode()).hexdigest()[:16]


def highest(severities) -> str:
    return min(severities, key=lambda s: SEVERITY_ORDER.get(s, 9), default="")


def add_notice(session: Session, rt: Runtime, dedup_key: str, kind: str, audience: str, agency: Agency | None,
               report: Report | None, template: str, context: dict, severity: str = "") -> Notice | None:
    """Render and queue a notice once per dedup key (None when it exists already).

    In a preview session (session.info["preview"]) every notice is rendered, sent before or not."""
    if not session.info.get("preview") and session.exec(select(Notice).where(Notice.dedup_key == dedup_key)).first():
        return None
    notice = render_notice(session, rt, dedup_key, kind, audience, agency, report, template, context, severity)
    session.add(notice)
    return notice


def render_notice(session: Session, rt: Runtime, dedup_key: str, kind: str, audience: str, agency: Agency | None,
                  report: Report | None, template: str, context: dict, severity: str = "") -> Notice:
    """A notice rendered, not saved."""
    office = office_of(session)
    context = {"office_name": office.name if office else "政务公开办", "today": rt.today(), **context}
    subject, body, html = render(template, context, template_dir=rt.settings.templates_dir)
    return Notice(dedup_key=dedup_key, kind=kind, audience=audience, severity=severity,
                  agency_id=agency.id if agency else None, report_id=report.id if report else None,
                  subject=subject, body=body, body_html=html)


def office_of(session: Session) -> Office | None:
    """The office row, read once per session (every notice planned or sent names it)."""
    if "office" not in session.info:
        session.info["office"] = session.exec(select(Office)).first()
    return session.info["office"]


def silenced_rules(session: Session, agency_id: int, today: date) -> set[str]:
    """Rules silenced for this agency (or for every agency) today; expired silences lapse by themselves."""
    return _silences(session, [agency_id], today)[agency_id]


def _silences(session: Session, agency_ids, today: date) -> dict[int, set[str]]:
    """silenced_rules for several agencies, in one query."""
    rows = list(session.exec(select(Silence).where(Silence.until >= today, Silence.agency_id.in_(list(agency_ids))
                                                   | (Silence.agency_id == None))))  # noqa: E711
    return {a: {s.rule_id for s in rows if s.agency_id in (a, None)} for a in agency_ids}


def plan_notices(rt: Runtime, evaluation_id: int) -> list[Next]:
    return _plan_list(rt, [evaluation_id], alone=True)


def plan_notices_many(rt: Runtime, evaluation_ids: list[int]) -> list[Next]:
    """plan_notices for a list of evaluations in one session: their rows read a table at a time,
    the notices written in one statement. An evaluation that fails (a template, a finding that
    cannot be explained) keeps its error on its row, its planning still owed (the reconciler
    redoes it), and the others go on; a database error fails the whole list."""
    return _plan_list(rt, evaluation_ids, alone=False)


def _plan_list(rt: Runtime, evaluation_ids: list[int], *, alone: bool) -> list[Next]:
    """``alone``: an evaluation's unexpected error is raised (the single step, whose caller records it)."""
    with session_scope(rt.db_url) as session:
        world = _World(session, rt, evaluation_ids)
        planned: list[Notice] = []
        for evaluation_id in dict.fromkeys(evaluation_ids):
            evaluation = world.evaluations.get(evaluation_id)
            if evaluation is None:
                continue
            try:
                planned += _plan(session, rt, world, evaluation)
            except Exception as exc:
                if alone:
                    raise
                log.exception("step plan_notices(%s) failed", evaluation_id)
                evaluation.last_error = error_text(exc)  # still owed: the reconciler redoes it
                continue
            if evaluation.work_state != "done":
                enter(evaluation, "work_state", "done", utcnow())  # with the notices, in one transaction
        written = _insert_new(session, planned)
        session.commit()
        return [Next("deliver", i) for i in sorted(written.values())]


def _insert_new(session: Session, notices: list[Notice]) -> dict[str, int]:
    """The notices whose dedup key is new, inserted in one statement (a key that exists already,
    written by an earlier run or another worker, is left as it is); their ids by key."""
    rows: dict[str, dict] = {}
    for notice in notices:
        rows.setdefault(notice.dedup_key, notice.model_dump(exclude={"id"}))
    if not rows:
        return {}
    session.flush()  # the deficiencies and evaluations first, as the single step wrote them
    written = insert_new(session, Notice, list(rows.values()), unique=["dedup_key"], returning=["id", "dedup_key"])
    return {key: i for i, key in written}


def preview_notices(rt: Runtime, report_id: int) -> list[Notice]:
    """What planning the report's latest evaluation would send, rendered, without sending or saving."""
    with session_scope(rt.db_url) as session:
        report = session.get(Report, report_id)
        if report is None or report.latest_snapshot_id is None:
            return []
        evaluation = session.exec(select(Evaluation).where(Evaluation.snapshot_id == report.latest_snapshot_id)
                                  .order_by(Evaluation.id.desc())).first()
        if evaluation is None:
            return []
        # A preview shows the notice as if the cases were new: what this version says, whatever was sent before.
        world = _World(session, rt, [evaluation.id], cases=False)
        session.info["preview"] = True
        with session.no_autoflush:
            notices = _plan(session, rt, world, world.evaluations[evaluation.id])
        session.rollback()
        return notices


class _World:
    """What planning a list of evaluations reads, a query a table: the evaluations, their
    snapshots, reports and agencies, the findings of those to plan, the agencies' silences and
    the deficiency cases of their years (by (agency, year), then by (rule, subject))."""

    def __init__(self, session: Session, rt: Runtime, evaluation_ids, *, cases: bool = True) -> None:
        today = rt.today()
        self.evaluations = rows_by_id(session, Evaluation, evaluation_ids)
        snapshot_ids = list({e.snapshot_id for e in self.evaluations.values()})
        self.snapshots = {s.id: s for s in session.exec(select(Snapshot).options(defer(Snapshot.parsed))  # not its reading
                                                        .where(Snapshot.id.in_(snapshot_ids)))} if snapshot_ids else {}
        self.reports = rows_by_id(session, Report, {s.report_id for s in self.snapshots.values()})
        oldest = expected_year(today) - rt.settings.notify_years_back
        # An older version, a report we cannot place in a year, or an earlier year's report (scored:
        # history rules compare with it, but not pursued): nothing to say.
        self.to_plan = {e.id for e in self.evaluations.values()
                        if (s := self.snapshots.get(e.snapshot_id)) and (r := self.reports.get(s.report_id))
                        and r.latest_snapshot_id == s.id and r.year is not None and r.year >= oldest}
        planned_reports = [self.reports[self.snapshots[self.evaluations[i].snapshot_id].report_id]
                           for i in self.to_plan]
        agency_ids = {r.agency_id for r in planned_reports}
        self.agencies = rows_by_id(session, Agency, agency_ids)
        self.findings: dict[int, list[Finding]] = {i: [] for i in self.to_plan}
        if self.to_plan:
            for f in session.exec(select(Finding).where(Finding.evaluation_id.in_(self.to_plan)).order_by(Finding.id)):
                self.findings[f.evaluation_id].append(f)
            office_of(session)
        self.silenced = _silences(session, agency_ids, today) if agency_ids else {}
        self.cases: dict[tuple[int, int], dict[tuple[str, str], Deficiency]] = {
            (r.agency_id, r.year): {} for r in planned_reports}
        if cases and planned_reports:
            years = {r.year for r in planned_reports}
            for d in session.exec(select(Deficiency).where(Deficiency.agency_id.in_(agency_ids),
                                                           Deficiency.year.in_(years)).order_by(Deficiency.id)):
                if (d.agency_id, d.year) in self.cases:
                    self.cases[(d.agency_id, d.year)][(d.rule_id, d.subject)] = d
        self.correct_by, self.holidays_known = add_working_days(today, rt.settings.correction_days)


CASE_FIELDS = ("state", "opened_at", "resolved_at", "correct_by", "reminded_at", "escalated_at", "severity", "title",
               "message", "last_evaluation_id")


def _plan(session: Session, rt: Runtime, world: _World, evaluation: Evaluation) -> list[Notice]:
    """Update the deficiency cases of one evaluation and render its notices (not saved). An error
    leaves the cases as they were."""
    if evaluation.id not in world.to_plan:
        return []
    snapshot = world.snapshots[evaluation.snapshot_id]
    report = world.reports[snapshot.report_id]
    group = world.cases[(report.agency_id, report.year)]
    before = {key: {name: getattr(case, name) for name in CASE_FIELDS} for key, case in group.items()}
    try:
        cases = dict(group)
        notices = _plan_one(session, rt, world, evaluation, snapshot, report, cases)
    except Exception:
        for key, fields in before.items():
            for name, value in fields.items():
                if getattr(group[key], name) != value:
                    setattr(group[key], name, value)
        raise
    if not session.info.get("preview"):
        for key, case in cases.items():
            if key not in group:
                session.add(case)
        group.update(cases)
    return notices


def _plan_one(session: Session, rt: Runtime, world: _World, evaluation: Evaluation, snapshot: Snapshot,
              report: Report, cases: dict[tuple[str, str], Deficiency]) -> list[Notice]:
    agency = world.agencies[report.agency_id]
    findings = world.findings[evaluation.id]
    # Info-level findings are quality signals, not something to correct: they stay in the evaluation.
    floor = SEVERITY_ORDER.get(rt.settings.case_min_severity, 1)
    failing = sorted((f for f in findings if f.status == "fail" and SEVERITY_ORDER.get(f.severity, 9) <= floor),
                     key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.rule_id, f.subject))
    unsure = [f for f in findings if f.status == "not_evaluated"]
    fail_keys = {(f.rule_id, f.subject) for f in failing}
    unsure_keys = {(f.rule_id, f.subject) for f in unsure}
    silenced = world.silenced[agency.id]
    correct_by, holidays_known = world.correct_by, world.holidays_known

    for f in failing:
        case = cases.get((f.rule_id, f.subject))
        if case is None:
            case = Deficiency(agency_id=agency.id, year=report.year, rule_id=f.rule_id, subject=f.subject,
                              severity=f.severity, title=f.title, message=f.message, correct_by=correct_by,
                              opened_at=rt.now())
            cases[(f.rule_id, f.subject)] = case
        elif case.state == "resolved":
            case.state, case.opened_at, case.resolved_at = "open", rt.now(), None
            case.correct_by, case.reminded_at, case.escalated_at = correct_by, None, None
        case.severity, case.title, case.message = f.severity, f.title, f.message
        case.last_evaluation_id = evaluation.id
    resolved = []
    for key, case in cases.items():
        # A rule we could not evaluate this time says nothing about the problem: keep it open.
        if case.state == "open" and key not in fail_keys and key not in unsure_keys:
            case.state, case.resolved_at, case.last_evaluation_id = "resolved", rt.now(), evaluation.id
            resolved.append(case)

    def notice(*args, **kwargs) -> None:
        notices.append(render_notice(session, rt, *args, **kwargs))

    common = {"agency_name": agency.name, "year": report.year, "report_title": report.title or report.url,
              "report_url": report.url, "published_on": report.published_on, "sha256": snapshot.sha256,
              "fetched_at": snapshot.fetched_at, "score": evaluation.score, "grade": evaluation.grade}
    notices: list[Notice] = []
    told = [f for f in failing if f.rule_id not in silenced]
    if told:
        digest = _digest((f.rule_id, f.subject) for f in told)
        due = min((cases[(f.rule_id, f.subject)].correct_by or correct_by) for f in told)
        notice(f"deficiency:{report.id}:{digest}", "deficiency", "agency", agency, report, "deficiency",
               {**common, "findings": [finding_view(f) for f in told], "correct_by": due,
                "holidays_known": holidays_known}, severity=highest(f.severity for f in told))
        errors = [f for f in told if f.severity == "error"]
        if errors:  # the office is alerted at once to errors; warnings wait for the digest
            notice(f"alert:report:{report.id}:{digest}", "alert", "office", agency, report, "alert",
                   {"headline": f"{agency.name}{report.year}年年报存在{len(told)}项问题（其中错误{len(errors)}项），"
                                f"评分{evaluation.score}分",
                    "lines": [finding_line(f) for f in told], "report_url": report.url},
                   severity="error")
    if unsure:
        lines = []
        for group in group_not_evaluated([finding_view(f) for f in unsure]):
            rules = "；".join(f"{r['rule_id']} {r['title']}" + (f"（{r['subjects_text']}）" if r["subjects_text"] else "")
                             for r in group["rules"])
            lines.append(f"{group['reason']}（{group['count']}项）：{rules}"
                         + (f"。未填写的单元格：{group['blanks']}" if group["blanks"] else ""))
        notice(f"admin:doubts:{report.id}:{_digest(unsure_keys)}", "admin", "admins", agency, report,
               "admin", {"headline": f"{agency.name}{report.year}年年报有{len(unsure)}项检查未能评估（不会通知该单位）",
                         "lines": lines, "report_url": report.url}, severity="info")
    if resolved:
        still_open = [c for c in cases.values() if c.state == "open"]
        notice(f"resolution:{report.id}:{evaluation.id}", "resolution", "agency", agency, report,
               "resolution", {**common, "resolved": resolved, "still_open": still_open})
        notice(f"alert:resolved:{report.id}:{evaluation.id}", "alert", "office", agency, report, "alert",
               {"headline": f"{agency.name}{report.year}年年报已整改{len(resolved)}项问题"
                            + (f"，仍有{len(still_open)}项待整改" if still_open else "，问题已全部消除"),
                "lines": [f"{c.rule_id} {c.title}：已消除" for c in resolved], "report_url": report.url})
    return notices


def finding_view(f: Finding) -> dict:
    """What a notice says about one finding: the machine form (evidence, basis) for admins'
    own templates, and the sentences people read (points, basis_text, subject_label)."""
    from rules.explain import explain
    from rules.fields import subject_label

    view = {"rule_id": f.rule_id, "subject": f.subject, "severity": f.severity, "title": f.title,
            "message": f.message, "evidence": f.evidence or {}, "basis": f.basis or {}}
    explained = explain(view)
    view.update(points=explained.lines, basis_text=explained.basis, subject_label=subject_label(f.subject))
    return view


def finding_line(f: Finding) -> str:
    """One line about a finding for the office's and the admins' alerts."""
    from rules.fields import subject_label

    about = subject_label(f.subject)
    return f"{f.rule_id} {f.title}" + (f"（{about}）" if about else "") + f"：{f.message}"


def expected_year(today: date) -> int:
    """The report year whose deadlines fall in the current year (reports on Y are due in Y+1)."""
    return today.year - 1


def check_deadlines(rt: Runtime) -> list[Next]:
    """Missing reports become deficiencies (the ruleset's `missing` rule, TIM-02) and alerts once
    their deadline, local override and grace days have passed.

    An agency whose every source failed is `unreachable`, not missing: a site that is down is
    not an agency that failed to publish.
    """
    from rules import Context, missing_report_outcome
    from worker.expectations import expectation_for

    ruleset = rt.rules.current()
    today, year = rt.today(), expected_year(rt.today())
    next_steps: list[Next] = []
    with session_scope(rt.db_url) as session:
        for agency in session.exec(select(Agency).where(Agency.active == True)):  # noqa: E712
            if expectation_for(session, agency, today, year).state != "missing":
                continue  # pending, published, or unreachable: a site that is down is not a missing report
            ctx = Context(agency_name=agency.name, agency_level=agency.level, year=year, published_on=None,
                          deadline_override=agency.deadline)
            outcome = missing_report_outcome(ruleset, ctx, today)
            if outcome is None or outcome.status != "fail":
                continue
            case = session.exec(select(Deficiency).where(
                Deficiency.agency_id == agency.id, Deficiency.year == year, Deficiency.rule_id == outcome.rule_id,
                Deficiency.subject == "")).first()
            if case is None:
                case = Deficiency(agency_id=agency.id, year=year, rule_id=outcome.rule_id, severity=outcome.severity,
                                  title=outcome.title, message=outcome.message, opened_at=rt.now(),
                                  correct_by=add_working_days(today, rt.settings.correction_days)[0])
                session.add(case)
            elif case.state == "resolved":
                continue
            if outcome.rule_id in silenced_rules(session, agency.id, today):
                session.commit()
                continue
            deadline = date.fromisoformat(outcome.evidence["deadline"])
            lines = [outcome.message] + ([f"依据：{outcome.basis['text']}"] if outcome.basis.get("text") else [])
            notices = [
                add_notice(session, rt, f"missing:{agency.id}:{year}", "missing", "agency", agency, None, "missing",
                           {"agency_name": agency.name, "year": year, "deadline": deadline,
                            "rule_id": outcome.rule_id}, severity=outcome.severity),
                add_notice(session, rt, f"alert:missing:{agency.id}:{year}", "alert", "office", agency, None, "alert",
                           {"headline": f"{agency.name}逾期未公布{year}年年报（规则 {outcome.rule_id}）",
                            "lines": lines, "report_url": None}, severity=outcome.severity),
            ]
            session.commit()
            next_steps += [Next("deliver", n.id) for n in notices if n is not None]
    return next_steps
