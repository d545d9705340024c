"""Reports found on agency pages, and each version of their document we fetched."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Report(SQLModel, table=True):
    """One published annual report of one agency, keyed by its URL."""

    __table_args__ = (UniqueConstraint("agency_id", "url"), Index("ix_report_status_since", "status", "state_since"))

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    source_id: int | None = Field(default=None, foreign_key="source.id")
    url: str
    title: str = ""
    year: int | None = Field(default=None, index=True)
    published_on: date | None = None
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # discovered (owes a fetch) | fetched | fetch_failed | ambiguous | failed (the reconciler gave up)
    status: str = "discovered"
    status_reason: str = ""
    state_since: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime)  # when status last changed
    attempts: int = 0  # times the reconciler handed its owed step out again (worker/reconciler.py)
    last_error: str = Field(default="", sa_type=Text)  # the last unexpected error of its fetch (for admins)
    latest_snapshot_id: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    # How it was found: listing | feed | document | article | attachment | ingest
    via: str = "listing"
    confidence: float = 1.0
    article_url: str | None = None  # the page the report was taken from, when followed
    ambiguous: bool = False  # another document claims the same year: a person must say which
    visible_after: date | None = None  # the last good poll of its source that did not show it
    backdated: bool = False  # published_on is earlier than visible_after
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # last change after publication
    edit_count: int = 0  # new versions after the first one
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Snapshot(SQLModel, table=True):
    """One version of a report's document, by content hash; the bytes live in the blob store."""

    __table_args__ = (UniqueConstraint("report_id", "sha256"), Index("ix_snapshot_work", "work_state", "state_since"))

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    sha256: str = Field(index=True)
    content_type: str = ""
    size: int = 0
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # pending | parsed | not_a_report | unsupported_format | needs_ocr | unreadable
    parse_status: str = "pending"
    parse_error: str = ""
    parser_version: str = ""
    parsed: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Kept in columns so lists and rules need not decode the JSON blob.
    year: int | None = None
    template: str | None = None
    # The step this version owes (worker/reconciler.py): parse | ocr | evaluate | done | failed (given up,
    # last_error says why), since state_since, handed out again `attempts` times.
    work_state: str = "parse"
    state_since: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str = Field(default="", sa_type=Text)
