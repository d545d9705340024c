"""What polling knows beyond the pages: the report each agency owes each year, and the events
the supervisor must hear about (a site unreachable, a report changed after publication, a
stated date earlier than nianbao could have seen the page, a year with two candidate reports).

PollEvent is written by the poller only; the notices side reads the rows whose noticed_at is
empty, tells the supervisor, and sets noticed_at. dedup_key makes "told once" a unique key.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow

EXPECTATION_STATES = ("pending", "published", "published_late", "missing", "unreachable")
EVENT_KINDS = ("unreachable", "recovered", "silent_edit", "backdated", "ambiguous", "refused")


class ExpectedReport(SQLModel, table=True):
    """One agency × report year: pending → published | published_late | missing; unreachable apart."""

    __tablename__ = "expected_report"
    __table_args__ = (UniqueConstraint("agency_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    year: int
    deadline: date
    state: str = "pending"
    detail: str = ""  # why, in a few words (Chinese: shown to the office)
    report_id: int | None = Field(default=None, foreign_key="report.id")  # None when ambiguous
    published_on: date | None = None  # the date lateness is judged on (see worker.expectations)
    stated_published_on: date | None = None  # what the page says
    backdated: bool = False
    ambiguous: bool = False
    candidates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state_since: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PollEvent(SQLModel, table=True):
    __tablename__ = "poll_event"

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(unique=True, index=True)
    kind: str  # one of EVENT_KINDS
    agency_id: int = Field(foreign_key="agency.id", index=True)
    source_id: int | None = Field(default=None, foreign_key="source.id")
    report_id: int | None = Field(default=None, foreign_key="report.id")
    detail: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    noticed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # set by the notices side
