"""One order lifecycle: the states in the wire's words

A web order handed over to its customer was stored as "handed_over" on the till and "collected" on the wire and
at the central store; app.domain.lifecycle says "collected" for all three. The status column grows to 20
characters: "recalled_elsewhere" (18) did not fit 15 on a till kept in PostgreSQL (SQLite does not enforce it).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("orders", "status", type_=sa.String(20), existing_nullable=False)
    op.execute(sa.text("UPDATE orders SET status = 'collected' WHERE status = 'handed_over'"))


def downgrade() -> None:
    op.execute(sa.text("UPDATE orders SET status = 'handed_over' WHERE status = 'collected'"))
