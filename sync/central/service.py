"""Use cases of the central store: stores and enrolment, catalog import, applying pushed events exactly once,
serving the change feed, and web orders from the storefront.

Each function takes an open session and plain data; the caller owns the transaction (`with factory.begin()`),
except `push`, which runs one transaction per event so a rejected event never undoes the others.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from sqlalchemy.orm import Session, object_session, sessionmaker

from sync import protocol
from sync.central import ledger, notices, roles
from sync.central.ledger import Rejected
from sync.central.models import (
    ApiKey,
    AppliedEvent,
    Barcode,
    FeedChange,
    Location,
    OrderStatusHistory,
    ParkedSale,
    Price,
    Product,
    RejectedEvent,
    Return,
    Sale,
    StaffMember,
    StockException,
    StockLevel,
    Store,
    TaxClass,
    Terminal,
    WebOrder,
    utcnow,
)

STOREFRONT_KEY_ENV = "COUNTERLINE_STOREFRONT_KEY"
ENROL_CODE_TTL = timedelta(hours=24)
DEFAULT_LOCATIONS = (
    ("floor", "Sales floor", True),
    ("backroom", "Backroom", True),
    ("quarantine", "Quarantine", False),
)
PULL_MAX_LIMIT = 1000
# How long the token a new enrolment replaced keeps working, so the old till's unsent work can still be delivered.
REPLACED_TOKEN_GRACE = timedelta(hours=72)
# The kinds of number a till allocates (app.services.numbers), each STORE-TERMINAL-SEQUENCE.
NUMBER_KINDS = ("receipt", "return", "parked", "shift")
# A replacement till starts each kind at the next thousand after the last number seen, leaving room for what the
# old till numbered and has not sent yet.
NUMBER_STEP = 1000
_CODE_RE = re.compile(r"^[A-Z0-9]{1,16}$")
# Enrolment codes are typed at a till: no 0/O or 1/I to confuse.
_ENROL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class CentralError(ValueError):
    """Bad input from an operator or a client; the message is fit to show as it is."""


class NotFound(CentralError):
    pass


class Conflict(CentralError):
    pass


class Forbidden(CentralError):
    pass


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


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
    for tax in session.scalars(select(TaxClass).order_by(TaxClass.code)):
        ledger.emit(session, store.id, protocol.CHANGE_TAX_CLASS, tax.code, tax_class_payload(tax))
    for product in session.scalars(select(Product).order_by(Product.id)):
        ledger.emit(
            session, store.id, protocol.CHANGE_PRODUCT, product.sku, product_payload(session, product)
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


def _printable(text: str, what: str) -> str:
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise CentralError(f"{what} contains a control character")
    return text


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
    terminal = session.scalar(select(Terminal).where(Terminal.token_hash == digest))
    if terminal is None:
        terminal = session.scalar(select(Terminal).where(Terminal.previous_token_hash == digest))
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


# ---------------------------------------------------------------- catalog


def tax_class_payload(tax: TaxClass) -> dict[str, Any]:
    return {"code": tax.code, "name": tax.name, "rate": str(tax.rate)}


def current_price(session: Session, product: Product, at: datetime | None = None) -> Price | None:
    return session.scalar(
        select(Price)
        .where(Price.product_id == product.id, Price.effective_from <= (at or utcnow()))
        .order_by(Price.effective_from.desc(), Price.id.desc())
        .limit(1)
    )


def product_payload(session: Session, product: Product) -> dict[str, Any]:
    price = current_price(session, product)
    return {
        "sku": product.sku,
        "name": product.name,
        "price": ledger.money_text(price.price) if price else None,
        "tax_class": product.tax_class,
        "department": product.department,
        "barcodes": [{"code": b.code, "pack_qty": b.pack_qty} for b in product.barcodes],
        "weighed": product.weighed,
        "scale_code": product.scale_code,
        "active": product.active,
    }


RATE_PLACES = 6  # decimals a tax rate is kept to, exactly (models.Rate); more are refused, never rounded


def set_tax_class(session: Session, code: str, rate: str, name: str = "") -> TaxClass:
    code = code.strip()
    if not code:
        raise CentralError("tax class code is empty")
    value = _decimal(rate, "rate")
    if not Decimal(0) <= value < Decimal(1):
        raise CentralError(f"rate {rate!r} must be a fraction from 0 to below 1 (0.20 is 20 %)")
    if value != value.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise CentralError(
            f"rate {rate.strip()} has more than {RATE_PLACES} decimals: rates are kept exactly to {RATE_PLACES} "
            f"(for example 0.08875 for 8.875 %); nothing was changed"
        )
    tax = session.get(TaxClass, code)
    if tax is None:
        tax = TaxClass(code=code, name=name or code, rate=value)
        session.add(tax)
    else:
        tax.rate = value
        tax.name = name or tax.name
    session.flush()
    ledger.emit_to_all_stores(session, protocol.CHANGE_TAX_CLASS, code, tax_class_payload(tax))
    return tax


_BOOL = {
    "": False,
    "0": False,
    "no": False,
    "false": False,
    "n": False,
    "1": True,
    "yes": True,
    "true": True,
    "y": True,
}
CATALOG_COLUMNS = ("sku", "name", "price", "tax_class", "department", "barcodes", "weighed")
# Optional columns: a file without them leaves those fields of its products as they were.
CATALOG_OPTIONAL_COLUMNS = ("scale_code",)
_SCALE_CODE_RE = re.compile(r"^[0-9]{1,10}$")


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise CentralError(f"{what} {text!r} is not a number") from exc
    if not value.is_finite():
        raise CentralError(f"{what} {text!r} is not a number")
    return value


def import_catalog(session: Session, text: str) -> int:
    """Create or update products from CSV text with the CATALOG_COLUMNS header; all rows or none.

    Barcodes are space separated, each `CODE` or `CODE:PACK_QTY`. The optional `scale_code` column gives a weighed
    item the item code its scale prints on price-embedded labels (digits, e.g. 00003); empty clears it.
    A changed price takes effect now and is
    published as a `price` change; every product touched goes to every store's feed as a `product` change.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CATALOG_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CentralError(f"catalog header lacks column(s): {', '.join(missing)}")
    now = utcnow()
    seen: dict[str, str] = {}  # "sku:X" and "barcode:Y" already met in this file
    count = 0
    for row in reader:
        line = reader.line_num
        try:
            _import_row(session, row, now, seen)
        except CentralError as exc:
            raise CentralError(f"line {line}: {exc}") from exc
        count += 1
    return count


