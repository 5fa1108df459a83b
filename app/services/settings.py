"""Settings of this terminal kept in its database (thresholds, devices, sync state), with defaults in one place."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from app.db.models import Setting

DEFAULTS: dict[str, Any] = {
    "discount.threshold_percent": "10",  # above this a manager approves
    "discount.threshold_amount": "20.00",
    "price_override.threshold_percent": "0",  # any override needs price_override permission
    "refund.limit": "100.00",
    # A stock adjustment (damaged, expired, stolen, found) worth more than this at shelf price needs a manager.
    "stock.adjust_approval_above": "50.00",
    # A quantity typed above this (pieces or kg) asks the cashier to confirm it, as does one beyond known stock.
    "sale.confirm_qty_above": "50",
    "staff.lockout_attempts": 5,
    "staff.lockout_minutes": 5,
    # Shortest PIN each role may be given (4 to 8), checked when a PIN is set or changed. Roles that can approve
    # others' actions (they hold permissions no counter role has: see app.domain.permissions) default to 6.
    "staff.pin_min_length": {
        "cashier": 4,
        "associate": 4,
        "packer": 4,
        "returns_clerk": 4,
        "supervisor": 6,
        "manager": 6,
        "admin": 6,
    },
    "staff.idle_lock_minutes": 5,
    "approval.valid_minutes": 5,
    "devices.receipt_printer": {"type": "folder"},
    "devices.receipt_width_mm": 80,
    "devices.label_printer": {"type": "folder"},
    "devices.drawer": {"via": "receipt_printer", "pin": 2},
    "devices.scanner": {"type": "wedge", "prefix": "", "suffix": "", "terminator": "enter", "max_gap_ms": 50},
    # The store's barcode rules (scale-label layouts, UPC-A price labels, its own prefixes): app.domain.barcode_rules.
    "barcodes": {"variable_measure": "default", "upc_a_price_labels": False},
    "sync.central_url": "",
    "sync.allow_insecure": False,
    "sync.cursor": 0,
    "sync.interval_s": 15,
    # Sales and returns of the store's other tills kept for the returns desk; older ones are not copied here.
    "sync.keep_documents_days": 400,
}


def get(session: Session, key: str) -> Any:
    """The setting's value, else its default. All of them are read at once, once per transaction: a scan reads
    three or four settings, most of them left at their defaults (no row), and each was a SELECT of its own."""
    cache: dict[str, Any] | None = session.info.get(_CACHE)
    if cache is None:
        cache = dict(DEFAULTS)
        cache.update(session.execute(select(Setting.key, Setting.value)).all())
        session.info[_CACHE] = cache
    return cache.get(key)


def get_decimal(session: Session, key: str) -> Decimal:
    return Decimal(str(get(session, key)))


def put(session: Session, key: str, value: Any) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
    cache = session.info.get(_CACHE)
    if cache is not None:
        cache[key] = value


_CACHE = "settings_read"


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, _transaction: SessionTransaction) -> None:
    # Any transaction's end, a savepoint's too: one rolled back may have put a value that is no longer there.
    session.info.pop(_CACHE, None)


def all_settings(session: Session) -> dict[str, Any]:
    out = dict(DEFAULTS)
    out.update({s.key: s.value for s in session.scalars(select(Setting))})
    return out
