"""The periodic digest to the office: every agency's state, score and open deficiencies, grouped
by region, in sections new / still open / resolved since the previous digest, with the
status table attached as CSV. Sent when the last one is `digest_days` old (or never sent)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from itertools import groupby

from sqlalchemy import delete
from sqlmodel import Session, select

from models import Agency, Deficiency, Digest, Health, Notice, Silence
from models.db import session_scope
from models.types import utcnow
from notifications.dates import cn_date
from notifications.labels import label
from worker.planning import add_notice, expected_year
from worker.runtime import Runtime
from worker.status import agency_statuses
from worker.steps import Next

# The attachment is read in Excel by the office: Chinese headers and labels, dates as written.
CSV_COLUMNS = [("region", "地区"), ("name", "单位"), ("level_cn", "层级"), ("year", "报告年度"), ("state_cn", "状态"),
               ("detail", "说明"), ("published_on", "发布日期"), ("deadline", "截止日期"), ("score", "得分"),
               ("grade", "等级"), ("coverage", "可判定（%）"), ("open_errors", "未整改错误"), ("open_warnings", "未整改警示"),
               ("open_other", "其他未整改"), ("report_url", "年报地址"), ("slug", "单位代码")]


def digest_due(session: Session, rt: Runtime) -> bool:
    last = session.exec(select(Digest).order_by(Digest.period_end.desc())).first()
    return last is None or rt.today() - last.period_end.date() >= timedelta(days=rt.settings.digest_days)


OWED = "digest_owed"  # a Health row: the digest is due and waits for the work in flight to settle
SETTLE_WAIT = timedelta(minutes=30)  # at most this long: a pipeline that never settles still gets its digest


def send_digest(rt: Runtime, *, force: bool = False) -> list[Next]:
    """The digest, when it is due (or forced), built once the work in flight has settled: nothing
    polled, fetched, read, scored or planned is still owed (a scan waiting for OCR is not waited
    for), so it reports the cycle that precedes it, scores and deficiencies included. Until then it
    is owed (a row); the reconciler sends it once the work has settled, or after SETTLE_WAIT."""
    with session_scope(rt.db_url) as session:
        if not force and not digest_due(session, rt):
            session.execute(delete(Health).where(Health.component == OWED))
            session.commit()
            return []
        owed = session.get(Health, OWED)
        if not force and unsettled(rt) and not (owed and owed.checked_at <= utcnow() - SETTLE_WAIT):
            if owed is None:
                session.add(Health(component=OWED, ok=True, message="waiting for the work in flight",
                                   checked_at=utcnow()))
                session.commit()
            return []
        notice = build_digest(session, rt)
        session.execute(delete(Health).where(Health.component == OWED))
        session.commit()
        return [Next("deliver", notice.id)] if notice else []


def owed(rt: Runtime) -> tuple[datetime, dict[str, int]] | None:
    """When the digest is owed: the latest time it goes out (SETTLE_WAIT after it fell due) and the
    work it is waiting for, per step; None when no digest waits."""
    with session_scope(rt.db_url) as session:
        row = session.get(Health, OWED)
    if row is None:
        return None
    since = row.checked_at if row.checked_at.tzinfo else row.checked_at.replace(tzinfo=timezone.utc)
    return since + SETTLE_WAIT, unsettled(rt)


def owed_digest(rt: Runtime) -> list[Next]:
    """The reconciler's part: a digest that waited for the work to settle is sent once it has."""
    with session_scope(rt.db_url) as session:
        if session.get(Health, OWED) is None:
            return []
    return send_digest(rt)


def unsettled(rt: Runtime) -> dict[str, int]:
    """The work still owed that the digest would report on (scans waiting for OCR and notices
    apart): per step, when any."""
    from worker.cycle import waiting

    left = waiting(rt, ocr=False)
    return {step: n for step, n in left.items() if n and step not in ("deliver", "digest")}


def build_digest(session: Session, rt: Runtime):
    today = rt.today()
    period_end = rt.now()
    last = session.exec(select(Digest).order_by(Digest.period_end.desc())).first()
    since = last.period_end if last else None
    agencies = {a.id: a for a in session.exec(select(Agency))}
    rows = agency_statuses(session, today)

    def view(case: Deficiency) -> dict:
        return {"agency": agencies[case.agency_id].name, "rule_id": case.rule_id, "title": case.title,
                "severity": case.severity, "correct_by": case.correct_by,
                "overdue": bool(case.correct_by and case.correct_by < today)}

    cases = list(session.exec(select(Deficiency).order_by(Deficiency.agency_id, Deficiency.rule_id)))
    new = [view(c) for c in cases if c.state == "open" and (since is None or c.opened_at > since)]
    still_open = [view(c) for c in cases if c.state == "open" and since is not None and c.opened_at <= since]
    still_open.sort(key=lambda d: not d["overdue"])  # overdue first, like an alert list
    resolved = [view(c) for c in cases if c.state == "resolved" and c.resolved_at and
                (since is None or c.resolved_at > since)]
    silences = [{"agency": agencies[s.agency_id].name if s.agency_id else "全部单位", "rule_id": s.rule_id,
                 "until": s.until, "reason": s.reason, "created_by": s.created_by}
                for s in session.exec(select(Silence).where(Silence.until >= today))]
    # A notice whose delivery outcome is unknown is listed in every digest until someone acts.
    unknown = [{"id": n.id, "subject": n.subject, "kind": n.kind, "claimed_at": n.claimed_at}
               for n in session.exec(select(Notice).where(Notice.status == "unknown", Notice.acked_at == None)  # noqa: E711
                                     .order_by(Notice.id))]
    views = sorted(({**r.as_dict(), "state_cn": label("state", r.state), "level_cn": label("level", r.level)}
                    for r in rows), key=lambda r: (r["region"], -r["open_errors"], r["slug"]))
    by_region = [(region, [_Row(r) for r in items]) for region, items in groupby(views, key=lambda r: r["region"])]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in CSV_COLUMNS])
    writer.writerows([csv_cell(r.get(key)) for key, _ in CSV_COLUMNS] for r in views)
    key = f"digest:{today.isoformat()}"
    notice = add_notice(session, rt, key, "digest", "office", None, None, "digest",
                        {"year": expected_year(today), "period_start": since, "period_end": today, "rows": rows,
                         "by_region": by_region, "new": new, "still_open": still_open, "resolved": resolved,
                         "overdue": [d for d in still_open + new if d["overdue"]], "silences": silences,
                         "unknown_notices": unknown})
    if notice is None or session.info.get("preview"):
        return notice
    notice.attachment_name = f"nianbao-{today.isoformat()}.csv"
    notice.attachment = out.getvalue()  # delivery writes it with a BOM, for Excel
    session.flush()
    session.add(Digest(period_end=period_end, period_start=since, notice_id=notice.id))
    return notice


def csv_cell(value):
    """Empty stays empty; dates as the office writes them; text that a spreadsheet would run as a
    formula (= + - @) is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit():
        return cn_date(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


class _Row(dict):
    """Attribute access for templates (r.name) over the status dict."""

    __getattr__ = dict.__getitem__
