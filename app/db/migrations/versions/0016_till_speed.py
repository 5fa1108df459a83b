"""Till speed: the name search index answers prefix queries from its own prefix entries

The FTS5 index over product names is rebuilt with prefix indexes for 2, 3 and 4 characters and without word
positions (detail=none: the search matches words by prefix and never by phrase or position). A query word of up to
4 letters ("milk", "bre") is then one entry, not a merge of every word it starts; on 1,000,000 products the match
step of a two-word query went from 14 ms to 1.5 ms (p50, benchmarks/lookup.py). The triggers on `products` keep it
current as before. Other databases have no such index.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_OPTIONS = "content='products', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'"


def _rebuild(extra: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS product_search")
    op.execute(f"CREATE VIRTUAL TABLE product_search USING fts5(name, sku, {_OPTIONS}{extra})")
    op.execute("INSERT INTO product_search(product_search) VALUES ('rebuild')")


def upgrade() -> None:
    _rebuild(", prefix='2 3 4', detail='none'")


def downgrade() -> None:
    _rebuild("")
