"""Steps poll_source and fetch_report: agency pages → Report rows → Snapshots (by sha256).

Conditional GETs keep unchanged pages cheap; a document whose hash we already hold makes
no new snapshot, so a poll with nothing new changes nothing. A failed fetch is recorded on
its row before the TransientError asks for a retry.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from documents.errors import FetchError
from documents.listing import decode_page, find_report_links
from models import Agency, Report, Snapshot, Source
from models.db import session_scope
from models.types import utcnow
from worker.errors import TransientError
from worker.runtime import Runtime
from worker.steps import Next

log = logging.getLogger(__name__)


def _record_source_failure(session: Session, source: Source, exc: FetchError) -> None:
    source.failures += 1
    source.status, source.status_reason = "failed", exc.reason
    source.last_polled_at = utcnow()
    session.add(source)
    session.commit()


def _upsert_report(session: Session, agency: Agency, source: Source, url: str, title: str = "",
                   year: int | None = None, published=None) -> Report:
    report = session.exec(select(Report).where(Report.agency_id == agency.id, Report.url == url)).first()
    if report is None:
        report = Report(agency_id=agency.id, source_id=source.id, url=url)
    report.title = title or report.title
    report.year = year or report.year
    report.published_on = published or report.published_on
    session.add(report)
    session.flush()
    return report


def poll_source(rt: Runtime, source_id: int) -> list[Next]:
    with session_scope(rt.db_url) as session:
        source = session.get(Source, source_id)
        if source is None or not source.active:
            return []
        agency = session.get(Agency, source.agency_id)
        try:
            result = rt.fetcher.get(source.url, allowed_hosts=agency.allowed_hosts,
                                    etag=source.etag, last_modified=source.last_modified)
        except FetchError as exc:
            _record_source_failure(session, source, exc)
            if exc.permanent:
                return []
            raise TransientError(exc.reason) from None

        if source.kind == "document":
            report = _upsert_report(session, agency, source, source.url)
            found = [report]
        elif result.not_modified:
            found = list(session.exec(select(Report).where(Report.source_id == source.id)))
        else:
            page = decode_page(result.content, result.charset)
            links = find_report_links(page, result.url)
            found = [_upsert_report(session, agency, source, link.url, link.title, link.year, link.published)
                     for link in links]
        source.failures, source.status = 0, "ok"
        source.status_reason = "" if found else "no annual-report links on the page"
        source.etag, source.last_modified = result.etag, result.last_modified
        source.last_polled_at = utcnow()
        session.add(source)
        session.commit()
        # Every known report is re-checked: a conditional GET costs little and catches silent edits.
        return [Next("fetch_report", r.id) for r in found]


def fetch_report(rt: Runtime, report_id: int) -> list[Next]:
    with session_scope(rt.db_url) as session:
        report = session.get(Report, report_id)
        if report is None:
            return []
        agency = session.get(Agency, report.agency_id)
        try:
            result = rt.fetcher.get(report.url, allowed_hosts=agency.allowed_hosts,
                                    etag=report.etag, last_modified=report.last_modified)
        except FetchError as exc:
            report.status, report.status_reason = "fetch_failed", exc.reason
            session.add(report)
            session.commit()
            if exc.permanent:
                return []
            raise TransientError(exc.reason) from None
        if result.not_modified:
            return []
        sha = rt.blobs.put(result.content)  # before the row: a row never points at a missing blob
        snapshot = session.exec(select(Snapshot).where(Snapshot.report_id == report.id,
                                                       Snapshot.sha256 == sha)).first()
        next_steps: list[Next] = []
        if snapshot is None:
            content_type = result.content_type + (f"; charset={result.charset}" if result.charset else "")
            snapshot = Snapshot(report_id=report.id, sha256=sha, content_type=content_type, size=len(result.content))
            session.add(snapshot)
            session.flush()
            next_steps.append(Next("parse_snapshot", snapshot.id))
        elif snapshot.id != report.latest_snapshot_id:
            # The page went back to an earlier version: score that one again as the current one.
            next_steps.append(Next("evaluate", snapshot.id))
        report.latest_snapshot_id = snapshot.id
        report.status, report.status_reason = "fetched", ""
        report.etag, report.last_modified = result.etag, result.last_modified
        session.add(report)
        session.commit()
        return next_steps
