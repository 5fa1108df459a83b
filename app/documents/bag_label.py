"""The pickup bag label and the hand-over receipt, as device-neutral documents.

The bag label carries the order number in large type and as a Code 128 barcode: the number is the order's own
scannable code (``W-...``), so scanning the bag at the counter finds the order. The hand-over receipt says what the
customer took, what they handed back, how they were checked, and when; for an order paid at the counter,
what was paid, with which tenders, and the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from app.documents.model import Barcode, Block, Columns, Document, Feed, Rule, Text

BAG_LABEL_WIDTH = 32  # 2.25 in label printer, as shelf labels are laid out larger
HANDOVER_WIDTH = 48


@dataclass(frozen=True)
class BagLabelData:
    number: str  # the order's scannable number, e.g. W-100201
    customer: str
    fulfilment: str  # pickup or curbside
    items: int
    bag: int = 1
    bags: int = 1


def build_bag_label(data: BagLabelData, width_chars: int = BAG_LABEL_WIDTH) -> Document:
    blocks: list[Block] = [
        Text(data.number, align="center", bold=True, size=2),
        Barcode(data.number, "code128", hri=False),
        Text(data.customer or "-", align="center", bold=True),
        Columns(data.fulfilment.upper(), f"{data.items} item{'s' if data.items != 1 else ''}"),
        Columns("Bag", f"{data.bag} of {data.bags}"),
    ]
    return Document("bag_label", width_chars, blocks)


@dataclass(frozen=True)
class HandoverLine:
    name: str
    qty: Decimal
    refused: bool = False


@dataclass
class HandoverData:
    number: str
    store: str
    customer: str
    checked_by: str  # "pickup code" or "ID check: <name>"
    when: str  # the store's local date and time, formatted
    terminal: str
    lines: list[HandoverLine] = field(default_factory=list)
    signed: bool = False
    # Paid at the counter (an order placed unpaid): each tender (kind, as tendered), the total and the change.
    payments: list[tuple[str, Decimal]] = field(default_factory=list)
    paid: Decimal | None = None
    change: Decimal = Decimal(0)


def _qty(q: Decimal) -> str:
    return f"{q.normalize():f}"


def build_handover_receipt(data: HandoverData, width_chars: int = HANDOVER_WIDTH) -> Document:
    blocks: list[Block] = [
        Text(data.store, align="center", bold=True),
        Text("Order collected", align="center", bold=True, size=2),
        Feed(1),
        Columns("Order", data.number, bold=True),
        Columns("Customer", data.customer or "-"),
        Columns("Checked by", data.checked_by),
        Columns("When", data.when),
        Columns("Terminal", data.terminal),
        Rule(),
    ]
    taken = [ln for ln in data.lines if not ln.refused]
    refused = [ln for ln in data.lines if ln.refused]
    for ln in taken:
        blocks.append(Columns(ln.name, _qty(ln.qty)))
    if refused:
        blocks.append(Rule())
        blocks.append(Text("Handed back at the counter:", bold=True))
        for ln in refused:
            blocks.append(Columns(ln.name, _qty(ln.qty)))
    blocks.append(Rule())
    if data.paid is not None:
        blocks.append(Columns("Paid at pickup", f"{data.paid:.2f}", bold=True))
        for kind, amount in data.payments:
            blocks.append(Columns("  " + kind.replace("_", " ").capitalize(), f"{amount:.2f}"))
        if data.change:
            blocks.append(Columns("Change", f"{data.change:.2f}"))
        blocks.append(Rule())
    if data.signed:
        blocks.append(Text("Signed on screen by the customer."))
    blocks.append(Barcode(data.number, "code128", hri=True))
    return Document("receipt", width_chars, blocks)
