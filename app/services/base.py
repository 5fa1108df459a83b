"""What every service shares: the errors a screen shows, the acting user, and the "what changed" value.

A service function takes a session and plain data, checks rules, writes everything in the caller's one
transaction and returns plain data. It raises `UserError` (a message for the person at the counter) or
`PermissionDenied` (the op helper then asks a permitted user to approve and retries). What a refusal must leave
behind (a wrong PIN counted towards the lockout, its audit entry) is written through `kept_if_rolled_back`, so it
stays whatever the caller then does with its transaction.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.numbers import get_territory_currencies
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from app.db.models import Store, Terminal
from app.db.types import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")


class UserError(Exception):
    """A refusal to show as it is: says what happened and what to do next."""


class PermissionDenied(UserError):
    def __init__(self, permission: str, message: str) -> None:
        super().__init__(message)
        self.permission = permission


@dataclass(frozen=True)
class Actor:
    """Who is doing it, and the approval they were given for this one action, if any. `key` is their PIN key
    (`app.domain.staff_proof`) when they signed in with their PIN: held in memory for the session, it signs the
    staff changes they make, so the central store knows they made them."""

    user_id: str
    approval_id: str | None = None
    key: str | None = field(default=None, repr=False, compare=False)

    def with_approval(self, approval_id: str | None) -> Actor:
        return Actor(self.user_id, approval_id, self.key)


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

    def instant(self, day: date, at: time = time()) -> datetime:
        """A local day and time of the store as the UTC instant it is (the bounds of a day, a period, a search)."""
        return datetime.combine(day, at, ZoneInfo(self.timezone)).astimezone(UTC)


def here(session: Session) -> Here:
    """This terminal and its store (the single row of `terminal`)."""
    tx = session.get_transaction()
    cached = session.info.get("here")
    if (
        cached is not None and tx is not None and cached[0]() is tx
    ):  # read once per transaction: a sale asks often
        return cached[1]  # type: ignore[no-any-return]
    row = session.execute(select(Terminal, Store).join(Store, Store.id == Terminal.store_id)).first()
    if row is None:
        raise UserError("This terminal is not set up: run the demo setup or enrol it with the central store.")
    t, s = row
    h = Here(s.id, s.code, t.code, s.currency, store_locale(s.locale, s.currency, s.timezone), s.timezone)
    if tx is not None:
        # The rows are kept too: the session holds loaded rows weakly, and a sale asks for its store again. The
        # transaction is held weakly: it holds the session, and a strong reference from the session's `info` made
        # every session of the counter (a dozen a sale, with all they had loaded) garbage only the cyclic collector
        # could free.
        session.info["here"] = (weakref.ref(tx), h, t, s)
    return h


def now() -> datetime:
    return utcnow()


@lru_cache(maxsize=32)
def store_locale(locale: str, currency: str, timezone: str = "") -> str:
    """The locale a store's dates and numbers are written in.

    A full locale ("en_IE", "de_AT") is kept. One that names a language only ("en", the central store's default)
    would write dates the way that language's main country does ("en": US month-first dates), so it is completed
    with a territory that speaks it and uses the store's currency: the store's time zone's country when it fits,
    else the language's main country when it uses the currency, else the country where most speak it
    (en + EUR -> en_IE, en + USD -> en_US, de + EUR -> de_DE, en + EUR in Europe/Malta -> en_MT)."""
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return locale
    if parsed.territory:
        return str(parsed)
    language = parsed.language

    def fits(territory: str) -> bool:
        try:
            Locale(language, territory)
        except UnknownLocaleError:
            return False
        return currency.upper() in get_territory_currencies(territory)

    zone_territory = get_global("zone_territories").get(timezone)
    if zone_territory and fits(zone_territory):
        return f"{language}_{zone_territory}"
    main = str(get_global("likely_subtags").get(language, "")).split("_")[-1]
    if main and fits(main):
        return f"{language}_{main}"
    spoken = [
        (float(info.get("population_percent", 0)), territory)
        for territory, languages in get_global("territory_languages").items()
        if (info := languages.get(language)) is not None
        and info.get("official_status") in ("official", "de_facto_official")
        and fits(territory)
    ]
    return f"{language}_{max(spoken)[1]}" if spoken else locale


# -- records a refusal keeps ------------------------------------------------------------------------------------
_KEPT = "counterline.kept_if_rolled_back"


@dataclass
class _Kept:
    transaction: SessionTransaction  # the innermost transaction it was written in
    write: Callable[[Session], object]
    # Its savepoint was rolled back: write it again even when the outer transaction commits.
    lost: bool = False


def kept_if_rolled_back(session: Session, write: Callable[[Session], T]) -> T:
    """Run `write(session)` now, in the caller's transaction, and make sure its effect stays even if that
    transaction is then rolled back (as it is when the service goes on to raise a refusal).

    A refusal that records something (a wrong PIN, a lockout, their audit entries) raises a `UserError` like any
    other, so every caller keeps its one transaction per event and needs no special case: the op helper, a plain
    `with factory.begin()`, a service calling another, an outer transaction that fails later. When the caller commits,
    the write is committed with everything else; when the transaction (or the savepoint it was written in) is rolled
    back, `write` runs again, alone, in a fresh transaction on the same database once the caller's has ended (on SQLite
    the write lock is free by then). Only what `write` writes is kept, never the rest of the refused work. `write`
    must read what it changes afresh (it may run twice: once rolled back, once kept).
    """
    result = write(session)
    tx = session.get_nested_transaction() or session.get_transaction()
    if tx is not None:
        session.info.setdefault(_KEPT, []).append(_Kept(tx, write))
    return result


def _within(tx: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while tx is not None:
        if tx is ancestor:
            return True
        tx = tx.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _savepoint_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    for kept in session.info.get(_KEPT, ()):
        if _within(kept.transaction, previous_transaction):
            kept.lost = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    kept = [k for k in session.info.get(_KEPT, ()) if k.lost]
    if kept:
        session.info[_KEPT] = kept
    else:
        session.info.pop(_KEPT, None)


@event.listens_for(Session, "after_transaction_end")
def _write_again(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    kept: list[_Kept] = session.info.pop(_KEPT, [])
    if not kept:
        return
    try:
        with Session(bind=session.get_bind()) as fresh, fresh.begin():
            for k in kept:
                k.write(fresh)
    except Exception:  # noqa: BLE001 - the caller's own error is the one to show; this one goes to the log
        log.exception("a refusal's record could not be kept")
