"""Discounts report speed (issue 24): the lines and sales it lists are read from indexes alone.

Over a year of a busy store (~110k sales, ~57k discounted or overridden lines) the discounts report read each marked
line's row and each sale's row for the fields it shows. Now:
- the marked lines' index holds what the report shows of a line (its number, name, quantity, price, and the discount
  and override documents). SQLite keeps them as index columns; PostgreSQL cannot order a JSON column, so its index
  carries them as INCLUDE columns (a separate name, as the models say);
- the sales index also holds the receipt number and the cashier;
- the few sales with a whole-sale discount have a partial index of their own.
A year's discounts query on SQLite: 579 -> 387 ms.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_MARKED = "discount IS NOT NULL OR price_override IS NOT NULL"
_SHOWN = ["line_no", "name", "qty", "unit_price", "discount", "price_override"]


def upgrade() -> None:
    op.drop_index("ix_order_lines_marked", table_name="order_lines")
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_order_lines_marked_pg",
            "order_lines",
            ["order_id", "voided"],
            postgresql_include=_SHOWN,
            postgresql_where=sa.text(_MARKED),
        )
    else:
        op.create_index(
            "ix_order_lines_marked", "order_lines", ["order_id", "voided", *_SHOWN], sqlite_where=sa.text(_MARKED)
        )
    op.drop_index("ix_orders_sales_completed", table_name="orders")
    op.create_index(
        "ix_orders_sales_completed",
        "orders",
        ["channel", "status", "completed_at", "id", "total", "shift_id", "number", "owner_id"],
    )
    op.create_index(
        "ix_orders_discounted",
        "orders",
        ["completed_at"],
        sqlite_where=sa.text("order_discount IS NOT NULL"),
        postgresql_where=sa.text("order_discount IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_discounted", table_name="orders")
    op.drop_index("ix_orders_sales_completed", table_name="orders")
    op.create_index(
        "ix_orders_sales_completed", "orders", ["channel", "status", "completed_at", "id", "total", "shift_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_order_lines_marked_pg", table_name="order_lines")
    else:
        op.drop_index("ix_order_lines_marked", table_name="order_lines")
    op.create_index(
        "ix_order_lines_marked",
        "order_lines",
        ["order_id", "voided"],
        sqlite_where=sa.text(_MARKED),
        postgresql_where=sa.text(_MARKED),
    )
