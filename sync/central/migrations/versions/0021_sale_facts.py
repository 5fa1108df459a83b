"""Chain sales facts (issue 24): per sale the tills count, its total and its lines taken, taken out of each pushed
document once, so the chain's sales by hour and top items read a year as rows of facts (sync.central.report_sales).

What a till's Z counts as a sale: a sale completed at a till (`sales`: its `total`, its document's lines) and a web
order paid at the pickup counter when handed over (the `order.status` change to collected whose receipt carries
the `total` and the lines `sold` that the till counted; a till sends them when it took the payment). Each written
by a trigger in the transaction that stores its source row, from that row alone (see migration 0020); the rows
already stored are taken over here. A moment, an amount or a line that does not read is left out, as in 0020. And
a partial index of the shift and staff events, which the chain's cash reports read (sync.central.report_cash).

Revision ID: 0021
Revises: 0020
"""

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_0020 = importlib.import_module("sync.central.migrations.versions.0020_chain_report_facts")
_lite_moment, _lite_cents, _j = _0020._lite_moment, _0020._lite_cents, _0020._j

# ---------------------------------------------------------------- PostgreSQL ({r} is the source row)

_PG_MILLI = r"""
CREATE OR REPLACE FUNCTION counterline_milli(value text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value ~ '^-?[0-9]{1,12}(\.[0-9]{1,3})?$' THEN round(value::numeric * 1000)::bigint END
$$;
"""

_PG_SALE = """
INSERT INTO sale_facts (store_id, source_id, total, at)
SELECT {r}.store_id, {r}.id, {r}.total, coalesce(counterline_moment({r}.document->>'completed_at'), {r}.occurred_at)
{source_only} WHERE {r}.total IS NOT NULL
"""

_PG_SALE_LINES = """
INSERT INTO sale_line_facts (store_id, source_id, sku, name, qty, amount, at)
SELECT {r}.store_id, {r}.id, left(l->>'sku', 64), left(coalesce(l->>'name', ''), 200),
       counterline_milli(l->>'qty'), counterline_cents(l->>'amount'),
       coalesce(counterline_moment({r}.document->>'completed_at'), {r}.occurred_at)
FROM {source} json_array_elements(counterline_array({r}.document->'lines')) l
WHERE {r}.total IS NOT NULL AND json_typeof(l) = 'object' AND json_typeof(l->'sku') = 'string'
  AND counterline_milli(l->>'qty') IS NOT NULL AND counterline_cents(l->>'amount') IS NOT NULL
"""

_PG_HANDOVER = """
INSERT INTO sale_facts (store_id, source_id, total, at)
SELECT {r}.store_id, {r}.event_id, counterline_cents({r}.payload->'receipt'->>'total'),
       coalesce(counterline_moment({r}.payload->>'handed_at'), {r}.occurred_at)
{source_only}
WHERE {r}.type = 'order.status' AND {r}.payload->>'to' = 'collected'
  AND json_typeof({r}.payload->'receipt') = 'object'
  AND counterline_cents({r}.payload->'receipt'->>'total') IS NOT NULL
"""

_PG_HANDOVER_LINES = """
INSERT INTO sale_line_facts (store_id, source_id, sku, name, qty, amount, at)
SELECT {r}.store_id, {r}.event_id, left(l->>0, 64), left(coalesce(l->>1, ''), 200),
       counterline_milli(l->>2), counterline_cents(l->>3),
       coalesce(counterline_moment({r}.payload->>'handed_at'), {r}.occurred_at)
FROM {source} json_array_elements(counterline_array(
    CASE WHEN json_typeof({r}.payload->'receipt') = 'object' THEN {r}.payload->'receipt'->'sold' END)) l
WHERE {r}.type = 'order.status' AND {r}.payload->>'to' = 'collected'
  AND counterline_cents({r}.payload->'receipt'->>'total') IS NOT NULL
  AND json_typeof(l) = 'array' AND json_typeof(l->0) = 'string'
  AND counterline_milli(l->>2) IS NOT NULL AND counterline_cents(l->>3) IS NOT NULL
"""

_PG_TRIGGERS = """
CREATE OR REPLACE FUNCTION counterline_sale_total_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {sale};
    {sale_lines};
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION counterline_handover_sale_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.type = 'order.status' THEN
        {handover};
        {handover_lines};
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tr_sales_sale_facts AFTER INSERT ON sales FOR EACH ROW EXECUTE FUNCTION counterline_sale_total_facts();
CREATE TRIGGER tr_applied_events_sale_facts AFTER INSERT ON applied_events
    FOR EACH ROW EXECUTE FUNCTION counterline_handover_sale_facts();
"""

# ---------------------------------------------------------------- SQLite


def _lite_milli(value: str) -> str:
    text = f"CAST({value} AS TEXT)"
    return (
        f"(CASE WHEN typeof({value}) IN ('text', 'integer', 'real') AND {text} GLOB '*[0-9]*' "
        f"AND {text} NOT GLOB '*[^0-9.-]*' THEN CAST(round(CAST({text} AS REAL) * 1000) AS INTEGER) END)"
    )


def _lite_sale(r: str, source_only: str) -> str:
    return f"""
INSERT INTO sale_facts (store_id, source_id, total, at)
SELECT {r}.store_id, {r}.id, {r}.total,
       coalesce({_lite_moment(_j(r, "document", "$.completed_at"))}, {r}.occurred_at)
{source_only} WHERE {r}.total IS NOT NULL AND json_valid({r}.document)
"""


