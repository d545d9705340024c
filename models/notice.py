"""The outbox: every notice is a row before it is sent, and its outcome is recorded on it,
with one DeliveryAttempt row per try (time, result, the provider's error)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Notice(SQLModel, table=True):
    __table_args__ = (Index("ix_notice_status_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # What makes a notice the same notice: sending it twice is a bug (see worker.planning).
    dedup_key: str = Field(unique=True, index=True)
    # deficiency | reminder | overdue | resolution | missing | alert | digest | admin
    kind: str
    audience: str  # agency | office | admins
    severity: str = ""  # the highest severity it speaks of, for routing
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    report_id: int | None = Field(default=None, foreign_key="report.id")
    subject: str
    body: str = Field(sa_type=Text)
    body_html: str = Field(default="", sa_type=Text)
    attachment_name: str = ""
    attachment: str = Field(default="", sa_type=Text)  # CSV text of a digest
    status: str = "pending"  # pending | sending | sent | failed | unknown (worker died mid-send)
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acked_by: str = ""


class DeliveryAttempt(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ok: bool
    permanent: bool = False
    targets: str = ""  # masked: secrets never reach the database
    error: str = Field(default="", sa_type=Text)


class Silence(SQLModel, table=True):
    """An admin's decision not to notify about a rule (for one agency or all) until a date."""

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)  # None: every agency
    rule_id: str
    until: date
    reason: str
    created_by: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Digest(SQLModel, table=True):
    """One periodic digest to the office: what it covered, so the next one can say what changed."""

    id: int | None = Field(default=None, primary_key=True)
    period_end: datetime = Field(sa_type=UTCDateTime, index=True)
    period_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
