"""What an admin can do from the dashboard, through worker/ (and the same rows the CLI writes)."""

from __future__ import annotations

from collections import deque
from datetime import date

from sqlalchemy import update
from sqlmodel import select

from models import Agency, Notice, Report, Silence, Snapshot, Source
from models.db import session_scope
from models.types import utcnow
from notifications.dates import cn_date
from worker.runtime import Runtime
from worker.steps import Next


class ActionError(ValueError):
    """A refused action; ``status`` is the HTTP answer (422: the submitted content is invalid)."""

    def __init__(self, message: str, status: int = 400, problems: list | None = None):
        super().__init__(message)
        self.status = status
        self.problems = problems or []  # rule file problems, for the API: file, line, code, message, hint


def silence(rt: Runtime, *, rule_id: str, until: date, reason: str, by: str, agency_slug: str | None) -> int:
    """Stop notices about a rule for one agency (or all) until a date, as `nianbao silence` does."""
    rule_id, reason = rule_id.strip(), reason.strip()
    if not rule_id or len(rule_id) > 64:
        raise ActionError("规则编号无效")
    if not reason:
        raise ActionError("请填写静默原因")
    if until < rt.today():
        raise ActionError(f"截止日期{cn_date(until)}已过")
    with session_scope(rt.db_url) as session:
        agency_id = None
        if agency_slug:
            agency = session.exec(select(Agency).where(Agency.slug == agency_slug)).first()
            if agency is None:
                raise ActionError(f"没有代码为“{agency_slug}”的单位")
            agency_id = agency.id
        row = Silence(agency_id=agency_id, rule_id=rule_id, until=until, reason=reason[:500], created_by=by)
        session.add(row)
        session.commit()
        return row.id


def acknowledge(rt: Runtime, notice_id: int, by: str) -> bool:
    if not 1 <= notice_id <= 2**63 - 1:
        return False
    with session_scope(rt.db_url) as session:
        done = session.execute(update(Notice).where(Notice.id == notice_id, Notice.acked_at == None)  # noqa: E711
                               .values(acked_at=utcnow(), acked_by=by))
        session.commit()
        return done.rowcount == 1


def _run(rt: Runtime, steps: list[Next]) -> dict:
    """Embedded engine: run the steps here; distributed: hand them to the workers."""
    if rt.settings.broker_url:
        from worker.tasks import enqueue

        enqueue(steps)
        return {"enqueued": len(steps)}
    from worker.runner import CycleReport, drain

    report = CycleReport()
    drain(rt, deque(steps), report)
    return {"steps": dict(report.steps), "errors": report.errors + report.transient}


def resend(rt: Runtime, notice_id: int) -> dict:
    from worker.delivery import resend as worker_resend

    if not 1 <= notice_id <= 2**63 - 1 or not worker_resend(rt, notice_id):
        raise ActionError("只有发送失败、状态未知或无接收方的通知可以重发")
    return _run(rt, [Next("deliver", notice_id)])


def repoll(rt: Runtime, agency_slug: str) -> dict:
    """Poll the agency's sources now. In-process, the result says how each source answered (a
    poll that failed is recorded on its source, not raised): {"steps", "errors", "sources"}."""
    with session_scope(rt.db_url) as session:
        agency = session.exec(select(Agency).where(Agency.slug == agency_slug)).first()
        if agency is None:
            raise ActionError(f"没有代码为“{agency_slug}”的单位")
        ids = list(session.exec(select(Source.id).where(Source.agency_id == agency.id, Source.active == True)))  # noqa: E712
    result = _run(rt, [Next("poll_source", i) for i in ids])
    if "enqueued" not in result:
        with session_scope(rt.db_url) as session:
            result["sources"] = [{"url": s.url, "status": s.status, "reason": s.status_reason}
                                 for s in session.exec(select(Source).where(Source.id.in_(ids)).order_by(Source.id))]
    return result


def rescore(rt: Runtime, agency_slug: str | None = None) -> dict:
    from worker.rescore import snapshots_to_rescore

    ids = snapshots_to_rescore(rt.db_url)
    if agency_slug:
        with session_scope(rt.db_url) as session:
            agency = session.exec(select(Agency).where(Agency.slug == agency_slug)).first()
            if agency is None:
                raise ActionError(f"没有代码为“{agency_slug}”的单位")
            mine = set(session.exec(select(Snapshot.id).join(Report, Report.id == Snapshot.report_id)
                                    .where(Report.agency_id == agency.id)))
        ids = [i for i in ids if i in mine]
    return _run(rt, [Next("evaluate", i) for i in ids])


def preview_rules(rt: Runtime, file_name: str, content: str, year: int | None = None) -> dict:
    """What replacing one rule file with ``content`` would change, as `nianbao rules diff
    --latest-only [--year]` shows it: each report's current version (of one report year, if
    given: a web request should not score every year of thousands of agencies) scored with both
    rulesets. Nothing is written (the live rules directory included)."""
    from rules import RuleFileError
    from worker.rulediff import ProposalError, diff_rulesets, load_proposal

    try:
        current = rt.rules.current()
    except Exception as exc:  # RulesUnavailable: nothing to compare against
        raise ActionError(f"当前规则不可用：{exc}") from exc
    try:
        proposed = load_proposal(rt.rules.directory, file_name.strip(), content)
    except ProposalError as exc:
        raise ActionError(str(exc)) from exc
    except RuleFileError as exc:  # the content is invalid: file:line: what — fix, as `rules check` says it
        raise ActionError(str(exc), status=422, problems=[p.to_dict() for p in exc.problems]) from exc
    result = diff_rulesets(rt.db_url, current, proposed, latest_only=True, year=year).to_dict()
    result["year"] = year
    return result


def rule_file_text(rt: Runtime, file_name: str) -> str:
    """The current text of one rule file, to start a proposed change from ("" if it is new)."""
    from worker.rulediff import FILE_NAME

    directory = rt.rules.directory
    if not FILE_NAME.fullmatch(file_name) or directory.is_file():
        return ""
    path = directory / file_name
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def rule_file_names(rt: Runtime) -> list[str]:
    from rules.loader import SCORING_FILE, rule_files

    directory = rt.rules.directory
    if not directory.exists():
        return []
    names = [p.name for p in rule_files(directory)]
    return names + ([SCORING_FILE] if directory.is_dir() and (directory / SCORING_FILE).exists() else [])