def _lite_sale_lines(r: str, source: str) -> str:
    def field(name: str) -> str:
        return f"json_extract(l.value, '$.{name}')"

    return f"""
INSERT INTO sale_line_facts (store_id, source_id, sku, name, qty, amount, at)
SELECT {r}.store_id, {r}.id, substr({field("sku")}, 1, 64), substr(coalesce({field("name")}, ''), 1, 200),
       {_lite_milli(field("qty"))}, {_lite_cents(field("amount"))},
       coalesce({_lite_moment(_j(r, "document", "$.completed_at"))}, {r}.occurred_at)
FROM {source} json_each({r}.document, '$.lines') l
WHERE {r}.total IS NOT NULL AND json_valid({r}.document) AND json_type({r}.document, '$.lines') = 'array'
  AND l.type = 'object' AND json_type(l.value, '$.sku') = 'text'
  AND {_lite_milli(field("qty"))} IS NOT NULL AND {_lite_cents(field("amount"))} IS NOT NULL
"""


def _lite_handover(r: str, source_only: str) -> str:
    total = _lite_cents(_j(r, "payload", "$.receipt.total"))
    return f"""
INSERT INTO sale_facts (store_id, source_id, total, at)
SELECT {r}.store_id, {r}.event_id, {total},
       coalesce({_lite_moment(_j(r, "payload", "$.handed_at"))}, {r}.occurred_at)
{source_only}
WHERE {r}.type = 'order.status' AND {_j(r, "payload", "$.to")} = 'collected'
  AND json_type({r}.payload, '$.receipt') = 'object' AND {total} IS NOT NULL
"""


def _lite_handover_lines(r: str, source: str) -> str:
    total = _lite_cents(_j(r, "payload", "$.receipt.total"))
    return f"""
INSERT INTO sale_line_facts (store_id, source_id, sku, name, qty, amount, at)
SELECT {r}.store_id, {r}.event_id, substr(json_extract(l.value, '$[0]'), 1, 64),
       substr(coalesce(json_extract(l.value, '$[1]'), ''), 1, 200),
       {_lite_milli("json_extract(l.value, '$[2]')")}, {_lite_cents("json_extract(l.value, '$[3]')")},
       coalesce({_lite_moment(_j(r, "payload", "$.handed_at"))}, {r}.occurred_at)
FROM {source} json_each({r}.payload, '$.receipt.sold') l
WHERE {r}.type = 'order.status' AND {_j(r, "payload", "$.to")} = 'collected'
  AND json_type({r}.payload, '$.receipt') = 'object' AND json_type({r}.payload, '$.receipt.sold') = 'array'
  AND {total} IS NOT NULL AND l.type = 'array' AND json_type(l.value, '$[0]') = 'text'
  AND {_lite_milli("json_extract(l.value, '$[2]')")} IS NOT NULL
  AND {_lite_cents("json_extract(l.value, '$[3]')")} IS NOT NULL
"""


def _tables() -> None:
    op.create_table(
        "sale_facts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sale_facts_source_id", "sale_facts", ["source_id"])
    op.create_index("ix_sale_facts_store_at", "sale_facts", ["store_id", "at", "total"])
    op.create_table(
        "sale_line_facts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sale_line_facts_source_id", "sale_line_facts", ["source_id"])
    op.create_index(
        "ix_sale_line_facts_store_at", "sale_line_facts", ["store_id", "at", "sku", "qty", "amount", "name"]
    )


def upgrade() -> None:
    _tables()
    shifts = sa.text("type IN ('shift.opened', 'shift.closed', 'staff.saved')")
    op.create_index(
        "ix_applied_events_shifts",
        "applied_events",
        ["store_id", "type", "occurred_at"],
        postgresql_where=shifts,
        sqlite_where=shifts,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_MILLI)
        new = {"r": "NEW", "source": "", "source_only": ""}
        op.execute(
            _PG_TRIGGERS.format(
                sale=_PG_SALE.format(**new),
                sale_lines=_PG_SALE_LINES.format(**new),
                handover=_PG_HANDOVER.format(**new),
                handover_lines=_PG_HANDOVER_LINES.format(**new),
            )
        )
        op.execute(_PG_SALE.format(r="s", source="", source_only="FROM sales s"))
        op.execute(_PG_SALE_LINES.format(r="s", source="sales s,", source_only=""))
        op.execute(_PG_HANDOVER.format(r="e", source="", source_only="FROM applied_events e"))
        op.execute(_PG_HANDOVER_LINES.format(r="e", source="applied_events e,", source_only=""))
        return
    op.execute(
        f"CREATE TRIGGER tr_sales_sale_facts AFTER INSERT ON sales BEGIN {_lite_sale('NEW', '')}; "
        f"{_lite_sale_lines('NEW', '')}; END"
    )
    op.execute(
        "CREATE TRIGGER tr_applied_events_sale_facts AFTER INSERT ON applied_events "
        f"WHEN NEW.type = 'order.status' BEGIN {_lite_handover('NEW', '')}; "
        f"{_lite_handover_lines('NEW', '')}; END"
    )
    op.execute(_lite_sale("s", "FROM sales s"))
    op.execute(_lite_sale_lines("s", "sales s,"))
    op.execute(_lite_handover("e", "FROM applied_events e"))
    op.execute(_lite_handover_lines("e", "applied_events e,"))


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.execute("DROP TRIGGER IF EXISTS tr_applied_events_sale_facts" + (" ON applied_events" if pg else ""))
    op.execute("DROP TRIGGER IF EXISTS tr_sales_sale_facts" + (" ON sales" if pg else ""))
    if pg:
        for fn in (
            "counterline_handover_sale_facts()",
            "counterline_sale_total_facts()",
            "counterline_milli(text)",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.drop_index("ix_applied_events_shifts", table_name="applied_events")
    for table in ("sale_line_facts", "sale_facts"):
        op.drop_table(table)
