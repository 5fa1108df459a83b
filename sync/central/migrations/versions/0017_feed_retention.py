"""Feed retention and catalog snapshots: each store's feed floor (entries below it may be compacted away) and an
index to find the latest entry of a key.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("feed_floor", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index("ix_change_feed_store_type_key", "change_feed", ["store_id", "type", "key", "seq"])


def downgrade() -> None:
    op.drop_index("ix_change_feed_store_type_key", table_name="change_feed")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("feed_floor")
