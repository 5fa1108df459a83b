"""central stock: the store's stock as the central store reports it

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "central_stock",
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("location", sa.String(length=30), nullable=False),
        sa.Column("on_hand", app.db.types.Qty(), nullable=False),
        sa.Column("reserved", app.db.types.Qty(), nullable=False),
        sa.Column("available", app.db.types.Qty(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sku", "location", name=op.f("pk_central_stock")),
    )


def downgrade() -> None:
    op.drop_table("central_stock")
