"""Card numbers in free text: found whatever separates their digits, by one rule for the card reference field and
for log redaction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode, Payment, StaffUser
from app.domain.tenders import card_number_spans, looks_like_card_number, luhn_valid
from app.logsafe import redact
from app.services import sales, shifts
from app.services.base import Actor, UserError

PAN = "4111111111111111"
AMEX = "378282246310005"  # 15 digits
SEPARATED = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111.1111.1111.1111",
    "4111/1111/1111/1111",
    "4111_1111_1111_1111",
    "4111 - 1111 - 1111 - 1111",
    "4111,1111;1111:1111",
    "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
    "3782.822463.10005",
    "４１１１１１１１１１１１１１１１",  # full-width digits
]


def test_luhn() -> None:
    assert luhn_valid(PAN) and luhn_valid(AMEX)
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize("written", SEPARATED)
def test_a_card_number_is_found_whatever_separates_its_digits(written: str) -> None:
    text = f"ref {written} ok"
    assert card_number_spans(text) == [(4, 4 + len(written))]
    assert looks_like_card_number(written)


def test_a_card_number_next_to_other_numbers_is_still_found() -> None:
    assert looks_like_card_number("qty 2 4111.1111.1111.1111 7")
    assert looks_like_card_number("12/4111/1111/1111/1111")


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # Luhn fails
        "4111.1111.1111.1112",
        "411111111111",  # 12 digits
        "TXN 0042 A7",
        "4111 1111\n1111 1111",  # a line break ends a run
        "4111a1111b1111c1111",  # letters end runs
        "12345678901234567890123",  # longer than any card number
    ],
)
def test_what_is_not_a_card_number(text: str) -> None:
    assert not looks_like_card_number(text)


@pytest.mark.parametrize("written", SEPARATED)
def test_logs_redact_card_numbers_whatever_separates_their_digits(written: str) -> None:
    text = redact(f"paid with {written} at 10:02")
    assert text == "paid with [number] at 10:02"


def test_the_card_reference_field_refuses_card_numbers_whatever_separates_their_digits(
    db: sessionmaker[Session],
) -> None:
    with db() as s:
        manager = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == "manager")) or "")
        code = s.scalars(select(Barcode.code).where(Barcode.pack_qty == 1).limit(1)).one()
    with db.begin() as s:
        shifts.open_shift(s, manager, Decimal("100"))
        sale = sales.start_sale(s, manager)
        view = sales.add_scan(s, manager, sale.id, code).sale
    for written in SEPARATED:
        with pytest.raises(UserError, match="looks like a card number"), db.begin() as s:
            sales.add_tender(
                s,
                manager,
                sale.id,
                "card",
                view.total,
                card_last4="1111",
                approval_code="A1",
                reference=written,
            )
    with db.begin() as s:
        sales.add_tender(
            s,
            manager,
            sale.id,
            "card",
            view.total,
            card_last4="1111",
            approval_code="A1",
            reference="TID 0042.7",
        )
    with db() as s:
        assert [p.reference for p in s.scalars(select(Payment).where(Payment.order_id == sale.id))] == [
            "TID 0042.7"
        ]
