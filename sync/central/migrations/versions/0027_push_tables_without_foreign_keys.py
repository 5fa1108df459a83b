"""The tables every pushed sale appends to keep no foreign keys on PostgreSQL

Each foreign key is a query PostgreSQL runs for every row written (`SELECT 1 FROM stores WHERE id = $1 FOR KEY
SHARE`), and a sale of three lines wrote some twenty of them: its sale and applied event (two keys each), three
movements (four each), its feed rows and its facts. The key-share lock each check takes on the store's row, while another push
holds that row (the store's lock), also makes PostgreSQL build a multixact for the row. Every id these columns hold
is written by the central itself, from the row it has just read in the same transaction (the terminal of the token,
its store, the location and product of the line), and nothing ever deletes a store, terminal, location or product.

Measured, benchmarks/sync.py (20 tills x 5,000 sales of one store, `--workers 2`), runs alternated with 0026: on a
quiet hour PostgreSQL's CPU went from 0.23-0.24 to 0.15-0.19 ms an event (2,345-2,374 events/s to 2,305-2,698), on
a slow one from 0.32 to 0.21-0.23 (1,529-1,561 events/s to 1,755-1,776).

SQLite keeps them (one machine, no lock on a row to share, and dropping one there rebuilds the table, which drops
its triggers). `tests/sync/test_push_keys.py` checks that every id these rows hold is a row of its table after
varied pushes.

Revision ID: 0027
Revises: 0026
"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# (table, column, referred table): PostgreSQL named each <table>_<column>_fkey.
KEYS = (
    ("sales", "store_id", "stores"),
    ("sales", "terminal_id", "terminals"),
    ("applied_events", "store_id", "stores"),
    ("applied_events", "terminal_id", "terminals"),
    ("stock_movements", "store_id", "stores"),
    ("stock_movements", "location_id", "locations"),
    ("stock_movements", "product_id", "products"),
    ("stock_movements", "terminal_id", "terminals"),
    ("change_feed", "store_id", "stores"),
    ("sale_facts", "store_id", "stores"),
    ("sale_line_facts", "store_id", "stores"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, _ in KEYS:
        op.drop_constraint(f"{table}_{column}_fkey", table, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, referred in KEYS:
        op.create_foreign_key(f"{table}_{column}_fkey", table, referred, [column], ["id"])
