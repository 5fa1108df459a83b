"""The electronic journal: the counter sales this terminal's database holds, found and shown again.

A sale is found by its number (typed whole, or just its sequence: "12" finds every terminal's sale 12), by its
receipt's scanned barcode (R-<number>), by day and time, by total or by tender. It is shown as the receipt it
printed (built from the stored sale by `receipts`, never from today's prices) with the lines voided before payment,
and reprinted as a COPY through `receipts.reprint_receipt`, the one reprint there is. Sales rung up at the store's
other tills are here once sync has brought them; a number that is not here says where to look instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.db.models import Order, Payment, PrintJob, StaffUser
from app.domain import barcodes
from app.services import catalog, numbers, receipts
from app.services.base import Here, UserError, here

SHOWN_STATUSES = ("completed", "voided")
TENDER_WORDS = receipts.TENDER_WORDS


@dataclass(frozen=True)
class JournalQuery:
    """What to look for; every part left empty matches everything."""

    number: str = ""
    day: date | None = None  # in the store's time zone
    start: time | None = None  # from this time of `day` (or of today when no day is given)
    end: time | None = None  # up to this time (inclusive of the minute)
    amount: Decimal | None = None  # the sale's total
    tender: str | None = None  # cash, card, store_credit, gift_card
    limit: int = 200


@dataclass(frozen=True)
class JournalRow:
    order_id: str
    number: str
    status: str  # completed, voided
    terminal: str
    cashier: str
    at: datetime  # completed (or, for a voided sale, started)
    items: int
    total: Decimal
    tenders: tuple[str, ...]  # kinds, in the order taken
    receipt: str  # printed, waiting, failed, none: how its receipt job stands


@dataclass(frozen=True)
class JournalSale:
    row: JournalRow
    receipt: dict[str, Any]  # the receipt as printed (Document JSON)
    voided_lines: list[tuple[str, Decimal, Decimal]]  # name, quantity, amount before discount


@dataclass(frozen=True)
class CodeAnswer:
    """What a scanned or typed code finds: a sale, or a sentence saying where to look."""

    row: JournalRow | None
    message: str


def _number_value(text: str) -> str:
    """A receipt number as typed or scanned: the R- barcode prefix goes, letters are upper-cased."""
    value = text.strip().upper()
    parsed = barcodes.parse(value)
    if isinstance(parsed, barcodes.InternalCode):
        return parsed.value
    return value


def _number_filter(value: str) -> ColumnElement[bool]:
    if value.isdigit():
        # Just the sequence, as a person reads it off the end of a receipt number: any terminal's sale of that number.
        return Order.number.like(f"%-{int(value):06d}")
    return Order.number.like(f"%{value}%")


def _window(query: JournalQuery, h: Here) -> tuple[datetime | None, datetime | None]:
    if query.day is None and query.start is None and query.end is None:
        return None, None
    day = query.day or datetime.now(ZoneInfo(h.timezone)).date()
    start = h.instant(day, query.start or time(0, 0))
    end = (
        h.instant(day, query.end) + timedelta(minutes=1)
        if query.end is not None
        else h.instant(day + timedelta(days=1))
    )
    if end <= start:
        raise UserError("The end time is before the start time: swap them and search again.")
    return start, end


def _receipt_states(session: Session, order_ids: list[str]) -> dict[str, str]:
    """How each sale's receipt stands: the newest receipt job decides (a copy that printed settles a failure)."""
    states: dict[str, str] = {}
    if not order_ids:
        return states
    for cause, status in session.execute(
        select(PrintJob.cause_id, PrintJob.status)
        .where(PrintJob.kind == "receipt", PrintJob.cause_id.in_(order_ids))
        .order_by(PrintJob.seq)
    ):
        assert cause is not None
        if status == "printed" or states.get(cause) != "printed":
            states[cause] = {"pending": "waiting", "sending": "waiting"}.get(status, status)
    return states


