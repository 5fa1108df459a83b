"""The report facts of sales and applied events are written once per statement on PostgreSQL, not once per row.

Migrations 0020 to 0022 take a sale's (and a hand-over's) facts out of its document with row triggers: five
plpgsql calls per sale, each parsing the stored JSON document again. A push writes its batch's sales with one
COPY, so the same statements now run once per COPY or INSERT over its transition table (`new_rows`), set-wise:
on `benchmarks/sync.py` the triggers were more than half of PostgreSQL's CPU per pushed sale. The statements
are those of 0020 to 0022, with the transition table as their source; what they write is unchanged. SQLite keeps
its row triggers (it has no statement triggers).

Revision ID: 0023
Revises: 0022
"""

import importlib

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_0020 = importlib.import_module("sync.central.migrations.versions.0020_chain_report_facts")
_0021 = importlib.import_module("sync.central.migrations.versions.0021_sale_facts")
_0022 = importlib.import_module("sync.central.migrations.versions.0022_discount_facts")

# The row triggers of 0020-0022 (trigger, table, function).
_ROW_TRIGGERS = (
    ("tr_sales_facts", "sales", "counterline_sale_facts()"),
    ("tr_sales_sale_facts", "sales", "counterline_sale_total_facts()"),
    ("tr_sales_discount_facts", "sales", "counterline_discount_facts()"),
    ("tr_applied_events_facts", "applied_events", "counterline_event_facts()"),
    ("tr_applied_events_sale_facts", "applied_events", "counterline_handover_sale_facts()"),
)

# Each statement reads the rows the statement inserted (n), as the backfills of 0020-0022 read the whole table.
_NEW = {"r": "n", "source": "new_rows n,", "source_only": "FROM new_rows n", "statuses": _0020._STATUSES}

_TRIGGERS = """
CREATE FUNCTION counterline_sales_facts_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {sales};
    RETURN NULL;
END $$;

CREATE FUNCTION counterline_events_facts_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {events};
    RETURN NULL;
END $$;

CREATE TRIGGER tr_sales_facts_set AFTER INSERT ON sales REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION counterline_sales_facts_set();
CREATE TRIGGER tr_applied_events_facts_set AFTER INSERT ON applied_events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION counterline_events_facts_set();
"""


def sales_statements() -> list[str]:
    """The statements of the sales' facts trigger, over `new_rows n` (0024 writes them as one; its downgrade
    brings these back)."""
    return [
        _0020._PG_SALE.format(**_NEW),
        _0021._PG_SALE.format(**_NEW),
        _0021._PG_SALE_LINES.format(**_NEW),
        *(_0022._pg("n", "new_rows n,", kind, field) for kind, field in _0022._KINDS),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger, table, function in _ROW_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    sales = sales_statements()
    events = [
        _0020._PG_HANDOVER.format(**_NEW),
        _0020._PG_ORDER_EVENT.format(**_NEW),
        _0021._PG_HANDOVER.format(**_NEW),
        _0021._PG_HANDOVER_LINES.format(**_NEW),
    ]
    op.execute(_TRIGGERS.format(sales=";\n    ".join(sales), events=";\n    ".join(events)))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS tr_applied_events_facts_set ON applied_events")
    op.execute("DROP TRIGGER IF EXISTS tr_sales_facts_set ON sales")
    op.execute("DROP FUNCTION IF EXISTS counterline_events_facts_set()")
    op.execute("DROP FUNCTION IF EXISTS counterline_sales_facts_set()")
    row = {"r": "NEW", "source": "", "source_only": "", "statuses": _0020._STATUSES}
    op.execute(
        _0020._PG_TRIGGERS.format(
            sale=_0020._PG_SALE.format(**row),
            handover=_0020._PG_HANDOVER.format(**row),
            order_event=_0020._PG_ORDER_EVENT.format(**row),
        )
    )
    op.execute(
        _0021._PG_TRIGGERS.format(
            sale=_0021._PG_SALE.format(**row),
            sale_lines=_0021._PG_SALE_LINES.format(**row),
            handover=_0021._PG_HANDOVER.format(**row),
            handover_lines=_0021._PG_HANDOVER_LINES.format(**row),
        )
    )
    trigger = ";\n    ".join(_0022._pg("NEW", "", kind, field) for kind, field in _0022._KINDS)
    op.execute(_0022._PG_TRIGGER.format(statements=trigger))
