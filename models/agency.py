"""Who is watched: the supervisory office, its agencies, and the pages we poll for them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Office(SQLModel, table=True):
    """The supervisory office (one row). Targets are Apprise URLs (or {url, kinds, min_severity})
    with ${ENV} unexpanded: secrets are read from the environment only when sending."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    notify: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    admins: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Agency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True)
    name: str
    level: str  # government | department
    region: str = ""
    deadline: str | None = None  # local override "MM-DD"
    notify: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    allowed_hosts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    polling: dict | None = Field(default=None, sa_column=Column(JSON))  # overrides (config/polling.py)
    rulemaking: bool | None = None  # may make 规章; None: as its name tells (rules/identity.py)


class Source(SQLModel, table=True):
    """A page polled for reports: a listing (the 年报 column), a feed, or a direct document URL.

    status stays new | ok | failed; a site failing `breaker_failures` polls in a row also gets
    unreachable_since (the circuit breaker is open) until a poll succeeds again."""

    __table_args__ = (UniqueConstraint("agency_id", "url"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    url: str
    kind: str = "listing"
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)  # due_sources reads it
    failures: int = 0
    status: str = "new"  # new | ok | failed
    status_reason: str = ""
    last_ok_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_ok_on: date | None = None  # the reference date (NIANBAO_TODAY or today) of the last good poll
    failed_since: datetime | None = Field(default=None, sa_type=UTCDateTime)  # first failure in a row
    unreachable_since: datetime | None = Field(default=None, sa_type=UTCDateTime)  # circuit breaker open
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Its poll as durable work (worker/polls.py): owed while not polled since poll_claimed_at; a poll
    # running since poll_started_at under the message poll_token; handed out again poll_attempts times.
    poll_claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    poll_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    poll_token: str | None = None
    poll_attempts: int = 0
