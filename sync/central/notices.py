"""Customer notices of web orders: written with the order's change, sent later by a worker, each message once.

Writing. `order_changed` is called in the transaction that changes an order (every status change in
service.order_state._set_status; at capture, `sync.central.order_write` writes the token and the "received" notice
with the order, from `new_token` and `received_row`). It writes at most one `Notice` per (order, kind, stage) (a
change applied twice finds its row and writes nothing), gives the order its status-page token on first sight, and when a
pickup order becomes ready makes its pickup code: only the code's verifier is kept (OrderAccess, sent to the tills
in the order's feed payload); the code rides in the notice's `secret` until that notice is sent.

Sending is `sync.central.notice_send` (the worker, its transports and retries); its names are re-exported
here for the callers that import them from this module.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central.models import Notice, OrderAccess, Return, WebOrder, utcnow

# A return's payment that carried its refund into an exchange's new sale (app.domain.tenders.EXCHANGE): no refund.
EXCHANGE = "exchange"

S = protocol.lifecycle.OrderState
# The notice each state change sends (its kind); the stage is the state reached.
KIND_FOR: dict[str, str] = {
    S.NEW: "received",
    S.READY: "ready",
    S.COLLECTED: "picked_up",
    S.SHIPPED: "shipped",
    S.CANCELLED: "cancelled",
    S.EXPIRED: "expired",
}


# ---------------------------------------------------------------- writing (in the order's transaction)


def access_of(session: Session, order: WebOrder) -> OrderAccess:
    """The order's token row, made on first use (an unguessable token for its status page)."""
    return _access(session, order)[0]


def _access(session: Session, order: WebOrder) -> tuple[OrderAccess, bool]:
    access = session.get(OrderAccess, order.id)
    if access is not None:
        return access, False
    access = OrderAccess(order_id=order.id, token=new_token(), tracking=[])
    session.add(access)
    return access, True


def order_changed(
    session: Session, order: WebOrder, to: str, tracking: Iterable[str] = (), new: bool = False
) -> Notice | None:
    """Record what the customer is told about `order` reaching `to`, once per (order, kind, stage). `new`: the
    order was made in this transaction (it has no token nor notice yet: nothing to look up)."""
    if new:
        access, first = OrderAccess(order_id=order.id, token=new_token(), tracking=[]), True
        session.add(access)
    else:
        access, first = _access(session, order)
    extra = [t for t in tracking if t and t not in access.tracking]
    if extra:
        access.tracking = [*access.tracking, *extra]
    if to == S.COLLECTED and access.pickup_used_at is None:
        access.pickup_used_at = utcnow()
    kind = KIND_FOR.get(to)
    if kind is None:
        return None
    stage = str(to)
    if not first:  # an order seen for the first time has no notices yet: one query fewer at capture
        existing = session.scalar(
            select(Notice.id).where(Notice.order_id == order.id, Notice.kind == kind, Notice.stage == stage)
        )
        if existing is not None:
            return None
    secret = None
    if to == S.READY:
        code = protocol.pickup.new_code()
        access.pickup_verifier = protocol.pickup.make_verifier(code)
        access.pickup_used_at = None
        secret = code
    return add_notice(session, order, kind, stage, change_facts(order, access.token, access.tracking), secret)


def new_token() -> str:
    """An order's status-page token: unguessable, in every notice."""
    return secrets.token_urlsafe(24)


def change_facts(order: WebOrder, token: str, tracking: Iterable[str]) -> dict[str, Any]:
    """What a notice of a status change tells (its body is built from these when it is sent)."""
    store = order.store
    return {
        "number": order.number,
        "name": (order.customer or {}).get("name") or "",
        "store": store.name if store is not None else "",
        "fulfilment": order.fulfilment,
        "token": token,
        "tracking": list(tracking),
        # Paid online or at pickup; what is refunded when a paid order is cancelled or expires (None: nothing).
        "paid": order.paid is not False,
        "refund": f"{order.refund_due:.2f}" if order.refund_due is not None else None,
    }


