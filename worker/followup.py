"""The escalation ladder, run daily: remind the agency a few working days before its
correction date, copy the office once the date has passed. One notice per agency and
report year per rung (the ladder is about a case, not about every finding)."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import select

from models import Agency, Deficiency
from models.db import session_scope
from notifications.dates import add_working_days
from worker.planning import add_notice, highest, silenced_rules
from worker.runtime import Runtime
from worker.steps import Next


def follow_up(rt: Runtime) -> list[Next]:
    today = rt.today()
    notices = []
    with session_scope(rt.db_url) as session:
        groups: dict[tuple[int, int], list[Deficiency]] = defaultdict(list)
        for case in session.exec(select(Deficiency).where(Deficiency.state == "open", Deficiency.correct_by != None)  # noqa: E711
                                 .order_by(Deficiency.id)):
            groups[(case.agency_id, case.year)].append(case)
        for (agency_id, year), cases in groups.items():
            agency = session.get(Agency, agency_id)
            silenced = silenced_rules(session, agency_id, today)
            cases = [c for c in cases if c.rule_id not in silenced]
            if not cases or not agency.active:
                continue
            correct_by = min(c.correct_by for c in cases)
            remind_from = _working_days_before(correct_by, rt.settings.reminder_days)
            context = {"agency_name": agency.name, "year": year, "correct_by": correct_by, "open_cases": cases}
            severity = highest(c.severity for c in cases)
            if today > correct_by and any(c.escalated_at is None for c in cases):
                reminded = min((c.reminded_at for c in cases if c.reminded_at), default=None)
                notice = add_notice(session, rt, f"overdue:{agency_id}:{year}:{correct_by}", "overdue", "office",
                                    agency, None, "overdue", {**context, "reminded_on": reminded}, severity=severity)
                for c in cases:
                    c.escalated_at = c.escalated_at or rt.now()
                    session.add(c)
                notices.append(notice)
            elif remind_from <= today <= correct_by and any(c.reminded_at is None for c in cases):
                notice = add_notice(session, rt, f"reminder:{agency_id}:{year}:{correct_by}", "reminder", "agency",
                                    agency, None, "reminder", context, severity=severity)
                for c in cases:
                    c.reminded_at = c.reminded_at or rt.now()
                    session.add(c)
                notices.append(notice)
        session.commit()
        return [Next("deliver", n.id) for n in notices if n is not None]


def _working_days_before(day, days: int):
    """The working day `days` working days before `day` (by stepping back until the count fits)."""
    from datetime import timedelta

    candidate = day
    while days and add_working_days(candidate, days)[0] > day:
        candidate -= timedelta(days=1)
    return candidate
