"""Stores and their tax settings, enrolling tills (and replacing one), terminal tokens, storefront API keys."""

from __future__ import annotations

import hmac
import os
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from sync import protocol
from sync.central import ledger
from sync.central.models import (
    ApiKey,
    Location,
    Product,
    SafetyStock,
    Store,
    TaxClass,
    Terminal,
    utcnow,
)
from sync.central.service.base import (
    _CODE_RE,
    _ENROL_ALPHABET,
    DEFAULT_LOCATIONS,
    ENROL_CODE_TTL,
    NUMBER_KINDS,
    NUMBER_STEP,
    REPLACED_TOKEN_GRACE,
    STOREFRONT_KEY_ENV,
    CentralError,
    Conflict,
    Forbidden,
    NotFound,
    _printable,
    sha256,
)
from sync.central.service.catalog import _decimal, catalog_payloads, tax_class_payload

# ---------------------------------------------------------------- stores, terminals, keys


def create_store(
    session: Session, code: str, name: str, currency: str = "EUR", locale: str = "en", timezone: str = "UTC"
) -> Store:
    """A new store with its floor, backroom and quarantine locations; its feed starts with the whole catalog."""
    code = code.strip().upper()
    if not _CODE_RE.match(code):
        raise CentralError(f"store code {code!r} must be 1-16 letters or digits")
    if not name.strip():
        raise CentralError("store name is empty")
    currency = currency.upper()
    if currency not in list_currencies():
        raise CentralError(f"unknown currency {currency!r}")
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError) as exc:
        raise CentralError(f"unknown locale {locale!r}") from exc
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CentralError(f"unknown timezone {timezone!r}") from exc
    if session.scalar(select(Store.id).where(Store.code == code)) is not None:
        raise Conflict(f"store {code} already exists")
    store = Store(
        code=code, name=name.strip(), currency=currency, locale=locale, timezone=timezone, feed_seq=0
    )
    session.add(store)
    session.flush()
    for loc_code, loc_name, sellable in DEFAULT_LOCATIONS:
        session.add(Location(store_id=store.id, code=loc_code, name=loc_name, sellable=sellable))
    # The products' minimum stock set for every store (sync.central.stock `set_safety_stock`).
    chain_wide = (
        select(Product.sku, SafetyStock.qty)
        .join(SafetyStock, SafetyStock.product_id == Product.id)
        .where(SafetyStock.store_id.is_(None))
        .order_by(Product.sku)
    )
    with ledger.set_wise(session):  # a catalog of 100,000 products is one COPY, not a flush per product
        for tax in session.scalars(select(TaxClass).order_by(TaxClass.code)):
            ledger.emit(session, store.id, protocol.CHANGE_TAX_CLASS, tax.code, tax_class_payload(tax))
        for sku, payload in catalog_payloads(session):
            ledger.emit(session, store.id, protocol.CHANGE_PRODUCT, sku, payload)
        for sku, qty in session.execute(chain_wide):
            ledger.emit(
                session, store.id, protocol.CHANGE_MINIMUM, sku, {"sku": sku, "qty": ledger.qty_text(qty)}
            )
    session.flush()
    return store


def get_store(session: Session, code: str) -> Store:
    store = session.scalar(select(Store).where(Store.code == code.strip().upper()))
    if store is None:
        raise NotFound(f"no store {code!r}")
    return store


def store_payload(store: Store) -> dict[str, Any]:
    return {
        "code": store.code,
        "name": store.name,
        "currency": store.currency,
        "locale": store.locale,
        "timezone": store.timezone,
        "tax_mode": store.tax_mode,
        "tax_rounding": store.tax_rounding,
        "cash_rounding": ledger.money_text(store.cash_rounding),
    }


TAX_MODES = ("inclusive", "exclusive")
TAX_ROUNDINGS = ("line", "rate", "order")
CASH_STEPS = (Decimal("0"), Decimal("0.05"), Decimal("0.10"))


