"""Durable work states: each row that owes a next step says so, since when, and how often the
reconciler has handed it out (worker/reconciler.py), with indexes for its sweeps.

report: status 'discovered' owes a fetch (state_since, attempts; status 'failed' when given up).
snapshot.work_state: parse | ocr | evaluate | done | failed.  evaluation.work_state: plan | done | failed.
notice: indexed by (status, next_attempt_at) for the delivery sweep.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import models.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _work_columns(batch, with_state: bool) -> None:
    if with_state:
        batch.add_column(sa.Column("work_state", sa.String(), nullable=False, server_default="done"))
    batch.add_column(sa.Column("state_since", models.types.UTCDateTime(timezone=True), nullable=True))
    batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    batch.add_column(sa.Column("last_error", sa.Text(), nullable=False, server_default=""))


def upgrade() -> None:
    with op.batch_alter_table("report") as batch:
        _work_columns(batch, with_state=False)
    with op.batch_alter_table("snapshot") as batch:
        _work_columns(batch, with_state=True)
    with op.batch_alter_table("evaluation") as batch:
        _work_columns(batch, with_state=True)
    # What was owed before this revision is owed still: derive it from the rows.
    op.execute("UPDATE report SET state_since = first_seen_at")
    op.execute("UPDATE snapshot SET state_since = fetched_at")
    op.execute("UPDATE evaluation SET state_since = created_at")
    op.execute("UPDATE snapshot SET work_state = 'parse' WHERE parse_status = 'pending'")
    op.execute("UPDATE snapshot SET work_state = 'ocr' WHERE parse_status = 'needs_ocr'")
    op.execute("UPDATE snapshot SET work_state = 'evaluate' WHERE parse_status = 'parsed' AND id IN "
               "(SELECT latest_snapshot_id FROM report) AND id NOT IN (SELECT snapshot_id FROM evaluation)")
    op.create_index("ix_report_status_since", "report", ["status", "state_since"])
    op.create_index("ix_snapshot_work", "snapshot", ["work_state", "state_since"])
    op.create_index("ix_evaluation_work", "evaluation", ["work_state", "state_since"])
    op.create_index("ix_notice_status_due", "notice", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notice_status_due", "notice")
    op.drop_index("ix_evaluation_work", "evaluation")
    op.drop_index("ix_snapshot_work", "snapshot")
    op.drop_index("ix_report_status_since", "report")
    for table, with_state in (("evaluation", True), ("snapshot", True), ("report", False)):
        with op.batch_alter_table(table) as batch:
            for column in (("work_state",) if with_state else ()) + ("state_since", "attempts", "last_error"):
                batch.drop_column(column)
