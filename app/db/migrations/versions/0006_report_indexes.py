"""Indexes for reports over a period: completed sales by time, on-hand summed from a covering index

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_channel_status_completed", "orders", ["channel", "status", "completed_at"])
    op.create_index(
        "ix_stock_movements_product_location_qty", "stock_movements", ["product_id", "location_id", "qty"]
    )
    op.drop_index("ix_stock_movements_product_location", table_name="stock_movements")


def downgrade() -> None:
    op.create_index("ix_stock_movements_product_location", "stock_movements", ["product_id", "location_id"])
    op.drop_index("ix_stock_movements_product_location_qty", table_name="stock_movements")
    op.drop_index("ix_orders_channel_status_completed", table_name="orders")
