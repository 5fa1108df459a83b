"""The closed days' sales, rolled up (issue 24): a year's sales reports sum days, not ~900k lines.

Three tables (app.db.models_reports) and the triggers that keep them true: whenever an order is written, or one of
its lines, the rolled-up day its completion falls in (before and after the write) is forgotten, and summed again
from the orders the next time a report asks. A sale completed now falls in no rolled-up day (only ended days are
rolled up), so the counter pays one index probe per write.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_FORGET = "DELETE FROM report_days WHERE end_at > {m} AND start_at <= {m}"
_COMPLETED = "(SELECT completed_at FROM orders WHERE id = {row}.order_id)"


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_report_days_end_at", "report_days", ["end_at", "start_at"])
    op.create_table(
        "report_day_items",
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("product_id", sa.String(36), primary_key=True),
        sa.Column("sku", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_day_hours",
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("hour", sa.Integer(), primary_key=True),
        sa.Column("sales", sa.Integer(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION report_days_forget() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "IF TG_TABLE_NAME = 'orders' THEN "
            "  IF TG_OP <> 'INSERT' THEN " + _FORGET.format(m="OLD.completed_at") + "; END IF; "
            "  IF TG_OP <> 'DELETE' THEN " + _FORGET.format(m="NEW.completed_at") + "; END IF; "
            "ELSE "
            "  IF TG_OP <> 'INSERT' THEN " + _FORGET.format(m=_COMPLETED.format(row="OLD")) + "; END IF; "
            "  IF TG_OP <> 'DELETE' THEN " + _FORGET.format(m=_COMPLETED.format(row="NEW")) + "; END IF; "
            "END IF; "
            "RETURN NULL; "
            "END $$"
        )
        for table in ("orders", "order_lines"):
            op.execute(
                f"CREATE TRIGGER {table}_report_days AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION report_days_forget()"
            )
        return
    for verb, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        orders = "; ".join(_FORGET.format(m=f"{row}.completed_at") for row in rows)
        lines = "; ".join(_FORGET.format(m=_COMPLETED.format(row=row)) for row in rows)
        op.execute(
            f"CREATE TRIGGER orders_report_days_{verb.lower()} AFTER {verb} ON orders BEGIN {orders}; END"
        )
        op.execute(
            f"CREATE TRIGGER order_lines_report_days_{verb.lower()} AFTER {verb} ON order_lines BEGIN {lines}; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("orders", "order_lines"):
            op.execute(f"DROP TRIGGER {table}_report_days ON {table}")
        op.execute("DROP FUNCTION report_days_forget()")
    else:
        for verb in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER orders_report_days_{verb}")
            op.execute(f"DROP TRIGGER order_lines_report_days_{verb}")
    op.drop_table("report_day_hours")
    op.drop_table("report_day_items")
    op.drop_index("ix_report_days_end_at", table_name="report_days")
    op.drop_table("report_days")
