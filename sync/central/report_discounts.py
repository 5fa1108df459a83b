"""The chain's discounts and price overrides at the central store, by kind, reason and who approved them, and one by
one (for up to a month), by store and for the chain, as each till's Reports screen shows them
(app.services.reports_sales `discount_reasons` and `discounts`).

A till sends with each completed sale its lines' price overrides (with their amount off) and discounts, and its
whole-sale discount, each with the manager whose approval it used, and the cashier who completed the sale: one
without a manager was given on the cashier's own authority (app.services.sales.completion). Read from
`discount_facts` (sync.central.report_facts), written by the database in the transaction that stored the sale;
each counts on the local day the till completed its sale. Who approved is shown by the name the store's tills gave
them (`staff.saved`, sync.central.report_cash).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import report_cash
from sync.central.models import Store
from sync.central.report_facts import DiscountFact

figures = protocol.figures
DISCOUNT_REASONS, DISCOUNTS = figures.DISCOUNT_REASONS, figures.DISCOUNTS
MAX_LIST_DAYS = 31  # the list, one row per discount; the summary by reason covers a year


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
            _approver(names, who, own),
            n,
            amount,
        )
        for kind, reason, who, own, n, amount in found
    ]


def _approver(names: dict[str, str], who: Any, own: Any) -> str:
    return figures.approved_by(names, report_cash.uid(who), bool(own))


def discount_entries(
    session: Session, store: Store, start: datetime, end: datetime
) -> list[figures.DiscountEntry]:
    """The store's discounts given in [start, end), one by one."""
    f = DiscountFact
    q = select(f.at, f.number, f.line_no, f.kind, f.item, f.amount, f.reason, f.approver, f.own).where(
        f.store_id == store.id, f.at >= start, f.at < end
    )
    found = session.execute(q).all()
    names = report_cash.staff_names(session, store) if found else {}
    return [
        figures.DiscountEntry(
            report_cash.aware(at),
            number,
            line_no,
            figures.DISCOUNT_KIND_CODES.get(kind, kind),
            item,
            amount,
            reason,
            _approver(names, who, own),
        )
        for at, number, line_no, kind, item, amount, reason, who, own in found
    ]
