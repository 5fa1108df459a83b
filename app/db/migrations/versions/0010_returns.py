"""Returns desk: per return line, its reason code, the condition it came back in and where it went

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
    op.create_table(
        "return_lines",
        sa.Column("order_line_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("condition", sa.String(length=12), nullable=False),
        sa.Column("disposition", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_return_lines_order_line_id_order_lines")
        ),
        sa.PrimaryKeyConstraint("order_line_id", name=op.f("pk_return_lines")),
    )


def downgrade() -> None:
    op.drop_table("return_lines")
