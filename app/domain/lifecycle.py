"""The order lifecycle: every state an order can be in and every move allowed between them, in the wire's words.

This module is the one owner of the lifecycle. The till's model (`app.db.models.ORDER_STATUSES`), the wire
(`sync.protocol.ORDER_STATES`), the central store's checks, the replica and the workstations all read it; a test
(tests/domain/test_lifecycle.py) pins each of them to it. It imports nothing but the standard library, so the
protocol (and through it the central store) may import it without taking in the rest of the app.

Web orders move along the path of their fulfilment: a pickup or curbside order is picked, made ready and
collected; a shipped order is picked, packed and shipped. A step may be skipped (an associate picks and hands
over in one go) but never taken back, and any open order may be cancelled. A pickup or curbside order nobody
collects within the store's hold window expires (its goods go back to the floor); a shipped order never does. Counter sales have their own, shorter
life (open, parked, completed, voided) kept here too, so the till's list of states has one source.
"""

from __future__ import annotations

from enum import StrEnum


class OrderState(StrEnum):
    """States of a web order, as the wire, the central store and the till store them."""

    NEW = "new"  # received from the storefront, nothing done yet
    PICKING = "picking"  # an associate started scanning its items
    PACKED = "packed"  # boxed and labelled, waiting for the carrier
    READY = "ready"  # waiting at the pickup counter or for curbside
    COLLECTED = "collected"  # handed over to the customer
    SHIPPED = "shipped"  # left with the carrier
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # a pickup or curbside order nobody came for within the hold window; goods back to the floor


class CounterState(StrEnum):
    """States of a counter sale rung up at a till; they never go on the wire as order states."""

    OPEN = "open"  # being rung up
    PARKED = "parked"  # suspended, recallable at any terminal of the store
    COMPLETED = "completed"  # paid
    VOIDED = "voided"  # abandoned before payment
    RECALLED_ELSEWHERE = "recalled_elsewhere"  # parked here, recalled at another terminal


S = OrderState

# The forward path of each fulfilment; `None` (fulfilment unknown) allows either path.
PATHS: dict[str, tuple[OrderState, ...]] = {
    "pickup": (S.NEW, S.PICKING, S.READY, S.COLLECTED),
    "curbside": (S.NEW, S.PICKING, S.READY, S.COLLECTED),
    "ship": (S.NEW, S.PICKING, S.PACKED, S.SHIPPED),
}

FINAL_STATES: frozenset[OrderState] = frozenset({S.COLLECTED, S.SHIPPED, S.CANCELLED, S.EXPIRED})
# Ways out of any open state of a path, besides its forward steps.
EXITS: dict[str, frozenset[OrderState]] = {
    "pickup": frozenset({S.CANCELLED, S.EXPIRED}),
    "curbside": frozenset({S.CANCELLED, S.EXPIRED}),
    "ship": frozenset({S.CANCELLED}),
}
OPEN_STATES: tuple[OrderState, ...] = tuple(s for s in OrderState if s not in FINAL_STATES)


def _moves(
    path: tuple[OrderState, ...], exits: frozenset[OrderState]
) -> dict[OrderState, frozenset[OrderState]]:
    out: dict[OrderState, frozenset[OrderState]] = {}
    for i, state in enumerate(path):
        later = set(path[i + 1 :])
        if state not in FINAL_STATES:
            later |= exits
        out[state] = frozenset(later)
    return out


def _union(*tables: dict[OrderState, frozenset[OrderState]]) -> dict[OrderState, frozenset[OrderState]]:
    out: dict[OrderState, frozenset[OrderState]] = {state: frozenset() for state in OrderState}
    for table in tables:
        for state, targets in table.items():
            out[state] = out[state] | targets
    return out


# Allowed moves per fulfilment, and for an order whose fulfilment is not known (any path).
TRANSITIONS: dict[str | None, dict[OrderState, frozenset[OrderState]]] = {
    kind: _union(_moves(path, EXITS[kind])) for kind, path in PATHS.items()
}
TRANSITIONS[None] = _union(*(_moves(path, EXITS[kind]) for kind, path in PATHS.items()))


def state(value: str) -> OrderState:
    """The state named `value`; ValueError for a word the lifecycle does not have."""
    try:
        return OrderState(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an order state") from None


def is_final(value: str) -> bool:
    return value in FINAL_STATES


def is_open(value: str) -> bool:
    """A web order still to be worked on (not collected, shipped, cancelled or expired)."""
    return value in OPEN_STATES


def next_states(current: str, fulfilment: str | None = None) -> tuple[OrderState, ...]:
    """Every state the order may move to from `current`, forward along its path first, cancelled last."""
    table = TRANSITIONS.get(fulfilment, TRANSITIONS[None])
    allowed = table.get(state(current), frozenset())
    order = list(OrderState)
    return tuple(sorted(allowed, key=order.index))


def next_step(current: str, fulfilment: str | None = None) -> OrderState | None:
    """The usual next step of the work (never cancelled), or None for a final state."""
    path = PATHS.get(fulfilment or "")
    if path is not None and current in path:
        i = path.index(state(current))
        return path[i + 1] if i + 1 < len(path) else None
    forward = [s for s in next_states(current, fulfilment) if s not in (S.CANCELLED, S.EXPIRED)]
    return forward[0] if forward else None


def may_move(current: str, to: str, fulfilment: str | None = None) -> bool:
    """Whether an order in `current` may move to `to` (staying put is not a move)."""
    try:
        return state(to) in next_states(state(current), fulfilment)
    except ValueError:
        return False


def words(value: str) -> str:
    """A state as a person reads it ("ready", "collected", "recalled elsewhere")."""
    return value.replace("_", " ")
