"""A source's poll is durable work too (worker/polls.py): when it was handed out (poll_claimed_at),
when a poll of it started and under which message (poll_started_at, poll_token), and how often the
reconciler has handed it out again (poll_attempts). It is owed while it has not been polled since
the claim; indexed for the reconciler's sweep.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import models.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source") as batch:
        batch.add_column(sa.Column("poll_claimed_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("poll_started_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("poll_token", sa.String(), nullable=True))
        batch.add_column(sa.Column("poll_attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_source_poll_claimed_at", "source", ["poll_claimed_at"])
    # An open cycle was one row merged for all cycles; it is a row per cycle now ("cycle_open:<id>").
    op.execute("DELETE FROM health WHERE component = 'cycle_open'")


def downgrade() -> None:
    op.drop_index("ix_source_poll_claimed_at", "source")
    with op.batch_alter_table("source") as batch:
        for column in ("poll_attempts", "poll_token", "poll_started_at", "poll_claimed_at"):
            batch.drop_column(column)
