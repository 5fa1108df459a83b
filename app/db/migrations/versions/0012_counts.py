"""Stock at the store: cycle counts and their lines

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cycle_counts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("posted_by", sa.String(length=36), nullable=True),
        sa.Column("posted_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_cycle_counts_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_counts")),
    )
    op.create_index(op.f("ix_cycle_counts_status"), "cycle_counts", ["status"], unique=False)
    op.create_table(
        "count_lines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("count_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("counted", app.db.types.Qty(), nullable=True),
        sa.Column("expected", app.db.types.Qty(), nullable=True),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.Column("feed_seq", sa.Integer(), nullable=True),
        sa.Column("counted_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("counted_by", sa.String(length=36), nullable=True),
        sa.Column("posted_qty", app.db.types.Qty(), nullable=True),
        sa.ForeignKeyConstraint(
            ["count_id"], ["cycle_counts.id"], name=op.f("fk_count_lines_count_id_cycle_counts")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_count_lines_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_lines")),
        sa.UniqueConstraint("count_id", "product_id", name=op.f("uq_count_lines_count_id")),
    )


def downgrade() -> None:
    op.drop_table("count_lines")
    op.drop_index(op.f("ix_cycle_counts_status"), table_name="cycle_counts")
    op.drop_table("cycle_counts")