def set_store_tax(
    session: Session,
    code: str,
    tax_mode: str | None = None,
    tax_rounding: str | None = None,
    cash_rounding: str | None = None,
) -> Store:
    """Change how a store's tills tax and round; what is not given stays. The store's feed carries the settings
    to its tills as a `store` change, so a till applies them at its next pull."""
    store = get_store(session, code)
    if tax_mode is not None:
        if tax_mode not in TAX_MODES:
            raise CentralError(f"tax mode {tax_mode!r} must be one of: {', '.join(TAX_MODES)}")
        store.tax_mode = tax_mode
    if tax_rounding is not None:
        if tax_rounding not in TAX_ROUNDINGS:
            raise CentralError(f"tax rounding {tax_rounding!r} must be one of: {', '.join(TAX_ROUNDINGS)}")
        store.tax_rounding = tax_rounding
    if cash_rounding is not None:
        step = _decimal(cash_rounding, "cash rounding step")
        if step not in CASH_STEPS:
            raise CentralError(
                f"cash rounding step {cash_rounding!r} must be one of: {', '.join(map(str, CASH_STEPS))} "
                "(0 for none)"
            )
        store.cash_rounding = step
    session.flush()
    ledger.emit(session, store.id, protocol.CHANGE_STORE, store.code, store_payload(store))
    return store


def issue_enrolment_code(
    session: Session, store_code: str, terminal_code: str, ttl: timedelta = ENROL_CODE_TTL
) -> str:
    """A one-time code that enrols `terminal_code` of the store; a new code replaces any earlier one."""
    store = get_store(session, store_code)
    terminal_code = terminal_code.strip().upper()
    if not _CODE_RE.match(terminal_code):
        raise CentralError(f"terminal code {terminal_code!r} must be 1-16 letters or digits")
    terminal = session.scalar(
        select(Terminal).where(Terminal.store_id == store.id, Terminal.code == terminal_code)
    )
    if terminal is None:
        terminal = Terminal(store_id=store.id, code=terminal_code, name="")
        session.add(terminal)
    code = "-".join("".join(secrets.choice(_ENROL_ALPHABET) for _ in range(4)) for _ in range(3))
    terminal.enrol_code_hash = sha256(code)
    terminal.enrol_expires_at = utcnow() + ttl
    session.flush()
    return code


