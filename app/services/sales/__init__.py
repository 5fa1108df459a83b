"""Counter sales: ring up, discount, park and recall, take tenders and complete, each step one transaction.

This package is the sale workflow's one public face: screens, sync, tests and benchmarks call `sales.<name>` and
import nothing from its modules, which are its layout, not its interface. Each module imports only those below it
(an import-linter contract in pyproject.toml checks it), and this file only re-exports:

- `checks`: the sale in hand (on this terminal, open, the user's; its line; the open shift) and typed input;
- `figures`: the store's pricing rules, pricing the cart and storing its figures back, settling the tenders;
- `views`: the plain views screens read (`SaleView`, ...) and the look-ups that return them;
- `cart`: starting a sale and ringing it up: items, quantities, voids, price overrides, discounts, the customer;
- `parking`: park, park for a user switch, recall, the parked list;
- `payments`: tenders taken and taken back (gift card and store credit balances: `app.services.balances`);
- `completion`: completing a paid sale (status, stock, outbox, receipt, audit in one transaction) or voiding it.

A sale in progress is an `Order(channel="counter", status="open")` written line by line, so a crash or a power cut
loses nothing: the next start finds it again with `current_sale`. Every change re-prices the whole cart with
`app.domain.pricing.price_cart` under the store's tax mode and tax rounding and stores each line's amount and tax
back, so the receipt, the ledger and the central store all read the same figures. Tenders are checked with
`app.domain.tenders.settle` (over-tender only in cash, cash rounding per store). `complete_sale` writes the status,
the stock ledger rows, the outbox event, the receipt print job and the audit entry together or not at all.
Card tenders keep the last four digits and the approval code only: anything that could be a card number is refused.
"""

from __future__ import annotations

from app.services.sales.cart import (
    MAX_QTY,
    add_product,
    add_scan,
    attach_customer,
    detach_customer,
    discount_line,
    discount_order,
    override_price,
    qty_warnings,
    set_qty,
    start_sale,
    void_line,
    weight_warnings,
)
from app.services.sales.completion import complete_sale, void_sale
from app.services.sales.figures import cash_step, pricing_rule
from app.services.sales.parking import list_parked, park, park_for_switch, recall
from app.services.sales.payments import add_tender, check_card, remove_tender
from app.services.sales.views import (
    Completed,
    LineView,
    ParkedView,
    PaymentView,
    SaleView,
    ScanOutcome,
    current_sale,
    find_completed,
    get_sale,
    open_sales_count,
)

__all__ = [
    # views
    "Completed",
    "LineView",
    "ParkedView",
    "PaymentView",
    "SaleView",
    "ScanOutcome",
    "current_sale",
    "find_completed",
    "get_sale",
    "open_sales_count",
    # figures
    "cash_step",
    "pricing_rule",
    # cart
    "MAX_QTY",
    "add_product",
    "add_scan",
    "attach_customer",
    "detach_customer",
    "discount_line",
    "discount_order",
    "override_price",
    "qty_warnings",
    "set_qty",
    "start_sale",
    "void_line",
    "weight_warnings",
    # parking
    "park",
    "park_for_switch",
    "recall",
    "list_parked",
    # payments
    "add_tender",
    "check_card",
    "remove_tender",
    # completion
    "complete_sale",
    "void_sale",
]
