"""Returns: balances published to every store's feed

* balance_pending: per store, the balances (store credit, gift cards) that changed since that store's feed last had
  them; each push publishes them to the other stores under each store's own lock (sync.central.balances).
  Exchanges need no column: an exchange's credit is a payment kind of the return and of the sale.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "balance_pending",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("store_id", "kind", "account"),
    )


def downgrade() -> None:
    op.drop_table("balance_pending")
