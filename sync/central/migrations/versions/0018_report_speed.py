"""Chain report speed (issue 24): indexes the chain reports over a year read by.

The pickups and pack bench reports read the orders' status changes of one kind (ready, collected, packed) over a
period: without an index on (to_status, at) each order's whole history was read through its order. The returns
reports read a store's returns over a period by (store_id, occurred_at).

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_order_status_history_to_status_at", "order_status_history", ["to_status", "at"])
    op.create_index("ix_returns_store_occurred", "returns", ["store_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_returns_store_occurred", table_name="returns")
    op.drop_index("ix_order_status_history_to_status_at", table_name="order_status_history")
