"""Tax rates kept exactly (6 decimals) and the store's tax settings

Tax rates (tax_classes.rate, order_lines.tax_rate) were integer thousandths (3 decimals: 8.875 % was kept as
8.9 %); they become integer millionths (6 decimals). The column type stays BIGINT: only the scale changes, so the
values are multiplied by 1000. Rates already rounded by the old scale cannot be recovered here: the central store
sends every tax class again when it is next changed, and a till that was enrolled gets them exact from the feed.
The store's tax settings (tax_mode, tax_rounding, cash_rounding) are columns of `stores` since 0001. What tax_rounding
called "order" (tax rounded once per tax class and rate) is now called "rate"; "order" now rounds once over the
whole order. Stores keep the rule they had.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_RATES = (("tax_classes", "rate"), ("order_lines", "tax_rate"))


def upgrade() -> None:
    for table, column in _RATES:
        op.execute(f"UPDATE {table} SET {column} = {column} * 1000")
    op.execute("UPDATE stores SET tax_rounding = 'rate' WHERE tax_rounding = 'order'")


def downgrade() -> None:
    # Back to thousandths, half up (the old scale cannot hold 8.875 %: it becomes 8.9 % again).
    for table, column in _RATES:
        op.execute(f"UPDATE {table} SET {column} = ({column} + 500) / 1000")
    op.execute("UPDATE stores SET tax_rounding = 'order' WHERE tax_rounding IN ('rate', 'order')")
