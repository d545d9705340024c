"""What the pages and the API show, read through models/ and worker/ (never written here
except through the actions in web/actions.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from models import (Agency, Deficiency, DeliveryAttempt, Evaluation, Finding, Notice, PollEvent, Report, Silence,
                    Snapshot, Source)
from worker.status import agency_statuses

STATE_LABELS = {"published": "已发布", "late": "逾期发布", "pending": "待发布", "missing": "未发布",
                "unreachable": "网站无法访问", "ambiguous": "多份待确认", "needs_review": "待人工确认", "unreadable": "无法读取",
                "not_scored": "未评分", "not_fetched": "未抓取"}
LEVEL_LABELS = {"government": "人民政府", "department": "部门"}
SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
NOTICE_STATUS_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败",
                        "unknown": "状态未知", "no_target": "无接收方"}
SORT_KEYS = ("slug", "name", "level", "region", "state", "score", "errors", "deadline", "last_fetch")
COLUMNS = ("natural", "business", "research", "nonprofit", "legal", "other_org", "total")
COLUMN_LABELS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")
APPLY_ROWS = [
    ("new", "一、本年新收政府信息公开申请数量"), ("carried", "二、上年结转政府信息公开申请数量"),
    ("granted", "三（一）予以公开"), ("partial", "三（二）部分公开"),
    ("withheld.state_secret", "（三）不予公开 1.属于国家秘密"), ("withheld.law_forbidden", "2.其他法律行政法规禁止公开"),
    ("withheld.security_stability", "3.危及“三安全一稳定”"), ("withheld.third_party", "4.保护第三方合法权益"),
    ("withheld.internal_affairs", "5.属于三类内部事务信息"), ("withheld.process_info", "6.属于四类过程性信息"),
    ("withheld.enforcement_file", "7.属于行政执法案卷"), ("withheld.inquiry", "8.属于行政查询事项"),
    ("unable.not_held", "（四）无法提供 1.本机关不掌握相关政府信息"), ("unable.needs_creation", "2.没有现成信息需要另行制作"),
    ("unable.unclear", "3.补正后申请内容仍不明确"), ("rejected.petition", "（五）不予处理 1.信访举报投诉类申请"),
    ("rejected.repeat", "2.重复申请"), ("rejected.publication", "3.要求提供公开出版物"),
    ("rejected.mass_repeat", "4.无正当理由大量反复申请"), ("rejected.confirm_existing", "5.要求行政机关确认或重新出具已获取信息"),
    ("other.no_correction", "（六）其他处理 1.申请人无正当理由逾期不补正"), ("other.unpaid_fee", "2.申请人逾期未按收费通知要求缴纳费用"),
    ("other.other", "3.其他"), ("results_total", "（七）总计"), ("carry_forward", "四、结转下年度继续办理"),
]
SECTION_LABELS = {"overview": "一、总体情况", "active": "二、主动公开政府信息情况", "requests": "三、收到和处理政府信息公开申请情况",
                  "appeals": "四、政府信息公开行政复议、行政诉讼情况", "problems": "五、存在的主要问题及改进情况",
                  "other": "六、其他需要报告的事项"}


class NotFound(LookupError):
    pass


def silences_active(session: Session, today: date) -> list[Silence]:
    return list(session.exec(select(Silence).where(Silence.until >= today).order_by(Silence.id)))


def overview(session: Session, today: date, *, state: str | None = None, level: str | None = None,
             region: str | None = None, q: str | None = None, sort: str = "slug", desc: bool = False) -> list[dict]:
    """agency_statuses rows, with region, last fetch, countdown and silenced open deficiencies."""
    silences = silences_active(session, today)
    statuses = agency_statuses(session, today)
    open_rules: dict[int, set[str]] = {}
    if statuses and silences:
        for agency_id, rule_id in session.exec(select(Deficiency.agency_id, Deficiency.rule_id).where(
                Deficiency.year == statuses[0].year, Deficiency.state == "open",
                Deficiency.rule_id.in_({s.rule_id for s in silences}))):
            open_rules.setdefault(agency_id, set()).add(rule_id)
    rows = []
    for status in statuses:
        silenced = sorted(r for r in open_rules.get(status.agency_id, ())
                          if any(s.rule_id == r and s.agency_id in (None, status.agency_id) for s in silences))
        row = status.as_dict()
        row.update(state_label=STATE_LABELS.get(status.state, status.state),
                   level_label=LEVEL_LABELS.get(status.level, status.level),
                   days_to_deadline=(date.fromisoformat(status.deadline) - today).days, silenced_rules=silenced)
        rows.append(row)
    return filter_rows(rows, state=state, level=level, region=region, q=q, sort=sort, desc=desc)


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
        raise NotFound(f"no agency {slug!r}")
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
    """The parsed-field keys a finding concerns, from its evidence (`where` keys, `field`)."""
    keys: set[str] = set()
    ev = f.evidence or {}
    if isinstance(ev.get("where"), dict):
        keys.update(ev["where"])
    if isinstance(ev.get("field"), str):
        keys.add(ev["field"])
    if isinstance(ev.get("fields"), (list, dict)):
        keys.update(k for k in ev["fields"] if isinstance(k, str))
    return keys


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
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(f"no report {report_id}")
    agency = session.get(Agency, report.agency_id)
    snapshot = session.get(Snapshot, snapshot_id or report.latest_snapshot_id) if (snapshot_id or report.latest_snapshot_id) else None
    if snapshot is not None and snapshot.report_id != report.id:
        raise NotFound(f"no snapshot {snapshot_id} of report {report_id}")
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
                       "ruleset_version": evaluation.ruleset_version} if evaluation else None,
        "meta": parsed.get("meta") or {},
        "sections": [{"key": k, "label": SECTION_LABELS.get(k, k), **(v if isinstance(v, dict) else {"present": v})}
                     for k, v in (parsed.get("sections") or {}).items()],
        "apply_table": apply_table(parsed, flagged),
        "other_fields": [{"field": k, "value": fields.get(k), "where": (parsed.get("where") or {}).get(k, ""),
                          "rules": flagged[k]} for k in other_flagged],
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
    n = session.get(Notice, notice_id)
    if n is None:
        raise NotFound(f"no notice {notice_id}")
    attempts = session.exec(select(DeliveryAttempt).where(DeliveryAttempt.notice_id == n.id).order_by(DeliveryAttempt.id))
    return {**notice_dict(n, body=True), "attempts_log": [
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
