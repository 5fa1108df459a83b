"""The Returns desk: find the sale, take back what was bought and no more, refund it to the right tenders.

- **Find the original** (`find_original`): a receipt number as typed or scanned (``R-<number>``, the receipt's
  Code 128 or QR), a web order number (``W-...``), or `search_sales` by customer name, day or amount. A sale rung up
  at another till of the store is found once sync copied it here (`sync.applier` keeps the store's sales and returns);
  one not here yet is refused plainly, naming its till.
- **What may be returned** per line: sold less every earlier return. The central store is the authority: when it
  is reachable the desk asks it first (`sync.client.Client.returnable`, read by `central_answer`) and passes its
  word as ``central`` to `get_original`, `quote` and `take_return`, so other tills' returns not synced here yet
  count (their units, and what went back to each tender), and the return goes to it as decided online: one that
  a till's return raced past is refused there. Offline the desk decides on what this till knows (its own returns
  and the other tills' as synced) and the return goes marked ``offline``: one that turns out to take back more
  than was left stands (its money and goods have moved) and is parked for review at the central, never applied
  twice.
- **Refund** (`quote`, then `take_return`): the figures come from `app.domain.refunds` (cumulative per-unit share of
  what the line paid, tax as charged, last unit takes the remainder; back to card, then cash, then gift card, then
  store credit, no tender more than it paid) and the policy from `app.domain.return_policy` (settings
  ``returns.policy`` and ``returns.reasons``; the refund limit is ``refund.limit``). A return with any exception
  needs one manager's approval, which is recorded with every exception it covered.
- **One transaction** writes the return order (channel "return", ``original_order_id``), its lines (``line_no`` is
  the sold line's) with their reason, condition and disposition, its payments, store credit and gift card balances
  given back, the stock movements into the disposition's location (floor, quarantine, return to vendor; a missing
  location is made), the ``return.completed`` outbox event (the `sale.completed` shape, with
  ``original_order_id`` and, for a web order, ``web_order_id``), the return receipt print job, a label per item
  that does not go back on the floor, and the audit entry.
- **No receipt** (`quote_no_receipt`, `take_no_receipt_return`): refund as store credit only, at the lowest price
  of the last N days this till knows, else the current price; always a manager's approval.

**Exchange** (`app.services.returns.exchange`): the return and a new sale rung up with Sell's cart in one
transaction, only the difference paid (through Sell's Pay dialog) or refunded (by the refund rule); leaving it
without making it (`abandon_exchange`) voids its sale and writes nothing of the return.

A web order was paid online: its refund goes back to that payment ("online"), which the central store refunds and
notifies the customer of; nothing is paid out at the desk.
"""

from __future__ import annotations

from app.services.returns.exchange import (
    ExchangeDone,
    ExchangeQuote,
    abandon_exchange,
    begin,
    complete_exchange,
    hold_credit,
    quote_exchange,
    release_credit,
)
from app.services.returns.original import central_answer, find_original, get_original, search_sales
from app.services.returns.planning import quote, quote_no_receipt
from app.services.returns.views import (
    ONLINE,
    TENDER_WORDS,
    Central,
    NoReceiptLineIn,
    OriginalView,
    Quote,
    QuoteLine,
    ReturnDone,
    ReturnLineIn,
    SaleHit,
    SoldLineView,
    TenderOut,
    reasons,
)
from app.services.returns.writing import take_no_receipt_return, take_return

__all__ = [
    "ONLINE",
    "TENDER_WORDS",
    "SoldLineView",
    "OriginalView",
    "SaleHit",
    "ReturnLineIn",
    "NoReceiptLineIn",
    "QuoteLine",
    "TenderOut",
    "Quote",
    "ReturnDone",
    "reasons",
    "find_original",
    "get_original",
    "search_sales",
    "quote",
    "quote_no_receipt",
    "take_return",
    "take_no_receipt_return",
    "Central",
    "central_answer",
    "ExchangeQuote",
    "ExchangeDone",
    "begin",
    "quote_exchange",
    "hold_credit",
    "release_credit",
    "complete_exchange",
    "abandon_exchange",
]
