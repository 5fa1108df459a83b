"""The store's minimum stock (issue 24): the central store's safety stock of each product at the store, sent to its
tills (a `minimum` change: sync.applier), so the stock report below minimum holds the same minimum at the till and
at the central store. A product's reorder level, which nothing but the demo ever set, is taken over as its
minimum here, and read no more.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_minimums",
        sa.Column("sku", sa.String(40), primary_key=True),
        sa.Column("qty", app.db.types.Qty(), nullable=False),
    )
    op.execute("INSERT INTO stock_minimums (sku, qty) SELECT sku, reorder_level FROM products WHERE reorder_level > 0")


def downgrade() -> None:
    op.drop_table("stock_minimums")
