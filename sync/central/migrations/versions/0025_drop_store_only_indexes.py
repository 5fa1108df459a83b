"""Sales and returns: the index on store_id alone dropped

Each repeated the leading column of its table's (store_id, number) unique index, which serves every lookup by
store as well; every sale a till pushed still wrote an entry into both.

Revision ID: 0025
Revises: 0024
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_sales_store_id", table_name="sales")
    op.drop_index("ix_returns_store_id", table_name="returns")


def downgrade() -> None:
    op.create_index("ix_returns_store_id", "returns", ["store_id"])
    op.create_index("ix_sales_store_id", "sales", ["store_id"])
