"""Web order payment, per-shipment state and storefront idempotency keys

* web_orders.paid (true for the orders before it: the storefront took the money, as it always had), and the refund
  a paid order owes when it is cancelled or expires (refund_due, refund_due_at);
* Idempotency-Keys are each storefront credential's own: web_orders.idempotency_scope, unique with the key (the
  key alone is no longer unique); the orders before keep their keys in the scope "" (no credential named);
* per-shipment state needs no column: a line's `state` becomes "shipped" when its store's part has left;
* routing speed: stock_levels indexed by product, and on PostgreSQL the stores table (its feed_seq is updated at
  every feed change) keeps room on its pages for HOT updates.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_orders") as batch:
        batch.add_column(sa.Column("paid", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("refund_due", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("refund_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("idempotency_scope", sa.String(length=40), nullable=True))
        batch.drop_index("ix_web_orders_idempotency_key")
        batch.create_index("ix_web_orders_idempotency_key", ["idempotency_key"], unique=False)
    op.execute("UPDATE web_orders SET idempotency_scope = '' WHERE idempotency_key IS NOT NULL")
    with op.batch_alter_table("web_orders") as batch:
        batch.create_unique_constraint("uq_web_orders_idempotency", ["idempotency_scope", "idempotency_key"])
    # Routing reads a few products' levels at every store: without this it scanned every level of the chain.
    op.create_index("ix_stock_levels_product_id", "stock_levels", ["product_id"])
    if op.get_bind().dialect.name == "postgresql":
        # A store's row is updated at every change of its feed (feed_seq): with room left on its page each new
        # version stays there (a HOT update, pruned as it goes) instead of growing the table and its index by
        # one entry per change, which had every lock of a store wade through thousands of dead versions.
        op.execute("ALTER TABLE stores SET (fillfactor = 10)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE stores RESET (fillfactor)")
    op.drop_index("ix_stock_levels_product_id", table_name="stock_levels")
    with op.batch_alter_table("web_orders") as batch:
        batch.drop_constraint("uq_web_orders_idempotency", type_="unique")
        batch.drop_index("ix_web_orders_idempotency_key")
        batch.create_index("ix_web_orders_idempotency_key", ["idempotency_key"], unique=True)
        batch.drop_column("idempotency_scope")
        batch.drop_column("refund_due_at")
        batch.drop_column("refund_due")
        batch.drop_column("paid")
