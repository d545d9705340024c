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
from models.db import rows_by_id, session_scope
from models.types import utcnow
from worker.runtime import Runtime
from worker.steps import Next, enter, error_text, owed

log = logging.getLogger(__name__)
PARSER_VERSION = "1"
NEEDS_REVIEW = "needs_review"  # parsed, but not this filing's report: a person must say (待人工确认)


def ocr_options(settings):
    from documents.ocr import OcrOptions

    return OcrOptions(max_pages=settings.ocr_max_pages, max_pixels=settings.ocr_max_pixels,
                      page_seconds=settings.ocr_page_seconds)


def parse_snapshot(rt: Runtime, snapshot_id: int) -> list[Next]:
    return _parse(rt, [snapshot_id], ocr=False, alone=True)


def parse_snapshots(rt: Runtime, snapshot_ids: list[int]) -> list[Next]:
    """A list of snapshots read in one session: each one's document read as parse_snapshot reads
    it, an item that fails keeping its error on its row (its read still owed) while the rest are
    written together. A database error fails the whole list."""
    return _parse(rt, snapshot_ids, ocr=False, alone=False)


def ocr_snapshot(rt: Runtime, snapshot_id: int) -> list[Next]:
    """A scan read by OCR (on the ocr queue): only a snapshot parse_snapshot left as needs_ocr."""
    return _parse(rt, [snapshot_id], ocr=True, alone=True)


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


def _pictures(rt: Runtime, report: Report, agency: Agency):
    """How the pictures of an HTML report (its tables pasted as images) are had: fetched from
    the agency's own hosts like the report itself, by their src as written (reader.read_pictures
    asks for each). One that cannot be fetched is None (left out: its table is then missing,
    which the structure rules report)."""
    from urllib.parse import urljoin

    from documents.errors import FetchError

    if not report.url.startswith(("http://", "https://")):
        return None
    allowed = agency.allowed_hosts

    def fetch(src: str) -> bytes | None:
        try:
            return rt.fetcher.get(urljoin(report.url, src), allowed_hosts=allowed).content
        except FetchError as exc:
            log.warning("picture %s of report %s not fetched: %s", src, report.id, exc.reason)
            return None

    return fetch


def _parse(rt: Runtime, snapshot_ids: list[int], *, ocr: bool, alone: bool) -> list[Next]:
    """Read the snapshots: their rows loaded a table at a time, each document read, every change
    written in one commit. ``alone``: an item's unexpected error is raised (the single step, whose
    caller records it); otherwise it is logged and kept as that row's last_error."""
    with session_scope(rt.db_url) as session:
        snapshots = rows_by_id(session, Snapshot, snapshot_ids)
        reports = rows_by_id(session, Report, {s.report_id for s in snapshots.values()})
        agencies = rows_by_id(session, Agency, {r.agency_id for r in reports.values()})
        steps: list[Next] = []
        for snapshot_id in dict.fromkeys(snapshot_ids):
            snapshot = snapshots.get(snapshot_id)
            if snapshot is None:
                continue
            if (ocr and snapshot.parse_status != "needs_ocr") or (
                    not ocr and snapshot.parser_version == PARSER_VERSION and snapshot.parse_status != "pending"):
                # Already read (a late duplicate): hand on what is still owed.
                after = _after_reading(rt, snapshot, ocr=False)
                if snapshot.work_state in ("parse", "ocr") and snapshot.work_state != after:
                    enter(snapshot, "work_state", after, utcnow())
                steps += owed(snapshot)
                continue
            report = reports[snapshot.report_id]
            try:
                changes, report_changes = _read(rt, snapshot, report, agencies[report.agency_id], ocr)
            except Exception as exc:
                if alone:
                    raise
                log.exception("step %s(%s) failed", "ocr_snapshot" if ocr else "parse_snapshot", snapshot_id)
                snapshot.last_error = error_text(exc)  # its read still owed: the reconciler redoes it
                continue
            for name, value in changes.items():
                setattr(snapshot, name, value)
            for name, value in report_changes.items():
                setattr(report, name, value)
            # Read: scoring is owed (only a readable report of this filing is scored), or OCR for a scan.
            enter(snapshot, "work_state", _after_reading(rt, snapshot, ocr), utcnow())
            steps += owed(snapshot)
        session.commit()
        return steps


def _read(rt: Runtime, snapshot: Snapshot, report: Report, agency: Agency, ocr: bool) -> tuple[dict, dict]:
    """One snapshot's document read: the changes to its row and to its report's (nothing is
    changed here, so an error leaves both as they were)."""
    from documents.reader import read_document
    from rules.identity import filing_mismatch

    data = rt.blobs.get(snapshot.sha256)
    charset = None
    if "charset=" in snapshot.content_type:
        charset = snapshot.content_type.split("charset=", 1)[1].strip()
    changes: dict = {"parser_version": PARSER_VERSION}
    report_changes: dict = {}
    try:
        pictures = _pictures(rt, report, agency) if ocr else None
        parsed = read_document(data, content_type=snapshot.content_type.split(";")[0], name=report.url,
                               charset=charset, ocr=ocr_options(rt.settings) if ocr else None, pictures=pictures)
    except DocumentError as exc:
        changes.update(parse_status=exc.status, parse_error=exc.reason)
        if ocr and exc.status == "needs_ocr":  # OCR could not help (no engine): say so, don't loop
            changes["parse_status"] = "unreadable"
    except Exception as exc:  # a parser bug must not lose the document: record it and move on
        log.exception("parser failed on snapshot %s", snapshot.id)
        changes.update(parse_status="unreadable", parse_error=f"parser error: {type(exc).__name__}: {exc}")
    else:
        changes.update(parse_status="parsed", parse_error="")
        mismatch = filing_mismatch(agency.name, report.year, parsed.meta.get("agency"), parsed.meta.get("year"))
        if mismatch:
            changes.update(parse_status=NEEDS_REVIEW, parse_error=mismatch)
        changes.update(parsed=parsed.to_json(with_text=True), year=parsed.meta.get("year"),
                       template=parsed.meta.get("template"))
        if report.year is None and changes["year"] and not mismatch:
            report_changes["year"] = changes["year"]
        if not report.title and parsed.meta.get("title") and not mismatch:
            report_changes["title"] = parsed.meta["title"]
    return changes, report_changes
