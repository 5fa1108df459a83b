"""Tax rates kept exactly (6 decimals) and the store's tax settings

* tax_classes.rate was integer ten-thousandths (4 decimals: 0.08875 was stored as 0.0888); it becomes integer
  millionths (6 decimals). The column stays BIGINT on SQLite and PostgreSQL (rates are scaled integers, like money
  and quantities, so sums are exact on both), so only its values change: times 100.
* stores gains tax_mode, tax_rounding and cash_rounding, the store's tax settings its tills follow.
* products gains scale_code, the item code a scale prints on the price-embedded labels of a weighed item.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE tax_classes SET rate = rate * 100")
    with op.batch_alter_table("stores") as batch:
        batch.add_column(
            sa.Column("tax_mode", sa.String(length=10), nullable=False, server_default="inclusive")
        )
        batch.add_column(
            sa.Column("tax_rounding", sa.String(length=10), nullable=False, server_default="line")
        )
        batch.add_column(sa.Column("cash_rounding", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("scale_code", sa.String(length=10), nullable=True))
        batch.create_index("ix_products_scale_code", ["scale_code"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_index("ix_products_scale_code")
        batch.drop_column("scale_code")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("cash_rounding")
        batch.drop_column("tax_rounding")
        batch.drop_column("tax_mode")
    # Back to ten-thousandths, half up (the old scale cannot hold 8.875 %).
    op.execute("UPDATE tax_classes SET rate = (rate + 50) / 100")
