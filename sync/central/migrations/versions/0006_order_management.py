"""Order management at the central store: stock receipts and transfers, safety stock, reservations, routing traces

* stores gains latitude and longitude (routing to the nearest store that has the goods).
* web_orders gains idempotency_key (unique) and request_hash: the storefront's key returns the same order.
* web_order_lines gains state: "reserved" while its quantity is held, "unavailable" when handed back and no other
  location could take it.
* safety_stock: stock kept back from web orders, per store, per product or both.
* stock_documents: the import, receipt or transfer that caused movements made at the central store.
* routing_traces: each routing decision with its rule, candidates, stock seen and choice.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))
    with op.batch_alter_table("web_orders") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
        batch.create_index("ix_web_orders_idempotency_key", ["idempotency_key"], unique=True)
    with op.batch_alter_table("web_order_lines") as batch:
        batch.add_column(sa.Column("state", sa.String(length=16), nullable=False, server_default="reserved"))
    op.create_table(
        "safety_stock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_safety_stock_scope", "safety_stock", ["store_id", "product_id"])
    op.create_table(
        "stock_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("to_store_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.ForeignKeyConstraint(["to_store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stock_documents_store_id", "stock_documents", ["store_id"])
    op.create_table(
        "routing_traces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=300), nullable=False),
        sa.Column("outcome", sa.String(length=300), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("chosen", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["web_orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_routing_traces_order_id", "routing_traces", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_routing_traces_order_id", table_name="routing_traces")
    op.drop_table("routing_traces")
    op.drop_index("ix_stock_documents_store_id", table_name="stock_documents")
    op.drop_table("stock_documents")
    op.drop_index("ix_safety_stock_scope", table_name="safety_stock")
    op.drop_table("safety_stock")
    with op.batch_alter_table("web_order_lines") as batch:
        batch.drop_column("state")
    with op.batch_alter_table("web_orders") as batch:
        batch.drop_index("ix_web_orders_idempotency_key")
        batch.drop_column("request_hash")
        batch.drop_column("idempotency_key")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("longitude")
        batch.drop_column("latitude")
