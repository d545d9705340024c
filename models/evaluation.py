"""The scoring of one snapshot under one ruleset version, and its findings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Evaluation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("snapshot_id", "ruleset_version"),
                      Index("ix_evaluation_work", "work_state", "state_since"))

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    ruleset_version: str
    score: int
    grade: str
    failed: int = 0
    not_evaluated: int = 0
    # Evaluated share (0–1) of the applicable checks, weighted (rules.scoring.coverage_of); None
    # for evaluations stored before it was measured, or when no weighted rule applied.
    coverage: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # plan (its notices are owed) | done | failed (given up: last_error); see worker/reconciler.py
    work_state: str = "plan"
    state_since: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str = Field(default="", sa_type=Text)


class Finding(SQLModel, table=True):
    """A rule outcome that is not a pass: `fail` (goes to the agency) or `not_evaluated` (admins)."""

    __table_args__ = (UniqueConstraint("evaluation_id", "rule_id", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    evaluation_id: int = Field(foreign_key="evaluation.id", index=True)
    rule_id: str
    subject: str = ""
    status: str  # fail | not_evaluated
    severity: str
    title: str
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    basis: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    points: float = 0  # what this finding cost the score: the points lost add up to 100 - score
