"""Polling: expected reports, poll events, discovery and change columns on report/source/agency.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

import models.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expected_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("stated_published_on", sa.Date(), nullable=True),
        sa.Column("backdated", sa.Boolean(), nullable=False),
        sa.Column("ambiguous", sa.Boolean(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("state_since", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "year"),
    )
    op.create_index("ix_expected_report_agency_id", "expected_report", ["agency_id"])
    op.create_table(
        "poll_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("noticed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_poll_event_dedup_key", "poll_event", ["dedup_key"], unique=True)
    op.create_index("ix_poll_event_agency_id", "poll_event", ["agency_id"])
    with op.batch_alter_table("agency") as batch:
        batch.add_column(sa.Column("polling", sa.JSON(), nullable=True))
    with op.batch_alter_table("source") as batch:
        batch.add_column(sa.Column("last_ok_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_ok_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("failed_since", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("unreachable_since", models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("report") as batch:
        batch.add_column(sa.Column("via", sa.String(), nullable=False, server_default="listing"))
        batch.add_column(sa.Column("confidence", sa.Float(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("article_url", sa.String(), nullable=True))
        batch.add_column(sa.Column("ambiguous", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("visible_after", sa.Date(), nullable=True))
        batch.add_column(sa.Column("backdated", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("edited_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("edit_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_check_at", models.types.UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_source_next_poll_at", "source", ["next_poll_at"])


def downgrade() -> None:
    op.drop_index("ix_source_next_poll_at", "source")
    with op.batch_alter_table("report") as batch:
        for column in ("next_check_at", "edit_count", "edited_at", "backdated", "visible_after", "ambiguous",
                       "article_url", "confidence", "via"):
            batch.drop_column(column)
    with op.batch_alter_table("source") as batch:
        for column in ("unreachable_since", "failed_since", "last_ok_on", "last_ok_at"):
            batch.drop_column(column)
    with op.batch_alter_table("agency") as batch:
        batch.drop_column("polling")
    op.drop_table("poll_event")
    op.drop_table("expected_report")
