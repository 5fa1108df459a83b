"""Scoped and revocable credentials; identities scoped to their store

Terminals: enrolment generation, the replaced token's grace, revocation, last numbers seen, the first-admin window
and the audit anchor. API keys: their stores and revocation. Parked sales, sales and returns: numbers unique per
store (they were unique across the chain). Applied events: the generation that pushed them. Staff: the central's
own view of each store's staff, filled from the staff changes already in the feeds.

Revision ID: 0004
Revises: 0003
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_UQ = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _swap_unique(table: str, drop: str, create: str, columns: list[str]) -> None:
    """Replace one unique constraint of `table` by another. The chain-wide unique(number) of 0001 has no name:
    PostgreSQL calls it <table>_number_key, and on SQLite a naming convention names it for batch mode."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(drop.replace(f"uq_{table}_number", f"{table}_number_key"), table, type_="unique")
        op.create_unique_constraint(
            create.replace(f"uq_{table}_number", f"{table}_number_key"), table, columns
        )
        return
    with op.batch_alter_table(table, naming_convention=_UQ) as batch:
        batch.drop_constraint(drop, type_="unique")
        batch.create_unique_constraint(create, columns)


def _parked_table(name: str, key: tuple[str, ...]) -> sa.Table:
    return op.create_table(
        name,
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("terminal", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint(*key),
    )


def upgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.add_column(sa.Column("generation", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("previous_token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("previous_token_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_numbers", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("bootstrap_open", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("anchor_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("anchor_hash", sa.String(length=128), nullable=True))
        batch.create_unique_constraint("uq_terminals_previous_token_hash", ["previous_token_hash"])
    with op.batch_alter_table("api_keys") as batch:
        # Keys made before this were chain-wide; they stay so until revoked.
        batch.add_column(sa.Column("stores", sa.JSON(), nullable=False, server_default='["*"]'))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("applied_events") as batch:
        batch.add_column(sa.Column("generation", sa.Integer(), nullable=False, server_default="1"))

    for table in ("sales", "returns"):
        _swap_unique(table, f"uq_{table}_number", f"uq_{table}_store_number", ["store_id", "number"])
    op.drop_index("ix_parked_sales_store_id", table_name="parked_sales")
    _parked_table("parked_sales_new", ("store_id", "number"))
    columns = "store_id, number, terminal, status, lines, updated_at"
    op.execute(f"INSERT INTO parked_sales_new ({columns}) SELECT {columns} FROM parked_sales")
    op.drop_table("parked_sales")
    op.rename_table("parked_sales_new", "parked_sales")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE parked_sales RENAME CONSTRAINT parked_sales_new_pkey TO parked_sales_pkey")

    staff = op.create_table(
        "staff",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("store_id", "user_id"),
    )
    _backfill_staff(staff)


def _backfill_staff(staff: sa.Table) -> None:
    """The staff each store's feed already carries, newest change per user: the central's starting view."""
    feed: sa.TableClause = sa.table(
        "change_feed",
        sa.column("store_id", sa.Integer()),
        sa.column("seq", sa.BigInteger()),
        sa.column("type", sa.String()),
        sa.column("payload", sa.JSON()),
    )
    bind = op.get_bind()
    latest: dict[tuple[int, uuid.UUID], dict[str, object]] = {}
    rows = bind.execute(
        sa.select(feed.c.store_id, feed.c.payload).where(feed.c.type == "staff").order_by(feed.c.seq)
    )
    for store_id, payload in rows:
        try:
            user_id = uuid.UUID(str(payload["id"]))
            row = {
                "store_id": store_id,
                "user_id": user_id,
                "username": str(payload["username"])[:50],
                "role": str(payload["role"])[:20],
                "active": bool(payload.get("active", True)),
                "changed_by": "migration",
                "updated_at": datetime.now(UTC),
            }
        except (KeyError, TypeError, ValueError):
            continue
        latest[(store_id, user_id)] = row
    if latest:
        op.bulk_insert(staff, list(latest.values()))
    _scrub_old_hashes(feed)


def _scrub_old_hashes(feed: sa.TableClause) -> None:
    """Only a user's newest staff change keeps a PIN hash (and only while the user is active): older hashes are
    older PINs, of no use to a till and worth trying offline to whoever reads the feed."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(feed.c.store_id, feed.c.seq, feed.c.payload)
        .where(feed.c.type == "staff")
        .order_by(feed.c.seq.desc())
    ).all()
    newest: set[tuple[int, str]] = set()
    for store_id, seq, payload in rows:
        key = (store_id, str(payload.get("id")))
        keep = key not in newest and bool(payload.get("active", True))
        newest.add(key)
        if keep:
            continue
        scrubbed = {**payload, "pin_hash": "disabled", "badge_code": None}
        bind.execute(
            feed.update().where(feed.c.store_id == store_id, feed.c.seq == seq).values(payload=scrubbed)
        )


def downgrade() -> None:
    op.drop_table("staff")
    _parked_table("parked_sales_old", ("number",))
    columns = "store_id, number, terminal, status, lines, updated_at"
    op.execute(f"INSERT INTO parked_sales_old ({columns}) SELECT {columns} FROM parked_sales")
    op.drop_table("parked_sales")
    op.rename_table("parked_sales_old", "parked_sales")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE parked_sales RENAME CONSTRAINT parked_sales_old_pkey TO parked_sales_pkey")
    op.create_index("ix_parked_sales_store_id", "parked_sales", ["store_id"], unique=False)
    for table in ("sales", "returns"):
        _swap_unique(table, f"uq_{table}_store_number", f"uq_{table}_number", ["number"])
    with op.batch_alter_table("applied_events") as batch:
        batch.drop_column("generation")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("stores")
    with op.batch_alter_table("terminals") as batch:
        batch.drop_constraint("uq_terminals_previous_token_hash", type_="unique")
        for column in (
            "anchor_hash",
            "anchor_seq",
            "bootstrap_open",
            "last_numbers",
            "revoked_at",
            "previous_token_until",
            "previous_token_hash",
            "generation",
        ):
            batch.drop_column(column)
