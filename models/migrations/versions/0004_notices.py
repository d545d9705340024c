"""Notices people act on: delivery attempts, silences, digests, follow-through dates.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

import models.types

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice") as batch:
        batch.add_column(sa.Column("severity", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("body_html", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("attachment_name", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("attachment", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("next_attempt_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("acked_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("acked_by", sa.String(), nullable=False, server_default=""))
    with op.batch_alter_table("office") as batch:
        batch.add_column(sa.Column("admins", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("deficiency") as batch:
        batch.add_column(sa.Column("correct_by", sa.Date(), nullable=True))
        batch.add_column(sa.Column("reminded_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", models.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "deliveryattempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notice.id"), nullable=False, index=True),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("targets", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
    )
    op.create_table(
        "silence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id"), nullable=True, index=True),
        sa.Column("rule_id", sa.String(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "digest",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period_end", models.types.UTCDateTime(timezone=True), nullable=False, index=True),
        sa.Column("period_start", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notice.id"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("digest")
    op.drop_table("silence")
    op.drop_table("deliveryattempt")
    with op.batch_alter_table("deficiency") as batch:
        for name in ("correct_by", "reminded_at", "escalated_at"):
            batch.drop_column(name)
    with op.batch_alter_table("office") as batch:
        batch.drop_column("admins")
    with op.batch_alter_table("notice") as batch:
        for name in ("severity", "body_html", "attachment_name", "attachment", "next_attempt_at", "acked_at",
                     "acked_by"):
            batch.drop_column(name)
