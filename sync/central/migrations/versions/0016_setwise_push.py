"""Set-wise push: sales and returns indexed by number alone

A push checks its batch's sale and return numbers against every store's sales, returns and web orders
(service.order_state._number_free); sales and returns were unique by (store, number) only, so each batch scanned
every sale of the chain. Web orders' numbers are unique, hence indexed, already.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sales_number", "sales", ["number"])
    op.create_index("ix_returns_number", "returns", ["number"])


def downgrade() -> None:
    op.drop_index("ix_returns_number", table_name="returns")
    op.drop_index("ix_sales_number", table_name="sales")
