"""Chain report facts (issue 24): the fields the chain reports read, taken out of each pushed document once.

`tender_facts` (one row per payment of a sale, and per payment taken at a pickup counter at the hand-over) and
`order_event_facts` (the moments and pack bench counts of each applied order change to ready, collected or
packed), each written by a trigger in the transaction that stores its source row (`sales`, `applied_events`),
from that row alone, so every way a row is written (an ORM flush, an executemany, COPY) keeps them; the rows
already stored are taken over here. See sync.central.report_facts. The orders' history gets an index by order and
kind (the pickups report looks up each order's hand-over by it).

A moment the till sent is read as sync.central.reports `_when` reads it (ISO 8601; without an offset it is UTC;
one that does not read is none); on SQLite it is kept to the millisecond, as SQLite's date functions read it.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_STATUSES = "('ready', 'collected', 'packed')"

# ---------------------------------------------------------------- PostgreSQL ({r} is the source row)

_PG_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION counterline_moment(value text) RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN
    IF value IS NULL OR value = '' OR value !~ '^\d{4}-\d\d-\d\d' THEN
        RETURN NULL;
    END IF;
    IF value ~ '([Zz]|[+-]\d\d(:?\d\d)?)$' THEN
        RETURN value::timestamptz;
    END IF;
    RETURN value::timestamp AT TIME ZONE 'UTC';
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION counterline_count(value text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value ~ '^[0-9]{1,9}$' THEN value::integer ELSE 0 END
$$;

CREATE OR REPLACE FUNCTION counterline_cents(value text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value ~ '^-?[0-9]{1,13}(\.[0-9]{1,2})?$' THEN round(value::numeric * 100)::bigint END
$$;

CREATE OR REPLACE FUNCTION counterline_array(value json) RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN json_typeof(value) = 'array' THEN value ELSE '[]'::json END
$$;
"""

_PG_SALE = """
INSERT INTO tender_facts (store_id, source_id, sale_id, kind, amount, at)
SELECT {r}.store_id, {r}.id, {r}.id, left(p->>'kind', 32), counterline_cents(p->>'amount'),
       coalesce(counterline_moment({r}.document->>'completed_at'), {r}.occurred_at)
FROM {source} json_array_elements(counterline_array({r}.document->'payments')) p
WHERE json_typeof(p) = 'object' AND p->>'kind' IS NOT NULL AND counterline_cents(p->>'amount') IS NOT NULL
"""

_PG_HANDOVER = """
INSERT INTO tender_facts (store_id, source_id, sale_id, kind, amount, at)
SELECT {r}.store_id, {r}.event_id, ({r}.payload->>'order_id')::uuid, left(p->>0, 32), counterline_cents(p->>1),
       coalesce(counterline_moment({r}.payload->>'handed_at'), {r}.occurred_at)
FROM {source} json_array_elements(counterline_array({r}.payload->'receipt'->'payments')) p
WHERE {r}.type = 'order.status' AND {r}.payload->>'to' = 'collected'
  AND {r}.payload->>'order_id' ~* '^[0-9a-f]{{8}}-?[0-9a-f]{{4}}-?[0-9a-f]{{4}}-?[0-9a-f]{{4}}-?[0-9a-f]{{12}}$'
  AND json_typeof(p) = 'array' AND p->>0 IS NOT NULL AND counterline_cents(p->>1) IS NOT NULL
"""

_PG_ORDER_EVENT = """
INSERT INTO order_event_facts (event_id, store_id, to_status, occurred_at, ready_at, promised_at, handed_at,
                               started_at, packed_at, scans, errors, approvals)
SELECT {r}.event_id, {r}.store_id, {r}.payload->>'to', {r}.occurred_at,
       counterline_moment({r}.payload->>'ready_at'), counterline_moment({r}.payload->>'promised_at'),
       counterline_moment({r}.payload->>'handed_at'),
       counterline_moment({r}.payload#>>'{{pack,started_at}}'), counterline_moment({r}.payload#>>'{{pack,packed_at}}'),
       counterline_count({r}.payload#>>'{{pack,scans}}'), counterline_count({r}.payload#>>'{{pack,errors}}'),
       counterline_count({r}.payload#>>'{{pack,approvals}}')
{source_only}
WHERE {r}.type = 'order.status' AND {r}.payload->>'to' IN {statuses}
"""

