"""One order lifecycle: the states in the wire's words

Nothing to change here: the central store has always stored the wire's words (it validated every status against
sync.protocol.ORDER_STATES, now app.domain.lifecycle). The revision is kept so the chain stays linear.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
