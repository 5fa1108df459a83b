"""Customer notices (one row per order, kind and stage), pickup codes kept hashed, order status tokens

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_access",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("pickup_verifier", sa.JSON(), nullable=True),
        sa.Column("pickup_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tracking", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["web_orders.id"]),
        sa.PrimaryKeyConstraint("order_id"),
        sa.UniqueConstraint("token"),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["web_orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "kind", "stage", name="uq_notices_order_kind_stage"),
    )
    op.create_index("ix_notices_order_id", "notices", ["order_id"])
    op.create_index("ix_notices_due", "notices", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notices_due", table_name="notices")
    op.drop_index("ix_notices_order_id", table_name="notices")
    op.drop_table("notices")
    op.drop_table("order_access")
