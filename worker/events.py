"""Tell the office, once, what polling observed: a site unreachable or back, a report edited
after publication, a backdated page, two candidate reports for one year, a refused fetch.

Polling records these as PollEvent rows (keyed so each happens once); this step turns each
new one into an alert and marks it noticed in the same transaction.
"""

from __future__ import annotations

from sqlmodel import select

from models import Agency, PollEvent, Report
from models.db import session_scope
from notifications.labels import label
from worker.planning import add_notice
from worker.runtime import Runtime
from worker.steps import Next

HEADLINE = {
    "unreachable": "{agency}网站无法访问，暂停判定是否逾期",
    "recovered": "{agency}网站已恢复访问",
    "silent_edit": "{agency}年报发布后被修改",
    "backdated": "{agency}年报标注的发布日期早于实际可见日期",
    "ambiguous": "{agency}同一年度发现两份年报，需人工确认",
    "refused": "{agency}的抓取被拒绝（越界或不安全的地址）",
}
SEVERITY = {"unreachable": "warning", "recovered": "info", "silent_edit": "warning", "backdated": "warning",
            "ambiguous": "warning", "refused": "warning"}


def notify_poll_events(rt: Runtime) -> list[Next]:
    with session_scope(rt.db_url) as session:
        notices = []
        for event in session.exec(select(PollEvent).where(PollEvent.noticed_at == None).order_by(PollEvent.id)):  # noqa: E711
            agency = session.get(Agency, event.agency_id)
            report = session.get(Report, event.report_id) if event.report_id else None
            headline = HEADLINE.get(event.kind, "{agency}：" + label("event", event.kind)).format(agency=agency.name)
            notices.append(add_notice(
                session, rt, f"event:{event.dedup_key}", "alert", "office", agency, report, "alert",
                {"headline": headline, "lines": [event.detail] if event.detail else [],
                 "report_url": report.url if report else None}, severity=SEVERITY.get(event.kind, "warning")))
            event.noticed_at = rt.now()
            session.add(event)
        session.commit()
        return [Next("deliver", n.id) for n in notices if n is not None]
