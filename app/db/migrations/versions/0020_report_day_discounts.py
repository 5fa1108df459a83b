"""The closed days' discounts, summed (issue 24): the summary of discounts by reason and approver reads a year as
days, not as its ~57k discounted lines. Forgotten with its day by migration 0019's triggers (its rows are read
only through `report_days`).

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_day_discounts",
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("n", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approver_id", sa.String(36), nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        sa.Column("given", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
    )
    # What was kept before this table existed has no discounts: those days are summed again.
    op.execute("DELETE FROM report_days")


def downgrade() -> None:
    op.drop_table("report_day_discounts")
