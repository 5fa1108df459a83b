"""Web orders waiting at this store, as plain rows for the Pickup and Pack workstations (read-only for now).

What may happen next to each is the lifecycle's answer (`app.domain.lifecycle`), never a list of a screen's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Order
from app.domain import lifecycle


@dataclass(frozen=True)
class WaitingOrder:
    number: str
    fulfilment: str
    customer: str
    status: str
    next_step: str | None  # the lifecycle's next state for it, None at the end


def waiting(session: Session, fulfilments: list[str]) -> list[WaitingOrder]:
    """Open web orders of these fulfilments (pickup, curbside, ship), oldest first."""
    rows = session.execute(
        select(Order.number, Order.fulfilment, Order.customer_name, Order.status)
        .where(
            Order.channel == "web",
            Order.fulfilment.in_(fulfilments),
            Order.status.in_([str(state) for state in lifecycle.OPEN_STATES]),
        )
        .order_by(Order.created_at)
    ).all()
    return [
        WaitingOrder(number, fulfilment, customer or "", status, lifecycle.next_step(status, fulfilment))
        for number, fulfilment, customer, status in rows
    ]
