"""Web orders: curbside arrival and the hold window

A pickup or curbside order records when the customer said they arrived (and the bay or car they gave); each store
keeps how many days a ready order is held before it expires.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("hold_days", sa.Integer(), nullable=False, server_default="7"))
    with op.batch_alter_table("web_orders") as batch:
        batch.add_column(sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("arrival", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_orders") as batch:
        batch.drop_column("arrival")
        batch.drop_column("arrived_at")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("hold_days")