def _import_row(session: Session, row: dict[str, str], now: datetime, seen: dict[str, str]) -> None:
    sku = (row.get("sku") or "").strip()
    name = (row.get("name") or "").strip()
    if not sku or not name:
        raise CentralError("sku and name are required")
    if f"sku:{sku}" in seen:
        raise CentralError(f"sku {sku} appears twice")
    price = _decimal(row.get("price") or "", "price")
    if price < 0 or price != price.quantize(Decimal("0.01")):
        raise CentralError(f"price {price} must be positive with at most 2 decimals")
    tax_code = (row.get("tax_class") or "").strip()
    if session.get(TaxClass, tax_code) is None:
        raise CentralError(f"unknown tax class {tax_code!r} (create it with set-tax-class)")
    weighed_text = (row.get("weighed") or "").strip().lower()
    if weighed_text not in _BOOL:
        raise CentralError(f"weighed {weighed_text!r} must be yes or no")
    codes: list[tuple[str, int]] = []
    for token in (row.get("barcodes") or "").split():
        code, _, pack = token.partition(":")
        if not pack:
            codes.append((code, 1))
        elif pack.isdigit() and int(pack) > 0:
            codes.append((code, int(pack)))
        else:
            raise CentralError(f"barcode {token!r}: pack quantity must be a positive whole number")
    scale_code = _scale_code(session, row, sku, seen)
    for code, _ in codes:
        if f"barcode:{code}" in seen:
            raise CentralError(f"barcode {code} is given twice in this file")
        seen[f"barcode:{code}"] = sku
        owner = session.scalar(select(Product.sku).join(Barcode).where(Barcode.code == code))
        if owner is not None and owner != sku:
            raise CentralError(f"barcode {code} already belongs to {owner}")
    seen[f"sku:{sku}"] = sku

    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        product = Product(sku=sku, name=name, tax_class=tax_code, active=True)
        session.add(product)
    product.name = name
    product.tax_class = tax_code
    product.department = (row.get("department") or "").strip()
    product.weighed = _BOOL[weighed_text]
    if "scale_code" in row:
        product.scale_code = scale_code
    product.active = True
    product.updated_at = now
    session.flush()
    wanted = dict(codes)
    for barcode in list(product.barcodes):
        if barcode.code not in wanted:
            product.barcodes.remove(barcode)
    existing = {b.code: b for b in product.barcodes}
    for barcode_code, pack_qty in codes:
        if barcode_code in existing:
            existing[barcode_code].pack_qty = pack_qty
        else:
            product.barcodes.append(Barcode(code=barcode_code, pack_qty=pack_qty))
    old = current_price(session, product, now)
    if old is None or old.price != price:
        session.add(Price(product_id=product.id, price=price, effective_from=now))
        session.flush()
        payload = {"sku": sku, "price": ledger.money_text(price), "effective_from": now.isoformat()}
        ledger.emit_to_all_stores(session, protocol.CHANGE_PRICE, sku, payload)
    session.flush()
    session.refresh(product, ["barcodes"])
    ledger.emit_to_all_stores(session, protocol.CHANGE_PRODUCT, sku, product_payload(session, product))


def _scale_code(session: Session, row: dict[str, str], sku: str, seen: dict[str, str]) -> str | None:
    code = (row.get("scale_code") or "").strip()
    if not code:
        return None
    if not _SCALE_CODE_RE.match(code):
        raise CentralError(
            f"scale code {code!r} must be digits only (the item code the scale prints, e.g. 00003)"
        )
    if f"scale:{code}" in seen:
        raise CentralError(f"scale code {code} is given twice in this file")
    seen[f"scale:{code}"] = sku
    owner = session.scalar(select(Product.sku).where(Product.scale_code == code))
    if owner is not None and owner != sku:
        raise CentralError(f"scale code {code} already belongs to {owner}")
    return code


# ---------------------------------------------------------------- push


def push(
    factory: sessionmaker[Session],
    terminal_id: int,
    events: Sequence[protocol.Event | dict[str, Any]],
) -> list[protocol.PushResult]:
    """Apply each event exactly once, in the order given; each applied event's id is written with its effects, so
    a batch sent again answers "duplicate".

    Each event is first judged alone against the protocol (`check_event`: schema, bounds, and whether what it
    claims adds up); one that fails is refused with its reason and never reaches the database or a feed. The
    rest is tried in one transaction under the store's lock. If any event in it is refused, that transaction is
    dropped and the batch is applied again one event per transaction, so the refused event alone is parked with
    its reason. (Savepoints per event would also isolate it, but on PostgreSQL each savepoint that touches the
    locked store row grows a multixact, and twenty tills queued on one store took minutes a batch.)
    An event that names another store than the terminal's is refused alone. Raises `CentralError` (before
    applying anything) when an event has no id to answer for. (The API calls `after_push` after it.)
    """
    with factory() as session:
        terminal = session.get(Terminal, terminal_id)
        if terminal is None:
            raise Forbidden("unknown terminal")
        store_code = terminal.store.code
    judged: list[protocol.Event | protocol.PushResult] = [_judge(raw, store_code) for raw in events]
    good = [ev for ev in judged if isinstance(ev, protocol.Event)]
    if len(good) == len(judged):
        try:
            with factory.begin() as session:
                return _apply_batch(session, terminal_id, good)
        except _UNAPPLIABLE:
            pass
    # One by one, in the order sent, so what is parked for review reads in the till's order.
    results = []
    for ev in judged:
        if isinstance(ev, protocol.PushResult):
            _record_refusal(factory, terminal_id, ev, *_raw_of(events, ev.id))
            results.append(ev)
        else:
            results.append(_push_alone(factory, terminal_id, ev))
    return results


# What applying an event can raise that is the event's fault: it is refused alone, never an HTTP 500.
_UNAPPLIABLE = (
    Rejected,
    ValidationError,
    IntegrityError,
    DataError,
    StatementError,
    ValueError,
    ArithmeticError,
    OverflowError,
)


def _raw_of(events: Sequence[protocol.Event | dict[str, Any]], event_id: uuid.UUID) -> tuple[Any, Any]:
    """The type and payload an event was sent with."""
    for raw in events:
        data = raw.model_dump() if isinstance(raw, protocol.Event) else raw
        if str(data.get("id")) == str(event_id):
            return data.get("type"), data.get("payload")
    return None, None


def _safe_text(text: str, limit: int) -> str:
    """A reason or type fit for a text column on either engine (what was sent may hold NUL or lone surrogates)."""
    return text.replace("\x00", "\\0").encode("utf-8", "replace").decode("utf-8")[:limit]


