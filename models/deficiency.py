"""An open problem of one agency and report year, kept across report versions until resolved."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Deficiency(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("agency_id", "year", "rule_id", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    year: int
    rule_id: str
    subject: str = ""
    severity: str
    title: str
    message: str
    state: str = "open"  # open | resolved
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_evaluation_id: int | None = None
    # Follow-through: the date to correct by (working days from the first notice), and the ladder.
    correct_by: date | None = None
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
