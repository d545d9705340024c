"""Step parse_snapshot: a stored document → ParsedReport JSON on the Snapshot row.

A document that cannot be read ends as a recorded status with its reason (not_a_report,
unsupported_format, needs_ocr, unreadable), never as a crash: it shows in `status`.
A report whose own agency or year disagrees with the agency and year it is filed under
(a wrong `ingest`, a listing that links another agency's report) is kept, parsed, as
``needs_review`` with the reason (待人工确认): it is not scored as this agency's report,
so no notice can go out about it.
"""

from __future__ import annotations

import logging

from documents.errors import DocumentError
from models import Agency, Report, Snapshot
from models.db import session_scope
from worker.runtime import Runtime
from worker.steps import Next

log = logging.getLogger(__name__)
PARSER_VERSION = "1"
NEEDS_REVIEW = "needs_review"  # parsed, but not this filing's report: a person must say (待人工确认)


def parse_snapshot(rt: Runtime, snapshot_id: int) -> list[Next]:
    from documents.reader import read_document
    from rules.identity import filing_mismatch

    with session_scope(rt.db_url) as session:
        snapshot = session.get(Snapshot, snapshot_id)
        if snapshot is None:
            return []
        if snapshot.parser_version == PARSER_VERSION and snapshot.parse_status != "pending":
            # Already parsed by this parser: carry on (evaluate is itself idempotent).
            return [Next("evaluate", snapshot.id)] if snapshot.parse_status == "parsed" else []
        report = session.get(Report, snapshot.report_id)
        data = rt.blobs.get(snapshot.sha256)
        charset = None
        if "charset=" in snapshot.content_type:
            charset = snapshot.content_type.split("charset=", 1)[1].strip()
        try:
            parsed = read_document(data, content_type=snapshot.content_type.split(";")[0], name=report.url,
                                   charset=charset)
        except DocumentError as exc:
            snapshot.parse_status, snapshot.parse_error = exc.status, exc.reason
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
        session.add(snapshot)
        session.commit()
        return [Next("evaluate", snapshot.id)] if snapshot.parse_status == "parsed" else []