def received_row(order: WebOrder, token: str, now: datetime) -> dict[str, Any]:
    """The values of the "received" notice of an order placed in this transaction (its first notice: no other
    can exist yet), for the order's writer (`sync.central.order_write`), which writes it with the order."""
    return {
        "order_id": order.id,
        "kind": KIND_FOR[S.NEW],
        "stage": str(S.NEW),
        "recipient": str((order.customer or {}).get("email") or ""),
        "facts": change_facts(order, token, ()),
        "secret": None,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }


def add_notice(
    session: Session, order: WebOrder, kind: str, stage: str, facts: dict[str, Any], secret: str | None = None
) -> Notice:
    """The pending row of one notice to the order's customer (the caller checked (order, kind, stage) is new)."""
    notice = Notice(
        order_id=order.id,
        kind=kind,
        stage=stage,
        recipient=str((order.customer or {}).get("email") or ""),
        facts=facts,
        secret=secret,
        state="pending",
        attempts=0,
        next_attempt_at=utcnow(),
        last_error="",
        created_at=utcnow(),
    )
    session.add(notice)
    return notice


def order_refunded(
    session: Session, order: WebOrder, return_id: str, items: str, refunded: str, store: str
) -> Notice | None:
    """Record the refund notice of one return of `order` at a store's desk, once per return (its stage is the
    return's id without dashes). An exchange's return tells only of what went back to the customer: its credit
    paid the new items and is no refund, and an exchange that refunded nothing writes no notice."""
    access = access_of(session, order)
    stage = return_id.replace("-", "")[:32]
    existing = session.scalar(
        select(Notice.id).where(Notice.order_id == order.id, Notice.kind == "refunded", Notice.stage == stage)
    )
    if existing is not None:
        return None
    back = _refunded_besides_exchange(session, return_id)
    if back is not None:
        if back == 0:
            return None
        refunded = f"{back:.2f}"
    facts: dict[str, Any] = {
        "number": order.number,
        "name": (order.customer or {}).get("name") or "",
        "store": store,
        "token": access.token,
        "items": items,
        "refunded": refunded,
    }
    return add_notice(session, order, "refunded", stage, facts)


def _refunded_besides_exchange(session: Session, return_id: str) -> Decimal | None:
    """What return `return_id` paid back to the customer when it carried an exchange credit (None: no exchange,
    the caller's figure stands)."""
    try:
        row = session.get(Return, uuid.UUID(return_id))
    except ValueError:
        return None
    payments = (row.document or {}).get("payments") if row is not None else None
    if not isinstance(payments, list) or not any(
        isinstance(p, dict) and p.get("kind") == EXCHANGE for p in payments
    ):
        return None
    return sum(
        (
            abs(Decimal(str(p.get("amount") or 0)))
            for p in payments
            if isinstance(p, dict) and p.get("kind") != EXCHANGE
        ),
        Decimal(0),
    )


def hold_reminder(session: Session, order: WebOrder, until: datetime) -> Notice | None:
    """Record the reminder that a ready order expires at `until`, once per order (kind "reminder", stage
    "expiry"); the worker skips it if the order is no longer ready when it goes out."""
    existing = session.scalar(
        select(Notice.id).where(
            Notice.order_id == order.id, Notice.kind == "reminder", Notice.stage == "expiry"
        )
    )
    if existing is not None:
        return None
    store = order.store
    notice = Notice(
        order_id=order.id,
        kind="reminder",
        stage="expiry",
        recipient=str((order.customer or {}).get("email") or ""),
        facts={
            "number": order.number,
            "name": (order.customer or {}).get("name") or "",
            "store": store.name if store is not None else "",
            "fulfilment": order.fulfilment,
            "token": access_of(session, order).token,
            "until": _local_time(until, store.timezone if store is not None else ""),
        },
        state="pending",
        attempts=0,
        next_attempt_at=utcnow(),
        last_error="",
        created_at=utcnow(),
    )
    session.add(notice)
    return notice


