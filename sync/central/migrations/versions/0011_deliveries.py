"""Expected deliveries and transfers between stores: purchase orders and transfers in transit, with their lines and
the SSCC of the case or pallet each travels in

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("from_store_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("discrepancies", sa.JSON(), nullable=False),
        sa.Column("received_event_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.ForeignKeyConstraint(["from_store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_id", "number", name="uq_deliveries_store_number"),
    )
    op.create_index("ix_deliveries_store_id", "deliveries", ["store_id"])
    op.create_index("ix_deliveries_published", "deliveries", ["published"])
    op.create_table(
        "delivery_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("sscc", sa.String(length=18), nullable=True),
        sa.Column("received", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_lines_delivery_id", "delivery_lines", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_lines_delivery_id", table_name="delivery_lines")
    op.drop_table("delivery_lines")
    op.drop_index("ix_deliveries_published", table_name="deliveries")
    op.drop_index("ix_deliveries_store_id", table_name="deliveries")
    op.drop_table("deliveries")
