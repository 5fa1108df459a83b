"""What every service shares: the errors a screen shows, the acting user, and the "what changed" value.

A service function takes a session and plain data, checks rules, writes everything in the caller's one
transaction and returns plain data. It raises `UserError` (a message for the person at the counter) or
`PermissionDenied` (the op helper then asks a permitted user to approve and retries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Store, Terminal
from app.db.types import utcnow


class UserError(Exception):
    """A refusal to show as it is: says what happened and what to do next."""


class PermissionDenied(UserError):
    def __init__(self, permission: str, message: str) -> None:
        super().__init__(message)
        self.permission = permission


@dataclass(frozen=True)
class Actor:
    """Who is doing it, and the approval they were given for this one action, if any."""

    user_id: str
    approval_id: str | None = None

    def with_approval(self, approval_id: str | None) -> Actor:
        return Actor(self.user_id, approval_id)


@dataclass
class Changes:
    """What a service call changed, so screens redraw only what concerns them."""

    sale: bool = False
    stock: bool = False
    shift: bool = False
    print_queue: bool = False
    outbox: bool = False
    catalog: bool = False
    staff: bool = False
    orders: bool = False
    settings: bool = False
    notes: list[str] = field(default_factory=list)

    def merge(self, other: Changes) -> Changes:
        for name in (
            "sale",
            "stock",
            "shift",
            "print_queue",
            "outbox",
            "catalog",
            "staff",
            "orders",
            "settings",
        ):
            setattr(self, name, getattr(self, name) or getattr(other, name))
        self.notes.extend(other.notes)
        return self


@dataclass(frozen=True)
class Here:
    store_id: str
    store_code: str
    terminal_code: str
    currency: str
    locale: str
    timezone: str


def here(session: Session) -> Here:
    """This terminal and its store (the single row of `terminal`)."""
    tx = session.get_transaction()
    cached = session.info.get("here")
    if (
        cached is not None and tx is not None and cached[0] is tx
    ):  # read once per transaction: a sale asks often
        return cached[1]  # type: ignore[no-any-return]
    row = session.execute(select(Terminal, Store).join(Store, Store.id == Terminal.store_id)).first()
    if row is None:
        raise UserError("This terminal is not set up: run the demo setup or enrol it with the central store.")
    t, s = row
    h = Here(s.id, s.code, t.code, s.currency, s.locale, s.timezone)
    if tx is not None:
        session.info["here"] = (tx, h)
    return h


def now() -> datetime:
    return utcnow()
