"""Evaluation.coverage (how much of the report the rules could judge) and Agency.rulemaking
(whether the roster says the agency may make 规章).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluation") as batch:
        batch.add_column(sa.Column("coverage", sa.Float(), nullable=True))
    with op.batch_alter_table("agency") as batch:
        batch.add_column(sa.Column("rulemaking", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agency") as batch:
        batch.drop_column("rulemaking")
    with op.batch_alter_table("evaluation") as batch:
        batch.drop_column("coverage")
