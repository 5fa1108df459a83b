"""Lines refused at the pickup counter are voided (not taken, so not sold): the hand-over voids them from now on
(app.services.pickup.hand_over); the orders handed over before keep their refused lines' ids in
`pickup_records.refused`, and are put right here. Their reports counted those lines as sold (by department, the
top items) while the order's total left them out, and the returns desk offered to refund them. The days they fall
in are forgotten by migration 0019's triggers, and summed again.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_SQLITE = """
UPDATE order_lines SET voided = 1
WHERE voided = 0 AND id IN (
    SELECT j.value FROM pickup_records r, json_each(r.refused) j
    WHERE r.handed_at IS NOT NULL AND json_valid(r.refused) AND json_type(r.refused) = 'array'
      AND j.type = 'text'
)
"""

_POSTGRES = """
UPDATE order_lines SET voided = true
WHERE voided = false AND id IN (
    SELECT j.value FROM pickup_records r,
        json_array_elements_text(CASE WHEN json_typeof(r.refused) = 'array' THEN r.refused ELSE '[]'::json END) j
    WHERE r.handed_at IS NOT NULL
)
"""


def upgrade() -> None:
    op.execute(_POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE)


def downgrade() -> None:
    pass  # a refused line stays voided: it was never sold
