"""orders.original_order_id: a return names the sale it takes goods back from

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("original_order_id", sa.String(length=36), nullable=True))
        batch.create_index("ix_orders_original_order_id", ["original_order_id"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_original_order_id")
        batch.drop_column("original_order_id")
