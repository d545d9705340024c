"""Who is watched: the supervisory office, its agencies, and the pages we poll for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Office(SQLModel, table=True):
    """The supervisory office (one row); notify holds Apprise URLs with ${ENV} unexpanded."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    notify: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Agency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True)
    name: str
    level: str  # government | department
    region: str = ""
    deadline: str | None = None  # local override "MM-DD"
    notify: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    allowed_hosts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True


class Source(SQLModel, table=True):
    """A page polled for reports: a listing (the 年报 column) or a direct document URL."""

    __table_args__ = (UniqueConstraint("agency_id", "url"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    url: str
    kind: str = "listing"
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failures: int = 0
    status: str = "new"  # new | ok | failed
    status_reason: str = ""
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
