"""The chain's tender report at the central store: per tender, the sales it paid, its payments and the amount kept,
by store and for the chain, as each till's Z report and Reports screen count them (app.services.shifts
`tender_figures`, app.services.reports_cash).

What a till counts as a sale is a completed counter sale, or a web order paid at its pickup counter when handed
over. The central has both from what the tills pushed: the sales (`sales`, each with the payments its
`sale.completed` carried, the amount kept: cash net of change) and the hand-overs (the `order.status` change to
collected that the orders' history names, whose receipt lists what was paid at the counter). A sale counts on the
local day the till completed it (the moment it sent), as on the till.

Read from `tender_facts` (sync.central.report_facts): one row per payment, written by the database in the
transaction that stored the sale or the hand-over, from the same row (the test holds the facts to the documents).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central.models import Store
from sync.central.report_facts import TenderFact

figures = protocol.figures
tenders = protocol.tenders

TENDERS = figures.Figure(
    "tenders",
    "Tenders",
    (("Tender", "text"), ("Sales", "count"), ("Payments", "count"), ("Amount", "money")),
    0,
    (3,),
    "Sales completed at the tills and web orders paid at the pickup counter when handed over, by the tender "
    "that paid them; the amount kept is cash net of change, as on the Z report.",
)


@dataclass(frozen=True)
class TenderSum:
    """The payments of one tender over some sales: how many sales it paid, its payments and the amount kept. Sums
    over sales apart (one store's, another's) add up: a sale is one store's."""

    kind: str
    sales: int
    payments: int
    amount: Decimal


def tender_rows(sums: Iterable[TenderSum]) -> list[figures.Row]:
    """Per tender, in the tender list's order (others after, by name): the sales it paid, its payments and the
    amount kept; the Z's definition (app.services.shifts.tender_figures)."""
    per: dict[str, tuple[int, int, Decimal]] = {}
    for it in sums:
        sales, payments, amount = per.get(it.kind, (0, 0, Decimal(0)))
        per[it.kind] = (sales + it.sales, payments + it.payments, amount + it.amount)
    order = tenders.KINDS
    kinds = sorted(per, key=lambda k: (order.index(k) if k in order else len(order), k))
    return [(tenders.WORDS.get(k, k), *per[k]) for k in kinds]


def tender_sums(session: Session, store: Store, start: datetime, end: datetime) -> list[TenderSum]:
    """The store's payments of the sales completed (at the till, as it says) in [start, end), per tender: summed
    by the database over the facts' index (a year of a busy store is ~130k payments)."""
    f = TenderFact
    q = (
        select(f.kind, func.count(distinct(f.sale_id)), func.count(), func.sum(f.amount))
        .where(f.store_id == store.id, f.at >= start, f.at < end)
        .group_by(f.kind)
    )
    return [TenderSum(kind, sales, n, amount) for kind, sales, n, amount in session.execute(q)]