def _local_time(when: datetime, timezone: str) -> str:
    """`when` as the store's clock shows it (UTC when the store's time zone is not known here)."""
    try:
        return when.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
    except (ZoneInfoNotFoundError, ValueError):
        return when.strftime("%Y-%m-%d %H:%M UTC")


def pickup_verifier(session: Session, order: WebOrder) -> dict[str, Any] | None:
    """The verifier of a ready order's pickup code (None for any other state: no till needs it then)."""
    if order.status != S.READY:
        return None
    access = session.get(OrderAccess, order.id)
    return access.pickup_verifier if access is not None else None


def check_pickup_code(session: Session, order: WebOrder, code: str) -> bool:
    """Whether `code` collects `order` now: ready, the code right and not used yet."""
    access = session.get(OrderAccess, order.id)
    if access is None or access.pickup_used_at is not None or order.status != S.READY:
        return False
    return protocol.pickup.verify(code, access.pickup_verifier)


def redeem_pickup_code(session: Session, order: WebOrder, code: str) -> bool:
    """Check `code` and use it up (a second use is refused); the caller moves the order on."""
    if not check_pickup_code(session, order, code):
        return False
    access_of(session, order).pickup_used_at = utcnow()
    return True


def order_for_token(session: Session, token: str) -> WebOrder | None:
    if not token or len(token) > 64:
        return None
    access = session.scalar(select(OrderAccess).where(OrderAccess.token == token))
    return session.get(WebOrder, access.order_id) if access is not None else None


# The sending side, for the callers that import it from here.
from sync.central.notice_send import (  # noqa: E402
    ADDRESS,
    BACKOFF_FIRST,
    BACKOFF_MAX,
    DEFAULT_FROM,
    DEFAULT_OUTBOX,
    DEFAULT_PUBLIC_URL,
    LEASE,
    MAX_ATTEMPTS,
    OUTBOX_ENV,
    PART_SUBJECT,
    PUBLIC_URL_ENV,
    SMTP_FROM_ENV,
    SMTP_HOST_ENV,
    SMTP_PASSWORD_ENV,
    SMTP_PORT_ENV,
    SMTP_STARTTLS_ENV,
    SMTP_USER_ENV,
    SUBJECTS,
    FolderTransport,
    PermanentFailure,
    SendReport,
    SmtpTransport,
    TemporaryFailure,
    Transport,
    backoff,
    build_message,
    message_id,
    run_loop,
    send_pending,
    start_background,
    status_url,
    transport_from_env,
)

__all__ = [
    "ADDRESS",
    "BACKOFF_FIRST",
    "BACKOFF_MAX",
    "DEFAULT_FROM",
    "DEFAULT_OUTBOX",
    "DEFAULT_PUBLIC_URL",
    "FolderTransport",
    "KIND_FOR",
    "LEASE",
    "MAX_ATTEMPTS",
    "OUTBOX_ENV",
    "PART_SUBJECT",
    "PUBLIC_URL_ENV",
    "PermanentFailure",
    "SMTP_FROM_ENV",
    "SMTP_HOST_ENV",
    "SMTP_PASSWORD_ENV",
    "SMTP_PORT_ENV",
    "SMTP_STARTTLS_ENV",
    "SMTP_USER_ENV",
    "SUBJECTS",
    "SendReport",
    "SmtpTransport",
    "TemporaryFailure",
    "Transport",
    "access_of",
    "add_notice",
    "backoff",
    "build_message",
    "change_facts",
    "check_pickup_code",
    "hold_reminder",
    "message_id",
    "new_token",
    "order_changed",
    "order_for_token",
    "order_refunded",
    "pickup_verifier",
    "received_row",
    "redeem_pickup_code",
    "run_loop",
    "send_pending",
    "start_background",
    "status_url",
    "transport_from_env",
]