def _judge(raw: protocol.Event | dict[str, Any], store_code: str) -> protocol.Event | protocol.PushResult:
    """The event, validated, or its refusal. An event whose id cannot be read cannot be answered: CentralError."""
    data = raw.model_dump() if isinstance(raw, protocol.Event) else raw
    try:
        event_id = uuid.UUID(str(data.get("id")))
    except (ValueError, AttributeError) as exc:
        raise CentralError("an event has no valid id (a UUID): nothing of this push was applied") from exc
    try:
        ev = protocol.Event.model_validate(data)
        check_event(ev)
        named = ev.payload.get("store")
        if named is not None and (not isinstance(named, str) or named.upper() != store_code):
            # Refused alone: a batch failed whole on it would stop every later event of the till.
            raise Rejected(f"event is for store {str(named)[:16]!r}; this terminal belongs to {store_code}")
    except ValidationError as exc:
        return protocol.PushResult(id=event_id, status="rejected", reason=_validation_reason(data, exc))
    except Rejected as exc:
        return protocol.PushResult(id=event_id, status="rejected", reason=_safe_text(exc.reason, 500))
    return ev


def _validation_reason(data: dict[str, Any], exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    kind = str(data.get("type"))[:32] if isinstance(data, dict) else "?"
    return _safe_text(f"invalid {kind} event: {where}: {first['msg']}", 500)


def check_event(ev: protocol.Event) -> None:
    """Check an event against the protocol and against itself before anything of it is applied: its payload
    against its type's model, its size, and whether what it claims adds up. Raises ValidationError or Rejected."""
    model = protocol.PAYLOADS.get(ev.type)
    if model is None:
        raise Rejected(f"unknown event type {ev.type!r}")
    if len(json.dumps(ev.payload)) > protocol.MAX_PAYLOAD_BYTES:
        raise Rejected(f"{ev.type} payload is larger than {protocol.MAX_PAYLOAD_BYTES // 1024} KiB")
    payload = model.model_validate(ev.payload)
    if isinstance(payload, protocol.SaleCompleted):
        _check_document(ev.type, payload)
    elif isinstance(payload, protocol.Movement):
        _check_movements([payload])
    elif isinstance(payload, protocol.OrderStatusChange):
        _check_movements(payload.movements)
    elif isinstance(payload, protocol.ParkedSale):
        _check_lines(payload.lines, sale=True)


# The sign a movement of each kind may have: sales and hand-overs take goods out, returns and receipts bring
# them in; an adjustment or transfer may go either way. None is ever zero.
_MOVEMENT_SIGN = {"sale": -1, "fulfilment": -1, "return": 1, "receipt": 1}


def _check_movements(movements: Sequence[protocol.Movement]) -> None:
    for m in movements:
        if m.qty == 0:
            raise Rejected(f"movement {m.id} moves nothing (qty 0)")
        sign = _MOVEMENT_SIGN.get(m.kind)
        if sign is not None and (m.qty > 0) != (sign > 0):
            way = "take goods out" if sign < 0 else "bring goods in"
            raise Rejected(f"a {m.kind} movement must {way}: {m.sku} qty {m.qty}")
        if m.kind == "count":
            raise Rejected("count movements are made by the central store from stock.count events")


def _check_lines(lines: Sequence[protocol.SaleLine], sale: bool) -> None:
    for n, line in enumerate(lines, start=1):
        where = f"line {line.line_no or n} ({line.sku})"
        if line.qty == 0:
            raise Rejected(f"{where} has quantity 0")
        if sale and line.qty < 0:
            raise Rejected(f"{where} sells a negative quantity {line.qty}: take it back as a return")
        if line.unit_price < 0 or line.tax < 0 or (sale and line.amount < 0):
            raise Rejected(f"{where} has a negative price, amount or tax")


def _check_document(kind: str, p: protocol.SaleCompleted) -> None:
    """A sale or return adds up: each line's sign, its movements against its lines (same goods, same
    quantities, the right way), and its totals against its lines and payments."""
    sale = kind == protocol.SALE_COMPLETED
    _check_lines(p.lines, sale=sale)
    _check_movements(p.movements)
    expected = "sale" if sale else "return"
    sold: dict[str, Decimal] = {}
    for line in p.lines:
        sold[line.sku] = sold.get(line.sku, Decimal(0)) + abs(line.qty)
    moved: dict[str, Decimal] = {}
    for m in p.movements:
        if m.kind != expected:
            raise Rejected(f"a {kind} carries a {m.kind} movement ({m.sku})")
        moved[m.sku] = moved.get(m.sku, Decimal(0)) + abs(m.qty)
    for sku, qty in moved.items():
        if sku not in sold:
            raise Rejected(f"a movement of {sku} has no line in this {kind}")
        if qty != sold[sku]:
            raise Rejected(f"the movements of {sku} ({qty}) do not match its lines ({sold[sku]})")
    t = p.totals
    line_tax = sum((line.tax for line in p.lines), Decimal(0))
    line_amount = sum((line.amount for line in p.lines), Decimal(0))
    if t.tax_total is not None and t.tax_total != line_tax:
        raise Rejected(f"tax_total {t.tax_total} is not the sum of the lines' tax ({line_tax})")
    if t.total is not None and t.total not in (line_amount, line_amount + line_tax):
        raise Rejected(f"total {t.total} does not add up from the lines ({line_amount})")
    if sale and t.total is not None and t.total < 0:
        raise Rejected(f"a sale's total cannot be negative ({t.total})")
    if sale and t.total is not None and p.payments:
        paid = sum((pay.amount for pay in p.payments), Decimal(0))
        rounding = t.rounding or Decimal(0)
        if paid not in (t.total, t.total + rounding, t.total - rounding):
            raise Rejected(f"payments of {paid} do not settle the total {t.total}")
    if sale and any(pay.amount < 0 for pay in p.payments):
        raise Rejected("a sale's payment cannot be negative")


def _record_refusal(
    factory: sessionmaker[Session], terminal_id: int, result: protocol.PushResult, kind: Any, payload: Any
) -> None:
    """Park an event refused before it was applied, with its reason, for a person to look at (what was sent is
    kept where it can be stored as it is; otherwise only what it is)."""
    try:
        protocol.check_json(payload)
        kept = payload if isinstance(payload, dict) else {"sent": payload}
        if len(json.dumps(kept)) > protocol.MAX_PAYLOAD_BYTES:
            raise ValueError("too large")
    except (ValueError, TypeError, RecursionError):
        kept = {"unstorable": type(payload).__name__}
    with factory.begin() as session:
        terminal = _locked_terminal(session, terminal_id)
        if session.get(AppliedEvent, result.id) is not None:
            return
        session.add(
            RejectedEvent(
                event_id=result.id,
                store_id=terminal.store_id,
                terminal_id=terminal.id,
                type=_safe_text(str(kind), 32),
                reason=_safe_text(result.reason or "refused", 500),
                payload=kept,
            )
        )


def _locked_terminal(session: Session, terminal_id: int) -> Terminal:
    terminal = session.get(Terminal, terminal_id)
    assert terminal is not None
    # Everything a store's events touch is serialised on the store row, so levels read here are current, and a
    # second copy of a batch still being applied waits here, then finds its events already applied.
    ledger.lock_store(session, terminal.store_id)
    return terminal


def _applied(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    _apply(session, terminal, ev)
    _note_number(terminal, ev)
    session.add(
        AppliedEvent(
            event_id=ev.id,
            store_id=terminal.store_id,
            terminal_id=terminal.id,
            type=ev.type,
            occurred_at=ev.occurred_at,
            payload=ev.payload,
            generation=terminal.generation,
        )
    )


def after_push(
    factory: sessionmaker[Session],
    terminal_id: int,
    generation: int,
    anchor: protocol.AuditAnchor | None,
    results: list[protocol.PushResult],
) -> None:
    """After a push: close the first-admin window of a just enrolled terminal, and keep the audit head the push
    named (the highest, of the current generation only). A replaced till delivering its unsent work in its grace
    has the generation before: its events are marked so (its audit chain is not the new till's)."""
    with factory.begin() as session:
        terminal = session.get(Terminal, terminal_id)
        if terminal is None:
            return
        applied = [r.id for r in results if r.status == "applied"]
        if generation != terminal.generation:
            if applied:
                session.execute(
                    update(AppliedEvent)
                    .where(AppliedEvent.terminal_id == terminal_id, AppliedEvent.event_id.in_(applied))
                    .values(generation=generation)
                )
            return
        if terminal.bootstrap_open:
            terminal.bootstrap_open = False
        if anchor is not None and (terminal.anchor_seq is None or anchor.seq > terminal.anchor_seq):
            terminal.anchor_seq = anchor.seq
            terminal.anchor_hash = anchor.hash


def _seen(session: Session, terminal: Terminal, event_id: uuid.UUID) -> bool:
    """Whether the event was applied in this terminal's store already. An id another store used is refused, never
    answered "duplicate": an event id is unique within its store, and says nothing to another."""
    owner = session.scalar(select(AppliedEvent.store_id).where(AppliedEvent.event_id == event_id))
    if owner is None:
        return False
    if owner != terminal.store_id:
        raise Rejected(f"event id {event_id} was already used in another store")
    return True


# Which payload field holds a number of which kind, per event type.
_NUMBERED = {
    protocol.SALE_COMPLETED: (("number", "receipt"),),
    protocol.RETURN_COMPLETED: (("number", "return"),),
    protocol.SALE_PARKED: (("number", "parked"), ("receipt_number", "receipt")),
    protocol.SHIFT_OPENED: (("number", "shift"),),
}


def _note_number(terminal: Terminal, ev: protocol.Event) -> None:
    """Keep the highest number of each kind this terminal used, so a replacement till goes on after it."""
    for field_name, kind in _NUMBERED.get(ev.type, ()):
        value = ev.payload.get(field_name)
        if not isinstance(value, str):
            continue
        match = re.search(rf"(?:^|-){re.escape(terminal.code)}-\D*(\d{{1,12}})$", value)
        if match is None:
            continue
        seq = int(match.group(1))
        seen = dict(terminal.last_numbers or {})
        if seq > int(seen.get(kind, 0)):
            seen[kind] = seq
            terminal.last_numbers = seen  # a new dict: the JSON column sees the change


def _apply_batch(
    session: Session, terminal_id: int, events: list[protocol.Event]
) -> list[protocol.PushResult]:
    terminal = _locked_terminal(session, terminal_id)
    # Which of these were applied before: one query for the batch (under the lock, so no copy slips in between).
    owners = dict(
        session.execute(
            select(AppliedEvent.event_id, AppliedEvent.store_id).where(
                AppliedEvent.event_id.in_([e.id for e in events])
            )
        ).all()
    )
    if any(owner != terminal.store_id for owner in owners.values()):
        # An id another store used is refused, never "duplicate": the batch goes one event at a time.
        raise Rejected("an event id of this batch was used in another store")
    done = set(owners)
    _prefetch(session, terminal.store_id, events)
    _prefetch_numbers(session, events)
    sale_ids = {
        uuid.UUID(str(e.payload["order_id"]))
        for e in events
        if e.type == protocol.SALE_COMPLETED and _is_uuid(e.payload.get("order_id"))
    }
    if sale_ids:
        recorded = set(session.scalars(select(Sale.id).where(Sale.id.in_(sale_ids))))
        _known_sales(session).update({i: i in recorded for i in sale_ids})
    results = []
    for ev in events:
        if ev.id in done:
            results.append(protocol.PushResult(id=ev.id, status="duplicate"))
            continue
        _applied(session, terminal, ev)
        done.add(ev.id)  # the same event twice in one batch
        results.append(protocol.PushResult(id=ev.id, status="applied"))
    return results


def _prefetch(session: Session, store_id: int, events: list[protocol.Event]) -> None:
    """Read the products, locations and stock levels a batch names in a few queries, into the caches the handlers
    use. One by one, every line of every sale was a query, and each query flushed what was pending first."""
    skus: set[str] = set()
    for ev in events:
        lines = ev.payload.get("movements")
        for m in [ev.payload, *(lines if isinstance(lines, list) else [])]:
            if isinstance(m, dict) and m.get("sku") is not None:
                skus.add(str(m["sku"]))
    if not skus:
        return
    products = ledger.tx_cache(session, "products")
    wanted = sorted(skus)
    for i in range(0, len(wanted), 500):
        for product in session.scalars(select(Product).where(Product.sku.in_(wanted[i : i + 500]))):
            products[product.sku] = product
    locations = ledger.tx_cache(session, "locations")
    for loc in session.scalars(select(Location).where(Location.store_id == store_id)):
        locations[(store_id, loc.code)] = loc
    levels = ledger.tx_cache(session, "levels")
    ids = [products[sku].id for sku in wanted if sku in products]
    for i in range(0, len(ids), 500):
        for level in session.scalars(
            select(StockLevel)
            .where(StockLevel.store_id == store_id, StockLevel.product_id.in_(ids[i : i + 500]))
            .execution_options(populate_existing=True)
        ):
            levels[(level.location_id, level.product_id)] = level


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _push_alone(factory: sessionmaker[Session], terminal_id: int, ev: protocol.Event) -> protocol.PushResult:
    try:
        with factory.begin() as session:
            terminal = _locked_terminal(session, terminal_id)
            if _seen(session, terminal, ev.id):
                return protocol.PushResult(id=ev.id, status="duplicate")
            _applied(session, terminal, ev)
        return protocol.PushResult(id=ev.id, status="applied")
    except Rejected as exc:
        reason = exc.reason
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = f"invalid {ev.type} payload: {where}: {first['msg']}"
    except IntegrityError:
        reason = "conflicts with a record already stored (reused id or number)"
    except _UNAPPLIABLE as exc:
        reason = f"cannot be stored as sent ({type(exc).__name__})"
    reason = _safe_text(reason, 500)
    with factory.begin() as session:
        terminal = _locked_terminal(session, terminal_id)
        applied = session.get(AppliedEvent, ev.id)
        if applied is not None and applied.store_id == terminal.store_id:  # a copy racing this one got it in
            return protocol.PushResult(id=ev.id, status="duplicate")
        session.add(
            RejectedEvent(
                event_id=ev.id,
                store_id=terminal.store_id,
                terminal_id=terminal.id,
                type=ev.type[:32],
                reason=reason[:500],
                payload=ev.payload,
            )
        )
    return protocol.PushResult(id=ev.id, status="rejected", reason=reason)


def _location(session: Session, store_id: int, code: str) -> Location:
    cache = ledger.tx_cache(session, "locations")
    loc: Location | None = cache.get((store_id, code))
    if loc is None:
        loc = session.scalar(select(Location).where(Location.store_id == store_id, Location.code == code))
        if loc is None:
            raise Rejected(f"unknown location {code!r}")
        cache[(store_id, code)] = loc
    return loc


def _product(session: Session, sku: str) -> Product:
    cache = ledger.tx_cache(session, "products")
    product: Product | None = cache.get(sku)
    if product is None:
        product = session.scalar(select(Product).where(Product.sku == sku))
        if product is None:
            raise Rejected(f"unknown sku {sku!r}")
        cache[sku] = product
    return product


def _apply(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    handler = _HANDLERS.get(ev.type)
    if handler is None:
        raise Rejected(f"unknown event type {ev.type!r}")
    handler(session, terminal, ev)


def _apply_movements(
    session: Session,
    terminal: Terminal,
    ev: protocol.Event,
    movements: list[protocol.Movement],
    cause_id: str,
) -> None:
    for m in movements:
        location = _location(session, terminal.store_id, m.location)
        product = _product(session, m.sku)
        level = ledger.record_movement(
            session,
            movement_id=m.id,
            location=location,
            product=product,
            qty=m.qty,
            kind=m.kind,
            cause_type=ev.type,
            cause_id=cause_id,
            event_id=ev.id,
            terminal_id=terminal.id,
        )
        if m.qty < 0:
            ledger.flag_oversell(session, location, product, level, ev.id, f"{ev.type} {cause_id}")


def _flag_movements(
    session: Session,
    terminal: Terminal,
    ev: protocol.Event,
    kind: str,
    movements: list[protocol.Movement],
    detail: dict[str, Any],
) -> None:
    """Goods moved in a way a person must look at (they stand in the ledger): one exception per movement."""
    for m in movements:
        session.add(
            StockException(
                store_id=terminal.store_id,
                kind=kind,
                sku=m.sku,
                location=m.location,
                detail={**detail, "terminal": terminal.code, "qty": ledger.qty_text(m.qty)},
                event_id=ev.id,
            )
        )


def _known_sales(session: Session) -> dict[uuid.UUID, bool]:
    """Whether a sale id is recorded already, for this transaction (a batch fills it in one query)."""
    return ledger.tx_cache(session, "sales")


def _sale(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.SaleCompleted.model_validate(ev.payload)
    known = _known_sales(session)
    if p.order_id not in known:
        known[p.order_id] = session.get(Sale, p.order_id) is not None
    if known[p.order_id]:
        # The same parked sale recalled and completed at two tills while they were offline: both customers left
        # with goods, so the movements stand and a person is asked to look at the second payment.
        _apply_movements(session, terminal, ev, p.movements, str(p.order_id))
        _flag_movements(session, terminal, ev, "sale_completed_twice", p.movements, {"sale": p.number})
        return
    _number_free(session, p.number, Sale)
    session.add(
        Sale(
            id=p.order_id,
            store_id=terminal.store_id,
            terminal_id=terminal.id,
            number=p.number,
            total=p.totals.total,
            document=ev.payload,
            occurred_at=ev.occurred_at,
        )
    )
    known[p.order_id] = True
    _apply_movements(session, terminal, ev, p.movements, str(p.order_id))
    _emit_document(session, terminal, ev, protocol.CHANGE_SALE, str(p.order_id))


def _number_free(session: Session, number: str, kind: type[Sale] | type[Return] | type[WebOrder]) -> None:
    """A till keeps sales, returns and web orders in one table, numbered alike: a number one of the others has
    already would be a record no till could take, so it is refused here (its own kind's are unique by table)."""
    holders = _numbers_held(session)
    if number not in holders:
        with session.no_autoflush:
            holders[number] = {
                other.__name__
                for other in (Sale, Return, WebOrder)
                if session.scalar(select(other.id).where(other.number == number)) is not None
            }
    if holders[number] - {kind.__name__}:
        raise Rejected(f"number {number} is already used by another sale, return or web order")
    holders[number].add(kind.__name__)


def _numbers_held(session: Session) -> dict[str, set[str]]:
    """Which kinds of record (Sale, Return, WebOrder) hold a number, for this transaction (a batch fills it for
    all its numbers in three queries: one query per event, each flushing first, was most of a push's time)."""
    return ledger.tx_cache(session, "numbers_held")


def _prefetch_numbers(session: Session, events: list[protocol.Event]) -> None:
    numbers = {
        str(e.payload["number"])
        for e in events
        if e.type in (protocol.SALE_COMPLETED, protocol.RETURN_COMPLETED)
        and isinstance(e.payload.get("number"), str)
    }
    if not numbers:
        return
    holders = _numbers_held(session)
    for number in numbers:
        holders.setdefault(number, set())
    wanted = sorted(numbers)
    for other in (Sale, Return, WebOrder):
        for i in range(0, len(wanted), 500):
            for number in session.scalars(select(other.number).where(other.number.in_(wanted[i : i + 500]))):
                holders[number].add(other.__name__)


def _emit_document(
    session: Session, terminal: Terminal, ev: protocol.Event, change_type: str, key: str
) -> None:
    """A completed sale or return goes to the store's feed, so every till of the store can find it (a return at
    the desk of a sale rung up at another till). Its movements stay out: stock travels as stock changes."""
    payload = {k: v for k, v in ev.payload.items() if k != "movements"}
    payload["terminal"] = terminal.code  # who pushed it, as the central store knows it
    if not payload.get("completed_at"):
        payload["completed_at"] = ev.occurred_at.isoformat()
    ledger.emit(session, terminal.store_id, change_type, key, payload)


def _return(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.SaleCompleted.model_validate(ev.payload)
    if any(m.qty < 0 for m in p.movements):
        raise Rejected("a return's movements must be positive")
    if session.get(Return, p.order_id) is not None:
        raise Rejected(f"return {p.order_id} is already recorded")
    _number_free(session, p.number, Return)
    session.add(
        Return(
            id=p.order_id,
            store_id=terminal.store_id,
            terminal_id=terminal.id,
            number=p.number,
            original_order_id=p.original_order_id,
            total=p.totals.total,
            document=ev.payload,
            occurred_at=ev.occurred_at,
        )
    )
    session.flush()
    _apply_movements(session, terminal, ev, p.movements, str(p.order_id))
    _emit_document(session, terminal, ev, protocol.CHANGE_RETURN, str(p.order_id))


def _stock_movement(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    m = protocol.StockMovement.model_validate(ev.payload)
    _apply_movements(session, terminal, ev, [m], str(m.id))


def _stock_count(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.StockCount.model_validate(ev.payload)
    location = _location(session, terminal.store_id, p.location)
    product = _product(session, p.sku)
    if p.as_of_seq > terminal.store.feed_seq:
        raise Rejected(f"as_of_seq {p.as_of_seq} is beyond the store's feed ({terminal.store.feed_seq})")
    baseline = ledger.count_baseline(
        session, location, product, p.as_of_seq, terminal.id, p.local_movements_after
    )
    adjustment = p.counted - baseline
    if adjustment != 0:
        # The count event's own id names the adjustment it causes, so a count is one ledger row at most.
        ledger.record_movement(
            session,
            movement_id=ev.id,
            location=location,
            product=product,
            qty=adjustment,
            kind="count",
            cause_type=ev.type,
            cause_id=str(ev.id),
            event_id=ev.id,
            terminal_id=terminal.id,
        )


def order_payload(order: WebOrder) -> dict[str, Any]:
    return {
        "id": str(order.id),
        "number": order.number,
        "store": order.store.code,
        "status": order.status,
        "fulfilment": order.fulfilment,
        "customer": order.customer,
        "lines": [
            {
                "sku": ln.sku,
                "qty": ledger.qty_text(ln.qty),
                "unit_price": ledger.money_text(ln.unit_price),
                # Where routing holds it ("unavailable": handed back, held nowhere): a till picks its own store's.
                "store": ln.location.store.code,
                "location": ln.location.code,
                "state": ln.state,
            }
            for ln in order.lines
        ],
        "created_at": order.created_at.isoformat(),
        # What a till needs to check the pickup code offline (a salted slow hash; the code is in the notice only).
        **_pickup_check(order),
    }


def _pickup_check(order: WebOrder) -> dict[str, Any]:
    session = object_session(order)
    verifier = notices.pickup_verifier(session, order) if session is not None else None
    return {"pickup": verifier} if verifier else {}


def _release(session: Session, order: WebOrder) -> None:
    for ln in order.lines:
        if ln.state != "reserved":  # handed back with nowhere else to go: nothing is held for it
            continue
        location = session.get(Location, ln.location_id)
        product = session.get(Product, ln.product_id)
        assert location is not None and product is not None
        ledger.change_reserved(session, location, product, -ln.qty)


def _set_status(
    session: Session,
    order: WebOrder,
    to: str,
    by: str,
    event_id: uuid.UUID | None,
    tracking: Sequence[str] = (),
) -> None:
    session.add(
        OrderStatusHistory(
            order_id=order.id, from_status=order.status, to_status=to, by=by, event_id=event_id
        )
    )
    order.status = to
    order.updated_at = utcnow()
    notices.order_changed(session, order, to, tracking)  # the customer's notice, in this transaction
    if to in protocol.ORDER_FINAL_STATES:
        _release(session, order)


def _order_status(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.OrderStatusChange.model_validate(ev.payload)
    order = session.get(WebOrder, p.order_id)
    if order is None or order.store_id != terminal.store_id:
        raise Rejected(f"no web order {p.order_id} in this store")
    if p.to not in protocol.ORDER_STATES:
        raise Rejected(f"unknown order status {p.to!r}")
    if p.to == order.status:
        return
    if order.status in protocol.ORDER_FINAL_STATES:
        if not p.movements:
            raise Rejected(f"order {order.number} is already {order.status}")
        # The store handed goods over (offline, or before the cancellation reached it): the goods have moved, so
        # the movements stand, and a person is asked to sort out the order.
        _apply_movements(session, terminal, ev, p.movements, str(order.id))
        detail = {"order": order.number, "status": order.status, "store_says": p.to}
        _flag_movements(session, terminal, ev, "order_conflict", p.movements, detail)
        return
    if not protocol.may_move_order(order.status, p.to, order.fulfilment):
        # The one lifecycle (app.domain.lifecycle) has no such move. An older step arriving after a later one
        # changes nothing; goods that moved anyway stand and are flagged, like a hand-over after a cancellation.
        if p.movements:
            _apply_movements(session, terminal, ev, p.movements, str(order.id))
            detail = {"order": order.number, "status": order.status, "store_says": p.to}
            _flag_movements(session, terminal, ev, "order_conflict", p.movements, detail)
            return
        if protocol.may_move_order(p.to, order.status, order.fulfilment):
            return
        raise Rejected(f"order {order.number} is {order.status}: it cannot become {p.to}")
    _set_status(session, order, p.to, p.by, ev.id, p.tracking)
    _apply_movements(session, terminal, ev, p.movements, str(order.id))
    change = protocol.CHANGE_ORDER_CANCELLED if p.to == "cancelled" else protocol.CHANGE_ORDER
    ledger.emit(session, order.store_id, change, str(order.id), order_payload(order))


def _parked(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.ParkedSale.model_validate(ev.payload)
    parked = session.get(ParkedSale, (terminal.store_id, p.number))
    if parked is None:
        parked = ParkedSale(number=p.number, store_id=terminal.store_id, terminal="", status="", lines=[])
        session.add(parked)
    parked.terminal = p.terminal or terminal.code
    parked.status = "parked"
    parked.lines = list(ev.payload["lines"])
    parked.updated_at = utcnow()
    # The other terminals get all the parking terminal sent (sale id, receipt number, customer, discounts), so
    # any of them can recall it.
    _emit_parked(session, parked, extra=ev.payload)


def _recalled(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.SaleRecalled.model_validate(ev.payload)
    parked = session.get(ParkedSale, (terminal.store_id, p.number))
    if parked is None:
        raise Rejected(f"no parked sale {p.number} in this store")
    if parked.status == "recalled":
        # Two tills recalled it while one of them was offline: both had the customer at the counter. Nothing to
        # refuse (the till has moved on); a person sees it, and the goods are flagged if both complete it.
        session.add(
            StockException(
                store_id=terminal.store_id,
                kind="recalled_twice",
                sku="",
                location="",
                detail={"parked": p.number, "terminal": p.terminal or terminal.code},
                event_id=ev.id,
            )
        )
        return
    parked.status = "recalled"
    parked.updated_at = utcnow()
    _emit_parked(session, parked, recalled_by=p.terminal or terminal.code)


def _emit_parked(
    session: Session, parked: ParkedSale, recalled_by: str | None = None, extra: dict[str, Any] | None = None
) -> None:
    payload: dict[str, Any] = {
        **(extra or {}),
        "number": parked.number,
        "terminal": parked.terminal,
        "status": parked.status,
        "lines": parked.lines,
    }
    if recalled_by:
        payload["recalled_by"] = recalled_by
    ledger.emit(session, parked.store_id, protocol.CHANGE_PARKED_SALE, parked.number, payload)


def _customer(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    """A customer made or changed at a till goes to the store's feed, for its other tills. Only that store's:
    emitting into another store's feed would take that store's lock while holding this one's (two stores pushing
    at once would deadlock); a chain-wide customer list needs a feed of its own."""
    c = protocol.CustomerSaved.model_validate(ev.payload)
    ledger.emit(session, terminal.store_id, protocol.CHANGE_CUSTOMER, str(c.id), c.model_dump(mode="json"))


def _staff(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    """A staff user added or changed at a till goes to the store's feed: they sign in at every till of the store.
    The feed is the record; the newest change of a user, in feed order, is what every till ends up with.

    A terminal's token carries no authority over people: the change must name its actor (who made or approved
    it), and the actor must be, in this store's staff as the central store knows it, an active user whose role may
    give that role to that user (`roles.refusal`). The one exception is the first admin a till makes at its
    enrolment, before it knew any staff: accepted in the first push after an enrolment only."""
    u = protocol.StaffSaved.model_validate(ev.payload)
    current = session.get(StaffMember, (terminal.store_id, u.id))
    if u.bootstrap:
        if not (terminal.bootstrap_open and current is None and u.role == roles.FIRST_ADMIN_ROLE):
            raise Rejected(
                "a first admin is taken only from a till just enrolled, in its first push: add staff as a "
                "manager or admin of this store"
            )
        changed_by = f"first admin of terminal {terminal.code}"
    else:
        if u.actor is None:
            raise Rejected("a staff change must name the manager or admin who made or approved it")
        actor = session.get(StaffMember, (terminal.store_id, u.actor.id))
        if actor is None or not actor.active:
            raise Rejected(f"staff change by {u.actor.id}, who is not an active user of this store")
        why = roles.refusal(actor.role, u.role, current.role if current is not None else None)
        if why is not None:
            raise Rejected(f"staff change refused: {why}")
        changed_by = str(actor.user_id)
    if current is None:
        current = StaffMember(store_id=terminal.store_id, user_id=u.id)
        session.add(current)
    current.username = u.username
    current.role = u.role
    current.active = u.active
    current.changed_by = changed_by
    current.updated_at = utcnow()
    # What a till needs to sign the user in offline, and no more: not who made the change, and for a disabled
    # user no PIN hash or badge at all (nothing there to try PINs against).
    kept = {"id", "username", "display_name", "role", "pin_hash", "badge_code"}
    feed = u.model_dump(mode="json", include=kept)
    feed["active"] = u.active
    if not u.active:
        feed["pin_hash"] = DISABLED_PIN_HASH
        feed["badge_code"] = None
    scrub_staff_feed(session, terminal.store_id, str(u.id))
    ledger.emit(session, terminal.store_id, protocol.CHANGE_STAFF, str(u.id), feed)


# Sent for a disabled user instead of their PIN hash, and left in a user's older feed rows: no PIN matches it.
DISABLED_PIN_HASH = "disabled"


def scrub_staff_feed(session: Session, store_id: int, user_key: str) -> None:
    """Take the PIN hash and badge out of a user's earlier staff changes in the feed: a till that pulls from the
    start needs only the newest (it applies them in order), and an old hash is an old PIN to try offline."""
    for row in session.scalars(
        select(FeedChange).where(
            FeedChange.store_id == store_id,
            FeedChange.type == protocol.CHANGE_STAFF,
            FeedChange.key == user_key,
        )
    ):
        if row.payload.get("pin_hash") != DISABLED_PIN_HASH or row.payload.get("badge_code") is not None:
            row.payload = {**row.payload, "pin_hash": DISABLED_PIN_HASH, "badge_code": None}


def _record_only(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    """Shifts, cash movements and audit entries are kept in applied_events; nothing else derives from them."""


_HANDLERS: dict[str, Callable[[Session, Terminal, protocol.Event], None]] = {
    protocol.SALE_COMPLETED: _sale,
    protocol.RETURN_COMPLETED: _return,
    protocol.STOCK_MOVEMENT: _stock_movement,
    protocol.STOCK_COUNT: _stock_count,
    protocol.ORDER_STATUS: _order_status,
    protocol.SALE_PARKED: _parked,
    protocol.SALE_RECALLED: _recalled,
    protocol.SHIFT_OPENED: _record_only,
    protocol.SHIFT_CLOSED: _record_only,
    protocol.CASH_PAID_IN: _record_only,
    protocol.CASH_PAID_OUT: _record_only,
    protocol.AUDIT_ENTRY: _record_only,
    protocol.CUSTOMER_SAVED: _customer,
    protocol.STAFF_SAVED: _staff,
}


# ---------------------------------------------------------------- pull


def pull(
    session: Session, store_id: int, cursor: int, limit: int, first: bool | None = None
) -> protocol.PullResponse:
    """Changes of one store after `cursor`, by seq. `remaining_estimate` comes with the first page of a catch-up
    only (`first`, or by default a request from cursor 0), since later pages already know how far they are."""
    if cursor < 0:
        raise CentralError("cursor must be 0 or more")
    limit = max(1, min(limit, PULL_MAX_LIMIT))
    rows = session.scalars(
        select(FeedChange)
        .where(FeedChange.store_id == store_id, FeedChange.seq > cursor)
        .order_by(FeedChange.seq)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [protocol.Change(seq=r.seq, type=r.type, key=r.key, payload=r.payload) for r in rows]
    next_cursor = rows[-1].seq if rows else cursor
    estimate = None
    if first if first is not None else cursor == 0:
        head = session.scalar(select(Store.feed_seq).where(Store.id == store_id)) or 0
        # Seqs are dense per store, so what is left after this page is exact unless writes land meanwhile.
        estimate = max(0, head - next_cursor)
    return protocol.PullResponse(
        changes=changes, next_cursor=next_cursor, more=more, remaining_estimate=estimate
    )


# ---------------------------------------------------------------- web orders


def place_order(
    session: Session, request: protocol.OrderRequest, idempotency_key: str | None = None
) -> WebOrder:
    """A web order: routed by `routing` (the store chosen for pickup, the best location(s) to ship from), its
    quantities reserved there in this transaction, and it enters the feed at once. With an idempotency key, the
    order already placed with that key and the same request is returned (another request with it is refused).

    Products and prices are read before any store's lock is taken, and the stock levels in one query under it,
    so the tills of the store wait on a large order for a few queries, not one per line."""
    store = get_store(session, request.store)
    skus = sorted({line.sku for line in request.lines})
    products = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))}
    prices: dict[str, Price] = {}
    for line in request.lines:
        product = products.get(line.sku)
        if product is None or not product.active:
            raise NotFound(f"no product {line.sku!r}")
        price = prices.get(line.sku) or current_price(session, product)
        if price is None:
            raise Conflict(f"product {line.sku} has no price")
        prices[line.sku] = price
    if request.number:
        try:
            _number_free(session, request.number, WebOrder)
        except Rejected as exc:
            raise Conflict(exc.reason) from None
    from sync.central import routing  # routing builds on this module

    if idempotency_key is not None:
        placed = routing.replayed(session, idempotency_key, request)
        if placed is not None:
            return placed
    order = routing.place(session, store, request, products, prices, idempotency_key=idempotency_key)
    notices.order_changed(session, order, order.status)  # "received" (nothing new for a replayed request)
    return order


def _location_or_404(session: Session, store_id: int, code: str) -> Location:
    loc = session.scalar(select(Location).where(Location.store_id == store_id, Location.code == code))
    if loc is None:
        raise NotFound(f"store has no {code} location")
    return loc


def find_order(session: Session, ident: str) -> WebOrder:
    if len(ident) > 64 or "\x00" in ident:  # no order has such a number (and PostgreSQL cannot compare a NUL)
        raise NotFound(f"no web order {ident[:64]!r}")
    order = None
    try:
        order = session.get(WebOrder, uuid.UUID(ident))
    except ValueError:
        pass
    if order is None:
        order = session.scalar(select(WebOrder).where(WebOrder.number == ident))
    if order is None:
        raise NotFound(f"no web order {ident!r}")
    return order


def cancel_order(session: Session, ident: str, by: str = "storefront") -> WebOrder:
    """Cancel a web order not yet handed over; its reservation is released and the store's feed says so at once."""
    order = find_order(session, ident)
    ledger.lock_store(session, order.store_id)
    if order.status == "cancelled":
        return order
    if order.status in protocol.ORDER_FINAL_STATES:
        raise Conflict(f"order {order.number} is already {order.status}")
    _set_status(session, order, "cancelled", by, None)
    ledger.emit(session, order.store_id, protocol.CHANGE_ORDER_CANCELLED, str(order.id), order_payload(order))
    return order


# ---------------------------------------------------------------- status


def status_summary(session: Session) -> list[dict[str, Any]]:
    """Per store: feed head, terminals enrolled, open exceptions and parked rejected events."""
    out = []
    for store in session.scalars(select(Store).order_by(Store.code)):
        terminals = session.scalars(
            select(Terminal).where(Terminal.store_id == store.id).order_by(Terminal.code)
        )
        out.append(
            {
                "store": store.code,
                "name": store.name,
                "feed_head": store.feed_seq,
                "terminals": [{"code": t.code, "enrolled": t.token_hash is not None} for t in terminals],
                "open_exceptions": session.scalar(
                    select(func.count(StockException.id)).where(
                        StockException.store_id == store.id, StockException.resolved.is_(False)
                    )
                ),
                "rejected_events": session.scalar(
                    select(func.count(RejectedEvent.id)).where(RejectedEvent.store_id == store.id)
                ),
            }
        )
    return out


# ---------------------------------------------------------------- exceptions for review


def audit_head(session: Session, terminal_id: int, generation: int | None = None) -> protocol.AuditHead:
    """The terminal's audit chain as received here. The hashes themselves are the terminal's to compute (this
    service does not know how entries are hashed); what is checked here is that the links hold and no seq is
    missing, so entries cut off or rewritten at the terminal after they were sent show up against this.

    Each enrolment of a terminal (a replacement till) has a chain of its own: `generation`, by default the
    current one. The anchor is the highest head the terminal's pushes named."""
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        raise NotFound("unknown terminal")
    if generation is None:
        generation = terminal.generation
    anchor: dict[str, Any] = {}
    if generation == terminal.generation and terminal.anchor_seq is not None:
        anchor = {"anchor_seq": terminal.anchor_seq, "anchor_hash": terminal.anchor_hash}
    entries = sorted(
        (
            (int(p["seq"]), str(p.get("prev_hash") or ""), str(p.get("hash") or ""))
            for p in session.scalars(
                select(AppliedEvent.payload).where(
                    AppliedEvent.terminal_id == terminal_id,
                    AppliedEvent.type == protocol.AUDIT_ENTRY,
                    AppliedEvent.generation == generation,
                )
            )
        ),
    )
    if not entries:
        return protocol.AuditHead(count=0, **anchor)
    missing: list[int] = []
    broken_at = None
    for (seq_a, _prev_a, hash_a), (seq_b, prev_b, _hash_b) in zip(entries, entries[1:], strict=False):
        if seq_b != seq_a + 1:
            missing.extend(range(seq_a + 1, min(seq_b, seq_a + 1 + 20)))
        elif prev_b != hash_a and broken_at is None:
            broken_at = seq_b
    return protocol.AuditHead(
        count=len(entries),
        last_seq=entries[-1][0],
        last_hash=entries[-1][2],
        missing=missing[:20],
        broken_at=broken_at,
        **anchor,
    )


def list_exceptions(
    session: Session, store: str | None = None, include_resolved: bool = False
) -> list[dict[str, Any]]:
    """Exceptions a person must look at (oversells, order conflicts, sales completed twice), oldest first."""
    q = (
        select(StockException, Store.code)
        .join(Store, Store.id == StockException.store_id)
        .order_by(StockException.id)
    )
    if store:
        q = q.where(Store.code == store.strip().upper())
    if not include_resolved:
        q = q.where(StockException.resolved.is_(False))
    return [
        {
            "id": exc.id,
            "store": code,
            "kind": exc.kind,
            "sku": exc.sku,
            "location": exc.location,
            "detail": exc.detail,
            "resolved": exc.resolved,
            "created_at": exc.created_at.isoformat(),
        }
        for exc, code in session.execute(q).all()
    ]


def resolve_exception(session: Session, exception_id: int) -> None:
    exc = session.get(StockException, exception_id)
    if exc is None:
        raise NotFound(f"no exception {exception_id}")
    exc.resolved = True
