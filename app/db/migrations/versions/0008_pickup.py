"""Pickup: what the associate records at prepare and hand-over (the pickup_records table)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from app.db.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pickup_records",
        sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("ready_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("handed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("method", sa.String(10), nullable=True),
        sa.Column("collector", sa.String(200), nullable=True),
        sa.Column("refused", sa.JSON(), nullable=True),
        sa.Column("signature", sa.JSON(), nullable=True),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("put_back_at", UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("pickup_records")
