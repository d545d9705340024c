"""The last known state of each configuration input (agencies file, rules), for `status`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Health(SQLModel, table=True):
    component: str = Field(primary_key=True)  # agencies | rules
    ok: bool = True
    message: str = Field(default="", sa_type=Text)
    checked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