_PG_TRIGGERS = """
CREATE OR REPLACE FUNCTION counterline_sale_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {sale};
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION counterline_event_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.type = 'order.status' THEN
        {handover};
        {order_event};
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tr_sales_facts AFTER INSERT ON sales FOR EACH ROW EXECUTE FUNCTION counterline_sale_facts();
CREATE TRIGGER tr_applied_events_facts AFTER INSERT ON applied_events
    FOR EACH ROW EXECUTE FUNCTION counterline_event_facts();
"""

# ---------------------------------------------------------------- SQLite


def _lite_moment(value: str) -> str:
    """An ISO text as the central's SQLite moments are kept (naive UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'), else NULL."""
    return (
        f"(CASE WHEN typeof({value}) = 'text' AND {value} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' "
        f"THEN strftime('%Y-%m-%d %H:%M:%f', {value}) || '000' END)"
    )


def _lite_count(value: str) -> str:
    text = f"CAST({value} AS TEXT)"
    return (
        f"(CASE WHEN {text} <> '' AND {text} NOT GLOB '*[^0-9]*' AND length({text}) < 10 "
        f"THEN CAST({text} AS INTEGER) ELSE 0 END)"
    )


def _lite_cents(value: str) -> str:
    text = f"CAST({value} AS TEXT)"
    return (
        f"(CASE WHEN typeof({value}) IN ('text', 'integer', 'real') AND {text} GLOB '*[0-9]*' "
        f"AND {text} NOT GLOB '*[^0-9.-]*' THEN CAST(round(CAST({text} AS REAL) * 100) AS INTEGER) END)"
    )


def _j(row: str, column: str, path: str) -> str:
    return f"json_extract({row}.{column}, '{path}')"


def _lite_sale(r: str, source: str) -> str:
    return f"""
INSERT INTO tender_facts (store_id, source_id, sale_id, kind, amount, at)
SELECT {r}.store_id, {r}.id, {r}.id, substr(json_extract(p.value, '$.kind'), 1, 32),
       {_lite_cents("json_extract(p.value, '$.amount')")},
       coalesce({_lite_moment(_j(r, "document", "$.completed_at"))}, {r}.occurred_at)
FROM {source} json_each({r}.document, '$.payments') p
WHERE json_valid({r}.document) AND json_type({r}.document, '$.payments') = 'array' AND p.type = 'object'
  AND json_type(p.value, '$.kind') = 'text' AND {_lite_cents("json_extract(p.value, '$.amount')")} IS NOT NULL
"""


def _lite_handover(r: str, source: str) -> str:
    order = _j(r, "payload", "$.order_id")
    return f"""
INSERT INTO tender_facts (store_id, source_id, sale_id, kind, amount, at)
SELECT {r}.store_id, {r}.event_id, lower(replace({order}, '-', '')),
       substr(json_extract(p.value, '$[0]'), 1, 32), {_lite_cents("json_extract(p.value, '$[1]')")},
       coalesce({_lite_moment(_j(r, "payload", "$.handed_at"))}, {r}.occurred_at)
FROM {source} json_each({r}.payload, '$.receipt.payments') p
WHERE {r}.type = 'order.status' AND {_j(r, "payload", "$.to")} = 'collected'
  AND json_type({r}.payload, '$.receipt.payments') = 'array' AND typeof({order}) = 'text'
  AND length(replace({order}, '-', '')) = 32 AND p.type = 'array' AND json_type(p.value, '$[0]') = 'text'
  AND {_lite_cents("json_extract(p.value, '$[1]')")} IS NOT NULL
"""