def enroll(
    session: Session, code: str, terminal_name: str, grace: timedelta = REPLACED_TOKEN_GRACE
) -> protocol.EnrollResponse:
    """Trade a one-time code for a bearer token; the code is spent.

    Enrolling a terminal code that was enrolled before is a replacement till (or a new data dir): its numbers go
    on after the last the central store saw of that terminal (at the next thousand), and the replaced token keeps
    working for `grace` so the old till's unsent work can still be delivered (`revoke-terminal` first where the
    old till is lost or stolen: then nothing is left to keep)."""
    normalised = _printable(code, "enrolment code").strip().upper()
    name = _printable(terminal_name, "terminal name").strip()[:100]
    terminal = session.scalar(select(Terminal).where(Terminal.enrol_code_hash == sha256(normalised)))
    if terminal is None or terminal.enrol_expires_at is None or terminal.enrol_expires_at < utcnow():
        raise Forbidden("enrolment code is unknown, used or expired")
    replacing = terminal.enrolled_at is not None
    numbers: dict[str, int] = {}
    if replacing:
        seen = terminal.last_numbers or {}
        numbers = {kind: (int(seen.get(kind, 0)) // NUMBER_STEP + 1) * NUMBER_STEP for kind in NUMBER_KINDS}
        terminal.generation += 1
    if terminal.token_hash is not None and grace > timedelta(0):
        terminal.previous_token_hash = terminal.token_hash
        terminal.previous_token_until = utcnow() + grace
    else:
        terminal.previous_token_hash = None
        terminal.previous_token_until = None
    token = secrets.token_urlsafe(32)
    terminal.token_hash = sha256(token)
    terminal.enrol_code_hash = None
    terminal.enrol_expires_at = None
    terminal.enrolled_at = utcnow()
    terminal.revoked_at = None
    terminal.bootstrap_open = True
    terminal.anchor_seq = None
    terminal.anchor_hash = None
    terminal.name = name
    store = terminal.store
    session.flush()
    return protocol.EnrollResponse(
        token=token,
        store_code=store.code,
        terminal_code=terminal.code,
        store=store_payload(store),
        locations=[{"code": loc.code, "name": loc.name, "sellable": loc.sellable} for loc in store.locations],
        numbers=numbers,
    )


def terminal_for_token(session: Session, token: str) -> Terminal | None:
    """The terminal a bearer token belongs to: its current token, or the one its latest enrolment replaced while
    that one's grace lasts. None for anything else, a revoked terminal included."""
    if not token:
        return None
    digest = sha256(token)
    # With its store: every push and pull names it.
    found = select(Terminal).options(joinedload(Terminal.store))
    terminal = session.scalar(found.where(Terminal.token_hash == digest))
    if terminal is None:
        terminal = session.scalar(found.where(Terminal.previous_token_hash == digest))
        until = terminal.previous_token_until if terminal is not None else None
        if terminal is None or until is None or until < utcnow():
            return None
    if terminal.revoked_at is not None:
        return None
    return terminal


def token_generation(terminal: Terminal, token: str) -> int:
    """Which enrolment of the terminal a (valid) token came from: the current one, or the replaced one before."""
    return terminal.generation if terminal.token_hash == sha256(token) else terminal.generation - 1


def revoke_terminal(session: Session, store_code: str, terminal_code: str) -> Terminal:
    """End every credential of a terminal at once: its token, a replaced token still in its grace, and an
    enrolment code not yet used. Enrol it again to bring it back."""
    store = get_store(session, store_code)
    terminal = session.scalar(
        select(Terminal).where(Terminal.store_id == store.id, Terminal.code == terminal_code.strip().upper())
    )
    if terminal is None:
        raise NotFound(f"no terminal {terminal_code!r} in store {store.code}")
    terminal.token_hash = None
    terminal.previous_token_hash = None
    terminal.previous_token_until = None
    terminal.enrol_code_hash = None
    terminal.enrol_expires_at = None
    terminal.bootstrap_open = False
    terminal.revoked_at = utcnow()
    session.flush()
    return terminal


ALL_STORES = "*"


def create_api_key(
    session: Session, label: str = "", stores: list[str] | None = None, all_stores: bool = False
) -> tuple[int, str]:
    """A storefront key for the given stores (or, said in so many words, for every store); returns (id, key).
    Only its sha256 digest is kept."""
    if all_stores == bool(stores):
        raise CentralError("give the stores the key is for (--store, repeatable), or --all-stores")
    scope = [ALL_STORES] if all_stores else sorted({get_store(session, code).code for code in stores or []})
    key = secrets.token_urlsafe(32)
    row = ApiKey(key_hash=sha256(key), label=label, stores=scope)
    session.add(row)
    session.flush()
    return row.id, key


def api_key_stores(session: Session, key: str) -> frozenset[str] | None:
    """The store codes a storefront key is good for ({"*"} for all), or None for an unknown or revoked key."""
    if not key:
        return None
    configured = os.environ.get(STOREFRONT_KEY_ENV, "")
    if configured and hmac.compare_digest(configured.encode(), key.encode()):
        return frozenset({ALL_STORES})
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == sha256(key), ApiKey.revoked_at.is_(None)))
    return frozenset(row.stores) if row is not None else None


def check_api_key(session: Session, key: str) -> bool:
    return api_key_stores(session, key) is not None


def require_store_scope(scope: frozenset[str], store_code: str) -> None:
    if ALL_STORES not in scope and store_code.strip().upper() not in scope:
        raise Forbidden(f"this API key is not for store {store_code.strip().upper()}")


def revoke_api_key(session: Session, ident: str) -> ApiKey:
    """Revoke a storefront key, named by its id or by the key itself; refused at once from the next request."""
    ident = ident.strip()
    if ident.isdigit():
        row = session.get(ApiKey, int(ident))
    else:
        row = session.scalar(select(ApiKey).where(ApiKey.key_hash == sha256(ident)))
    if row is None:
        raise NotFound("no such API key")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()
    return row
