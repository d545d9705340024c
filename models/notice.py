"""The outbox: every notice is a row before it is sent, and its outcome is recorded on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Notice(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # What makes a notice the same notice: sending it twice is a bug (see worker.planning).
    dedup_key: str = Field(unique=True, index=True)
    kind: str  # deficiency | resolution | alert
    audience: str  # agency | office
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    report_id: int | None = Field(default=None, foreign_key="report.id")
    subject: str
    body: str = Field(sa_type=Text)
    status: str = "pending"  # pending | sending | sent | failed | unknown (worker died mid-send)
    attempts: int = 0
    last_error: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
