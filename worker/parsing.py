"""Step parse_snapshot: a stored document → ParsedReport JSON on the Snapshot row.

A document that cannot be read ends as a recorded status with its reason (not_a_report,
unsupported_format, needs_ocr, unreadable), never as a crash: it shows in `status`.
A report whose own agency or year disagrees with the agency and year it is filed under
(a wrong `ingest`, a listing that links another agency's report) is kept, parsed, as
``needs_review`` with the reason (待人工确认): it is not scored as this agency's report,
so no notice can go out about it.

A scan (a PDF without a text layer, an image) ends this step as ``needs_ocr`` and hands itself
to step ocr_snapshot, which Celery routes to its own queue (``ocr``, its own workers and
concurrency: a batch of scans never delays the reading of other reports) and the embedded
engine runs in-process. ocr_snapshot reads it by OCR within the bounds of the settings
(NIANBAO_OCR_*) and records the outcome exactly as parse_snapshot does. A lost ocr message
is redone after NIANBAO_LEASE_OCR by the reconciler and by the beat's ocr_pending, which
claims the scans still owing OCR (work_state ``ocr``) past that lease, as the reconciler does.
"""

from __future__ import annotations

import logging

from documents.errors import DocumentError
from models import Agency, Report, Snapshot
from models.db import session_scope
from models.types import utcnow
from worker.runtime import Runtime
from worker.steps import Next, enter, owed

log = logging.getLogger(__name__)
PARSER_VERSION = "1"
NEEDS_REVIEW = "needs_review"  # parsed, but not this filing's report: a person must say (待人工确认)


def ocr_options(settings):
    from documents.ocr import OcrOptions

    return OcrOptions(max_pages=settings.ocr_max_pages, max_pixels=settings.ocr_max_pixels,
                      page_seconds=settings.ocr_page_seconds)


def parse_snapshot(rt: Runtime, snapshot_id: int) -> list[Next]:
    return _parse(rt, snapshot_id, ocr=False)


def ocr_snapshot(rt: Runtime, snapshot_id: int) -> list[Next]:
    """A scan read by OCR (on the ocr queue): only a snapshot parse_snapshot left as needs_ocr."""
    return _parse(rt, snapshot_id, ocr=True)


def ocr_pending(rt: Runtime, now=None) -> list[Next]:
    """Every scan that has waited for OCR past its lease (NIANBAO_LEASE_OCR: its message lost,
    its worker gone), handed on again. Claimed in the database as the reconciler claims work
    (state and time, in one UPDATE): a scan whose message still waits in the queue is not
    handed out a second time, and two runs at once never hand out one scan twice."""
    from worker.reconciler import STAGES, claim

    if not rt.settings.ocr:
        return []
    stage = next(s for s in STAGES if s.name == "ocr")
    with session_scope(rt.db_url) as session:
        ids = claim(session, rt, stage, now or utcnow())
        session.commit()
    return [Next("ocr_snapshot", i) for i in ids]


def _after_reading(rt: Runtime, snapshot: Snapshot, ocr: bool) -> str:
    """The work a snapshot owes once read: scoring, OCR for a scan (not after OCR), or nothing."""
    if snapshot.parse_status == "parsed":
        return "evaluate"
    return "ocr" if snapshot.parse_status == "needs_ocr" and rt.settings.ocr and not ocr else "done"


def _pictures(rt: Runtime, session, report: Report):
    """How the pictures of an HTML report (its tables pasted as images) are had: fetched from
    the agency's own hosts like the report itself, by their src as written (reader.read_pictures
    asks for each). One that cannot be fetched is None (left out: its table is then missing,
    which the structure rules report)."""
    from urllib.parse import urljoin

    from documents.errors import FetchError

    if not report.url.startswith(("http://", "https://")):
        return None
    allowed = session.get(Agency, report.agency_id).allowed_hosts

    def fetch(src: str) -> bytes | None:
        try:
            return rt.fetcher.get(urljoin(report.url, src), allowed_hosts=allowed).content
        except FetchError as exc:
            log.warning("picture %s of report %s not fetched: %s", src, report.id, exc.reason)
            return None

    return fetch


def _parse(rt: Runtime, snapshot_id: int, *, ocr: bool) -> list[Next]:
    from documents.reader import read_document
    from rules.identity import filing_mismatch

    with session_scope(rt.db_url) as session:
        snapshot = session.get(Snapshot, snapshot_id)
        if snapshot is None:
            return []
        if (ocr and snapshot.parse_status != "needs_ocr") or (
                not ocr and snapshot.parser_version == PARSER_VERSION and snapshot.parse_status != "pending"):
            # Already read (a late duplicate): hand on what is still owed.
            after = _after_reading(rt, snapshot, ocr=False)
            if snapshot.work_state in ("parse", "ocr") and snapshot.work_state != after:
                enter(snapshot, "work_state", after, utcnow())
                session.add(snapshot)
                session.commit()
            return owed(snapshot)
        report = session.get(Report, snapshot.report_id)
        data = rt.blobs.get(snapshot.sha256)
        charset = None
        if "charset=" in snapshot.content_type:
            charset = snapshot.content_type.split("charset=", 1)[1].strip()
        try:
            pictures = _pictures(rt, session, report) if ocr else None
            parsed = read_document(data, content_type=snapshot.content_type.split(";")[0], name=report.url,
                                   charset=charset, ocr=ocr_options(rt.settings) if ocr else None, pictures=pictures)
        except DocumentError as exc:
            snapshot.parse_status, snapshot.parse_error = exc.status, exc.reason
            if ocr and exc.status == "needs_ocr":  # OCR could not help (no engine): say so, don't loop
                snapshot.parse_status = "unreadable"
        except Exception as exc:  # a parser bug must not lose the document: record it and move on
            log.exception("parser failed on snapshot %s", snapshot.id)
            snapshot.parse_status, snapshot.parse_error = "unreadable", f"parser error: {type(exc).__name__}: {exc}"
        else:
            snapshot.parse_status, snapshot.parse_error = "parsed", ""
            mismatch = filing_mismatch(session.get(Agency, report.agency_id).name, report.year,
                                       parsed.meta.get("agency"), parsed.meta.get("year"))
            if mismatch:
                snapshot.parse_status, snapshot.parse_error = NEEDS_REVIEW, mismatch
            snapshot.parsed = parsed.to_json(with_text=True)
            snapshot.year = parsed.meta.get("year")
            snapshot.template = parsed.meta.get("template")
            if report.year is None and snapshot.year and not mismatch:
                report.year = snapshot.year
            if not report.title and parsed.meta.get("title") and not mismatch:
                report.title = parsed.meta["title"]
            session.add(report)
        snapshot.parser_version = PARSER_VERSION
        # Read: scoring is owed (only a readable report of this filing is scored), or OCR for a scan.
        enter(snapshot, "work_state", _after_reading(rt, snapshot, ocr), utcnow())
        session.add(snapshot)
        session.commit()
        return owed(snapshot)
