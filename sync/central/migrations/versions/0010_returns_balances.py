"""Returns authority (what a return takes from, its figures, over-returns parked), web orders returned at a desk,
store credit and gift card balances kept by the central store, chain-wide settings

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("returns") as batch:
        batch.add_column(sa.Column("web_order_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("customer_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("items", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("refunded", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("over", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_returns_original_order_id", "returns", ["original_order_id"])
    op.create_index("ix_returns_web_order_id", "returns", ["web_order_id"])
    op.create_index("ix_returns_customer_id", "returns", ["customer_id"])
    with op.batch_alter_table("web_orders") as batch:
        batch.add_column(sa.Column("returned", sa.String(length=8), nullable=False, server_default=""))
    op.create_table(
        "balances",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("stores", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "account"),
    )
    op.create_table(
        "balance_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("terminal_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_balance_entries_account", "balance_entries", ["kind", "account"])
    op.create_table(
        "central_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("central_settings")
    op.drop_index("ix_balance_entries_account", table_name="balance_entries")
    op.drop_table("balance_entries")
    op.drop_table("balances")
    with op.batch_alter_table("web_orders") as batch:
        batch.drop_column("returned")
    op.drop_index("ix_returns_customer_id", table_name="returns")
    op.drop_index("ix_returns_web_order_id", table_name="returns")
    op.drop_index("ix_returns_original_order_id", table_name="returns")
    with op.batch_alter_table("returns") as batch:
        for column in ("over", "refunded", "items", "customer_id", "web_order_id"):
            batch.drop_column(column)
