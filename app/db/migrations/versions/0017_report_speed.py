"""Report speed (issue 24): indexes the reports over a year of a busy store read by.

A year of a busy store is ~110k sales, ~900k lines and ~130k payments. The sales reports (by hour, by department,
top items, tenders) now read the period's sales, their lines and their payments from indexes that hold every column
they use, not from the rows; the discounts report reads only the lines that carry a discount or a price override
(a partial index); a shift's figures find its orders by shift. The old index on (channel, status, completed_at)
is the first columns of the new covering one, so it goes.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_MARKED = "discount IS NOT NULL OR price_override IS NOT NULL"


def upgrade() -> None:
    op.drop_index("ix_orders_channel_status_completed", table_name="orders")
    op.create_index(
        "ix_orders_sales_completed",
        "orders",
        ["channel", "status", "completed_at", "id", "total", "shift_id"],
    )
    op.create_index("ix_orders_shift", "orders", ["shift_id", "channel", "status"])
    op.create_index(
        "ix_order_lines_sold",
        "order_lines",
        ["order_id", "voided", "sku", "product_id", "qty", "amount", "name"],
    )
    op.create_index(
        "ix_order_lines_marked",
        "order_lines",
        ["order_id", "voided"],
        sqlite_where=sa.text(_MARKED),
        postgresql_where=sa.text(_MARKED),
    )
    op.create_index("ix_payments_order_tender", "payments", ["order_id", "kind", "amount", "tendered"])


def downgrade() -> None:
    op.drop_index("ix_payments_order_tender", table_name="payments")
    op.drop_index("ix_order_lines_marked", table_name="order_lines")
    op.drop_index("ix_order_lines_sold", table_name="order_lines")
    op.drop_index("ix_orders_shift", table_name="orders")
    op.drop_index("ix_orders_sales_completed", table_name="orders")
    op.create_index("ix_orders_channel_status_completed", "orders", ["channel", "status", "completed_at"])
