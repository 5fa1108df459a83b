"""Pack bench: boxes, their contents and bench figures

A shipped web order is packed box by box: each box (`pack_boxes`) has its SSCC, package type, weight and tracking
number; what went into it (`pack_box_items`) keeps the line, quantity, lot, expiry and serial number, and whether it
was confirmed by hand (with the approval and reason). `pack_figures` keeps the bench's figures per order for Reports.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pack_boxes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("box_no", sa.Integer(), nullable=False),
        sa.Column("package_type", sa.String(length=30), nullable=False),
        sa.Column("sscc", sa.String(length=18), nullable=False),
        sa.Column("sscc_scanned", sa.Boolean(), nullable=False),
        sa.Column("weight_kg", app.db.types.Qty(), nullable=True),
        sa.Column("tracking", sa.String(length=40), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_pack_boxes_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pack_boxes")),
        sa.UniqueConstraint("sscc", name=op.f("uq_pack_boxes_sscc")),
    )
    with op.batch_alter_table("pack_boxes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pack_boxes_order_id"), ["order_id"], unique=False)
    op.create_table(
        "pack_box_items",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("box_id", sa.String(length=36), nullable=False),
        sa.Column("line_id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("qty", app.db.types.Qty(), nullable=False),
        sa.Column("lot", sa.String(length=20), nullable=True),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("serial", sa.String(length=20), nullable=True),
        sa.Column("by_hand", sa.Boolean(), nullable=False),
        sa.Column("approval_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["box_id"], ["pack_boxes.id"], name=op.f("fk_pack_box_items_box_id_pack_boxes")
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["order_lines.id"], name=op.f("fk_pack_box_items_line_id_order_lines")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_pack_box_items")),
    )
    with op.batch_alter_table("pack_box_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pack_box_items_box_id"), ["box_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pack_box_items_line_id"), ["line_id"], unique=False)
    op.create_table(
        "pack_figures",
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("started_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("packed_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("approvals", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_pack_figures_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_pack_figures")),
    )
    with op.batch_alter_table("pack_figures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pack_figures_packed_at"), ["packed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pack_figures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pack_figures_packed_at"))
    op.drop_table("pack_figures")
    with op.batch_alter_table("pack_box_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pack_box_items_line_id"))
        batch_op.drop_index(batch_op.f("ix_pack_box_items_box_id"))
    op.drop_table("pack_box_items")
    with op.batch_alter_table("pack_boxes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pack_boxes_order_id"))
    op.drop_table("pack_boxes")
