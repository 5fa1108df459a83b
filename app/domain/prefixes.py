"""The prefixes of the store's own codes (receipts, web orders, pickups, parked sales, returns, badges, loyalty
cards): defined here once, pure and stdlib only.

`barcodes.parse` reads a code that starts with one of them as that kind of internal code (a store may configure its
own through the `barcodes` setting, see app.domain.barcode_rules); documents print them, services strip them from
what a person typed, and the central store numbers its web orders with `ORDER` (through sync.protocol), so a
printed order number scans as an order at every till.
"""

from __future__ import annotations

RECEIPT = "R-"
ORDER = "W-"
PICKUP = "PU-"
PARKED = "PS-"
RETURN = "RT-"
BADGE = "BADGE-"
LOYALTY = "LC-"
# A web order's return label (the customer prints it from the order's status page and brings it to any desk): the
# order number without its ORDER prefix, e.g. "RL-S001-000123" for web order "W-S001-000123" (`return_label`).
RETURN_LABEL = "RL-"

# prefix -> the kind `barcodes.parse` gives a code that starts with it
KINDS: dict[str, str] = {
    RECEIPT: "receipt",
    ORDER: "order",
    PICKUP: "pickup",
    PARKED: "parked",
    RETURN: "return",
    BADGE: "badge",
    LOYALTY: "loyalty",
    RETURN_LABEL: "return_label",
}


def without(prefix: str, typed: str) -> str:
    """What a person typed or scanned, upper-cased, without `prefix` if it starts with it ("r-s001-01-000007"
    -> "S001-01-000007")."""
    value = typed.strip().upper()
    return value[len(prefix) :] if value.startswith(prefix) else value


def return_label(order_number: str) -> str:
    """The barcode (QR) content of web order `order_number`'s return label: "W-S001-000123" -> "RL-S001-000123"."""
    return f"{RETURN_LABEL}{without(ORDER, order_number)}"
