"""Web order payment, per-shipment state and storefront idempotency keys

* web_orders.paid (true for the orders before it: the storefront took the money, as it always had), and the refund
  a paid order owes when it is cancelled or expires (refund_due, refund_due_at);
* Idempotency-Keys are each storefront credential's own: web_orders.idempotency_scope, unique with the key (the
  key alone is no longer unique); the orders before keep their keys in the scope "" (no credential named);
* per-shipment state needs no column: a line's `state` becomes "shipped" when its store's part has left.

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


def downgrade() -> None:
    with op.batch_alter_table("web_orders") as batch:
        batch.drop_constraint("uq_web_orders_idempotency", type_="unique")
        batch.drop_index("ix_web_orders_idempotency_key")
        batch.create_index("ix_web_orders_idempotency_key", ["idempotency_key"], unique=True)
        batch.drop_column("idempotency_scope")
        batch.drop_column("refund_due_at")
        batch.drop_column("refund_due")
        batch.drop_column("paid")
