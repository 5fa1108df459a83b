"""Chain discount facts (issue 24): per discount and price override on a sale the tills completed, its sale's number,
its line (its place in the sale, and the item) and kind, reason, who approved it and the amount off, taken out of the sale's document once, so the chain's discounts by reason and
approver (sync.central.report_discounts) read a year as rows of facts.

A till sends on each line of a completed sale its price override (with its amount off) and its discount, and on
the sale its whole-sale discount, each with the manager whose approval it used (`approved_by`), and the cashier
who completed the sale (`owner_id`): a discount without an approver was given on the cashier's own authority
(app.services.sales.completion). Written by a trigger in the transaction that stores the sale, from that row
alone (see migration 0020); the sales already stored are taken over here (sales from tills that did not send
their discounts yet have none). A discount whose amount does not read is left out, as in 0020.

Revision ID: 0022
Revises: 0021
"""

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_0020 = importlib.import_module("sync.central.migrations.versions.0020_chain_report_facts")
_lite_moment, _lite_cents, _j = _0020._lite_moment, _0020._lite_cents, _0020._j

# Where each kind of discount is in a sale's document: on a line (its field) or on the sale.
_KINDS = (("override", "price_override"), ("line", "discount"), ("sale", "order_discount"))

_COLUMNS = "store_id, source_id, number, line_no, item, kind, reason, approver, own, amount, at"
_WHOLE_SALE = (
    1 << 30
)  # a whole-sale discount's place: after every line of its sale (app.domain.figures.WHOLE_SALE_LINE)

# ---------------------------------------------------------------- PostgreSQL ({r} is the source row, d the discount)

_PG = """
INSERT INTO discount_facts ({columns})
SELECT {r}.store_id, {r}.id, left({r}.number, 64), {line_no}, {item}, '{kind}', left(coalesce(d->>'reason', ''), 200),
       left(coalesce(d->>'approved_by', {r}.document->>'owner_id', ''), 64), d->>'approved_by' IS NULL,
       coalesce(counterline_cents(d->>'amount'), 0),
       coalesce(counterline_moment({r}.document->>'completed_at'), {r}.occurred_at)
FROM {source} {discounts}
WHERE json_typeof(d) = 'object' {more}
  AND (d->>'amount' IS NULL OR counterline_cents(d->>'amount') IS NOT NULL)
"""


def _pg(r: str, source: str, kind: str, field: str) -> str:
    if kind == "sale":
        discounts = f"json_extract_path({r}.document, '{field}') d"
        line_no, item = str(_WHOLE_SALE), "'Whole sale'"
    else:
        discounts = (
            f"json_array_elements(counterline_array({r}.document->'lines')) WITH ORDINALITY AS l(v, n), "
            f"json_extract_path(CASE WHEN json_typeof(l.v) = 'object' THEN l.v END, '{field}') d"
        )
        line_no, item = "l.n", "left(coalesce(l.v->>'name', l.v->>'sku', ''), 200)"
    more = "AND d->>'price' IS NOT NULL" if kind == "override" else ""
    return _PG.format(
        columns=_COLUMNS,
        r=r,
        kind=kind,
        source=source,
        discounts=discounts,
        more=more,
        line_no=line_no,
        item=item,
    )


_PG_TRIGGER = """
CREATE OR REPLACE FUNCTION counterline_discount_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {statements};
    RETURN NULL;
END $$;

CREATE TRIGGER tr_sales_discount_facts AFTER INSERT ON sales FOR EACH ROW EXECUTE FUNCTION counterline_discount_facts();
"""

# ---------------------------------------------------------------- SQLite


def _lite(r: str, source: str, kind: str, field: str) -> str:
    if kind == "sale":
        doc, path, rows = f"{r}.document", f"$.{field}", ""
        each = f"WHERE json_valid({r}.document)"
        line_no, item = str(_WHOLE_SALE), "'Whole sale'"
    else:
        doc, path = "l.value", f"$.{field}"
        line_no = "l.key + 1"
        item = "substr(coalesce(json_extract(l.value, '$.name'), json_extract(l.value, '$.sku'), ''), 1, 200)"
        rows = f"json_each({r}.document, '$.lines') l"
        each = f"WHERE json_valid({r}.document) AND json_type({r}.document, '$.lines') = 'array' AND l.type = 'object'"

    def get(name: str) -> str:
        return f"json_extract({doc}, '{path}.{name}')"

    amount = _lite_cents(get("amount"))
    more = f"AND json_type({doc}, '{path}.price') NOT IN ('null') " if kind == "override" else ""
    source = (source + " " + rows).strip().rstrip(",")
    return f"""
INSERT INTO discount_facts ({_COLUMNS})
SELECT {r}.store_id, {r}.id, substr({r}.number, 1, 64), {line_no}, {item}, '{kind}',
       substr(coalesce({get("reason")}, ''), 1, 200),
       substr(coalesce({get("approved_by")}, {_j(r, "document", "$.owner_id")}, ''), 1, 64),
       {get("approved_by")} IS NULL,
       coalesce({amount}, 0),
       coalesce({_lite_moment(_j(r, "document", "$.completed_at"))}, {r}.occurred_at)
{"FROM " + source if source else ""}
{each} AND json_type({doc}, '{path}') = 'object' {more}
  AND ({get("amount")} IS NULL OR {amount} IS NOT NULL)
"""


def upgrade() -> None:
    op.create_table(
        "discount_facts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("approver", sa.String(64), nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_discount_facts_source_id", "discount_facts", ["source_id"])
    op.create_index("ix_discount_facts_store_at", "discount_facts", ["store_id", "at"])
    if op.get_bind().dialect.name == "postgresql":
        trigger = ";\n    ".join(_pg("NEW", "", kind, field) for kind, field in _KINDS)
        op.execute(_PG_TRIGGER.format(statements=trigger))
        for kind, field in _KINDS:
            op.execute(_pg("s", "sales s,", kind, field))
        return
    body = "; ".join(_lite("NEW", "", kind, field) for kind, field in _KINDS)
    op.execute(f"CREATE TRIGGER tr_sales_discount_facts AFTER INSERT ON sales BEGIN {body}; END")
    for kind, field in _KINDS:
        op.execute(_lite("s", "sales s,", kind, field))


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.execute("DROP TRIGGER IF EXISTS tr_sales_discount_facts" + (" ON sales" if pg else ""))
    if pg:
        op.execute("DROP FUNCTION IF EXISTS counterline_discount_facts()")
    op.drop_table("discount_facts")
