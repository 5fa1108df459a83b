"""The chain's discounts and price overrides at the central store, by kind, reason and who approved them, by store
and for the chain, as each till's Reports screen counts them (app.services.reports_sales `discount_reasons`).

A till sends with each completed sale its lines' price overrides (with their amount off) and discounts, and its
whole-sale discount, each with the manager whose approval it used, and the cashier who completed the sale: one
without a manager was given on the cashier's own authority (app.services.sales.completion). Read from
`discount_facts` (sync.central.report_facts), written by the database in the transaction that stored the sale;
each counts on the local day the till completed its sale. Who approved is shown by the name the store's tills gave
them (`staff.saved`, sync.central.report_cash).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import report_cash
from sync.central.models import Store
from sync.central.report_facts import DiscountFact

figures = protocol.figures
DISCOUNT_REASONS = figures.DISCOUNT_REASONS


def discount_sums(
    session: Session, store: Store, start: datetime, end: datetime
) -> list[figures.DiscountSum]:
    """The store's discounts given in [start, end), counted and summed per kind, reason and approver."""
    f = DiscountFact
    q = (
        select(f.kind, f.reason, f.approver, f.own, func.count(), func.sum(f.amount))
        .where(f.store_id == store.id, f.at >= start, f.at < end)
        .group_by(f.kind, f.reason, f.approver, f.own)
    )
    found = session.execute(q).all()
    if not found:
        return []
    names = report_cash.staff_names(session, store)
    return [
        figures.DiscountSum(
            figures.DISCOUNT_KIND_CODES.get(kind, kind),
            reason,
            figures.approved_by(names, report_cash.uid(who) if who else "", bool(own)),
            n,
            amount,
        )
        for kind, reason, who, own, n, amount in found
    ]