def _rows(session: Session, orders: list[Order]) -> list[JournalRow]:
    names = dict(session.execute(select(StaffUser.id, StaffUser.display_name)).all())
    states = _receipt_states(session, [o.id for o in orders])
    return [
        JournalRow(
            order_id=o.id,
            number=o.number,
            status=o.status,
            terminal=o.terminal_code or "",
            cashier=names.get(o.owner_id, "") if o.owner_id else "",
            at=o.completed_at or o.created_at,
            items=sum(1 for line in o.lines if not line.voided),
            total=o.total,
            tenders=tuple(p.kind for p in sorted(o.payments, key=lambda p: (p.created_at, p.id))),
            receipt=states.get(o.id, "none"),
        )
        for o in orders
    ]


def search(session: Session, query: JournalQuery) -> list[JournalRow]:
    """Counter sales matching every part of `query`, newest first."""
    if query.tender is not None and query.tender not in TENDER_WORDS:
        raise UserError(f"{query.tender} is not a tender of this store.")
    stmt = select(Order).where(Order.channel == "counter", Order.status.in_(SHOWN_STATUSES))
    value = _number_value(query.number) if query.number.strip() else ""
    if value:
        stmt = stmt.where(_number_filter(value))
    start, end = _window(query, here(session))
    if start is not None and end is not None:
        when = func.coalesce(Order.completed_at, Order.created_at)
        stmt = stmt.where(when >= start, when < end)
    if query.amount is not None:
        stmt = stmt.where(Order.total == query.amount)
    if query.tender is not None:
        stmt = stmt.where(Order.id.in_(select(Payment.order_id).where(Payment.kind == query.tender)))
    stmt = stmt.order_by(Order.completed_at.desc().nulls_last(), Order.created_at.desc()).limit(query.limit)
    return _rows(session, list(session.scalars(stmt)))


def sale(session: Session, order_id: str) -> JournalSale:
    """One sale as its receipt printed it, with the lines voided before it was paid."""
    order = session.get(Order, order_id)
    if order is None or order.channel != "counter":
        raise UserError("That sale is not in this terminal's journal.")
    return JournalSale(
        row=_rows(session, [order])[0],
        receipt=receipts.receipt_document(session, order.id, width_chars=receipts.RECEIPT_WIDTH_80MM),
        voided_lines=[
            (line.name, line.qty, receipts.line_gross(line)) for line in order.lines if line.voided
        ],
    )


def find_code(session: Session, code: barcodes.ScanResult | str) -> CodeAnswer:
    """A scanned receipt barcode, a parked sale's code or a typed number: the sale, or where to look for it. A
    screen passes the router's parsed scan (not parsed again); typed text is parsed once here."""
    parsed = catalog.read_scan(session, code.strip().upper() if isinstance(code, str) else code)
    if isinstance(parsed, barcodes.InternalCode) and parsed.internal_kind == "parked":
        return CodeAnswer(None, f"That is parked sale {parsed.value}: recall it on Sell (F9) to finish it.")
    value = parsed.value if isinstance(parsed, barcodes.InternalCode) else parsed.raw.strip().upper()
    if numbers.is_kind(value, "parked"):
        return CodeAnswer(None, f"That is parked sale {value}: recall it on Sell (F9) to finish it.")
    order = session.scalar(select(Order).where(Order.number == value, Order.channel == "counter"))
    if order is None:
        h = here(session)
        parts = value.split("-")
        if len(parts) == 3 and parts[0] == h.store_code and parts[1] != h.terminal_code:
            return CodeAnswer(
                None,
                f"Sale {value} was rung up at terminal {parts[1]} and has not reached this one yet: "
                "look it up at that terminal, or here once sync has caught up.",
            )
        if len(parts) == 3 and parts[0] != h.store_code:
            return CodeAnswer(None, f"Sale {value} is from store {parts[0]}, not this one.")
        return CodeAnswer(None, f"No sale {value} on this terminal: check the number on the receipt.")
    if order.status in ("open", "parked", "recalled_elsewhere"):
        where = "parked" if order.status != "open" else f"still open on terminal {order.terminal_code}"
        return CodeAnswer(None, f"Sale {value} is {where}: it is not paid yet, so there is no receipt.")
    return CodeAnswer(_rows(session, [order])[0], "")