def _lite_order_event(r: str, source: str) -> str:
    def moment(path: str) -> str:
        return _lite_moment(_j(r, "payload", path))

    def count(path: str) -> str:
        return _lite_count(_j(r, "payload", path))

    return f"""
INSERT INTO order_event_facts (event_id, store_id, to_status, occurred_at, ready_at, promised_at, handed_at,
                               started_at, packed_at, scans, errors, approvals)
SELECT {r}.event_id, {r}.store_id, {_j(r, "payload", "$.to")}, {r}.occurred_at,
       {moment("$.ready_at")}, {moment("$.promised_at")}, {moment("$.handed_at")},
       {moment("$.pack.started_at")}, {moment("$.pack.packed_at")},
       {count("$.pack.scans")}, {count("$.pack.errors")}, {count("$.pack.approvals")}
{source}
WHERE {r}.type = 'order.status' AND {_j(r, "payload", "$.to")} IN {_STATUSES}
"""


def _tables() -> None:
    op.create_table(
        "tender_facts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("sale_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_tender_facts_source_id", "tender_facts", ["source_id"])
    op.create_index(
        "ix_tender_facts_store_at", "tender_facts", ["store_id", "at", "kind", "sale_id", "amount"]
    )
    op.create_table(
        "order_event_facts",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.DateTime(timezone=True)) for name in _MOMENTS),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ("scans", "errors", "approvals")),
    )


_MOMENTS = ("ready_at", "promised_at", "handed_at", "started_at", "packed_at")


def upgrade() -> None:
    _tables()
    op.create_index(
        "ix_order_status_history_order_to_status",
        "order_status_history",
        ["order_id", "to_status", "event_id"],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTIONS)
        row = {"r": "NEW", "source": "", "source_only": "", "statuses": _STATUSES}
        op.execute(
            _PG_TRIGGERS.format(
                sale=_PG_SALE.format(**row),
                handover=_PG_HANDOVER.format(**row),
                order_event=_PG_ORDER_EVENT.format(**row),
            )
        )
        op.execute(_PG_SALE.format(r="s", source="sales s,", source_only="", statuses=_STATUSES))
        events = {"r": "e", "source": "applied_events e,", "statuses": _STATUSES}
        op.execute(_PG_HANDOVER.format(**events, source_only=""))
        op.execute(_PG_ORDER_EVENT.format(**events, source_only="FROM applied_events e"))
        return
    op.execute(f"CREATE TRIGGER tr_sales_facts AFTER INSERT ON sales BEGIN {_lite_sale('NEW', '')}; END")
    op.execute(
        "CREATE TRIGGER tr_applied_events_facts AFTER INSERT ON applied_events "
        f"WHEN NEW.type = 'order.status' BEGIN {_lite_handover('NEW', '')}; "
        f"{_lite_order_event('NEW', '')}; END"
    )
    op.execute(_lite_sale("s", "sales s,"))
    op.execute(_lite_handover("e", "applied_events e,"))
    op.execute(_lite_order_event("e", "FROM applied_events e"))


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS tr_applied_events_facts" + (" ON applied_events" if _pg() else ""))
    op.execute("DROP TRIGGER IF EXISTS tr_sales_facts" + (" ON sales" if _pg() else ""))
    if _pg():
        for fn in ("counterline_event_facts()", "counterline_sale_facts()", "counterline_moment(text)"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}")
        for fn in ("counterline_count(text)", "counterline_cents(text)", "counterline_array(json)"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.drop_table("order_event_facts")
    op.drop_index("ix_order_status_history_order_to_status", table_name="order_status_history")
    op.drop_index("ix_tender_facts_store_at", table_name="tender_facts")
    op.drop_index("ix_tender_facts_source_id", table_name="tender_facts")
    op.drop_table("tender_facts")


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"
