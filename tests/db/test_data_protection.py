"""No card number ever lands in the database file, its WAL or a log; logs redact e-mail and phone."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode, StaffUser
from app.logsafe import RedactingFormatter, redact
from app.services import sales, shifts
from app.services.base import Actor, UserError

PAN = "4111111111111111"  # the well-known test card number: passes Luhn
# A stored card number stands as its own token: digit runs glued to letters are ids and index keys
# (a GTIN-14 followed by a UUID in an SQLite index record), not card numbers.
CARD_SHAPED = re.compile(
    rb"(?<![0-9A-Za-z])(\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}|\d{4}[ -]?\d{6}[ -]?\d{5})(?![0-9A-Za-z])"
)


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_numbers_in(data: bytes) -> list[str]:
    found = []
    for m in CARD_SHAPED.finditer(data):
        digits = re.sub(rb"\D", b"", m.group(1)).decode()
        if luhn(digits):
            found.append(digits)
    return found


def test_the_scanner_finds_a_card_number_it_is_shown() -> None:
    assert card_numbers_in(f"paid with {PAN} today".encode()) == [PAN]
    assert card_numbers_in(f'{{"ref": "{PAN[:4]} {PAN[4:8]} {PAN[8:12]} {PAN[12:]}"}}'.encode()) == [PAN]


def test_a_day_of_card_sales_leaves_no_card_number(
    db: sessionmaker[Session], db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with db() as s:
        manager = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == "manager")) or "")
        codes = list(s.scalars(select(Barcode.code).where(Barcode.pack_qty == 1).limit(20)))
    with db.begin() as s:
        shifts.open_shift(s, manager, Decimal("100"))
    for i, code in enumerate(codes):
        with db.begin() as s:
            sale = sales.start_sale(s, manager)
            view = sales.add_scan(s, manager, sale.id, code).sale
        # A cashier who types the whole card number is refused, and nothing of it is written.
        with pytest.raises(UserError), db.begin() as s:
            sales.add_tender(s, manager, sale.id, "card", view.total, card_last4=PAN, approval_code="A1")
        with pytest.raises(UserError), db.begin() as s:
            sales.add_tender(
                s, manager, sale.id, "card", view.total, card_last4="1111", approval_code="A1", reference=PAN
            )
        with db.begin() as s:
            sales.add_tender(
                s, manager, sale.id, "card", view.total, card_last4=f"{i:04d}", approval_code="OK1"
            )
            sales.complete_sale(s, manager, sale.id)
    db.kw["bind"].dispose()
    # The card number typed is nowhere, in any spacing. (Any Luhn-valid 16-digit token would also catch, one time
    # in ten, a run of digits that binary pages of the file happen to hold: seen once in a CI run.)
    for path in db_path.parent.glob(db_path.name + "*"):
        assert PAN not in card_numbers_in(path.read_bytes()), path.name
    assert PAN not in caplog.text


def test_logs_redact_email_phone_and_card_numbers() -> None:
    text = redact(f"customer jordan@example.com +353 87 123 4567 paid {PAN}")
    assert "example.com" not in text and "123 4567" not in text and PAN not in text
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "mail %s", ("a@b.org",), None)
    assert "a@b.org" not in RedactingFormatter("%(message)s").format(record)
    # The line's own date and time stay readable (a whole-line pass took them for a phone number), and a
    # traceback is redacted too.
    try:
        raise ValueError(f"card {PAN} refused for jordan@example.com")
    except ValueError:
        import sys

        failed = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "call +353 87 123 4567", None, sys.exc_info()
        )
    line = RedactingFormatter("%(asctime)s %(levelname)s %(message)s").format(failed)
    assert re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} ERROR call \[phone\]", line), line
    assert PAN not in line and "example.com" not in line and "ValueError" in line
    assert record.getMessage() == "mail a@b.org"  # the record itself is left as it was, for other handlers
