"""Sending the customer notices of web orders (the rows `sync.central.notices` writes with each order change):
the message of a notice, the transports (SMTP, or a folder of .eml files for the demo) and the worker with its
retries.

Sending. `send_pending` takes due notices one by one: it claims a notice (moves its next attempt past a lease in
a transaction of its own, so a second worker leaves it alone), builds the message, hands it to the transport (SMTP,
or a folder of .eml files when no SMTP host is set) and, once the server has accepted it, marks it sent in another
transaction. A refusal (4xx, connection trouble) is retried with exponential backoff; a permanent one (5xx) or too
many attempts marks it failed. A "ready" notice whose order was cancelled before it went out is skipped.

Exactly once, precisely: each notice is one message with one identity. The Message-ID and the Date come from the
notice's key and creation time and the body from its stored facts, so the bytes are the same on every attempt.
SMTP has no idempotent submit: a worker that dies after the server accepted a message and before the mark is
committed sends it again on restart, with the same Message-ID (at-least-once delivery of one message, which a
mailbox or the receiving server may drop as a duplicate by Message-ID). Nothing can send two different messages
for one notice, and a notice marked sent is never sent again.
"""

from __future__ import annotations

import os
import re
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from sync import protocol
from sync.central.models import Notice, WebOrder, utcnow

SMTP_HOST_ENV = "COUNTERLINE_CENTRAL_SMTP_HOST"
SMTP_PORT_ENV = "COUNTERLINE_CENTRAL_SMTP_PORT"
SMTP_FROM_ENV = "COUNTERLINE_CENTRAL_SMTP_FROM"
SMTP_USER_ENV = "COUNTERLINE_CENTRAL_SMTP_USER"
SMTP_PASSWORD_ENV = "COUNTERLINE_CENTRAL_SMTP_PASSWORD"
SMTP_STARTTLS_ENV = "COUNTERLINE_CENTRAL_SMTP_STARTTLS"
OUTBOX_ENV = "COUNTERLINE_CENTRAL_NOTICES_DIR"
PUBLIC_URL_ENV = "COUNTERLINE_CENTRAL_PUBLIC_URL"
DEFAULT_OUTBOX = "notices-outbox"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8765"
DEFAULT_FROM = "orders@counterline.invalid"

S = protocol.lifecycle.OrderState

SUBJECTS: dict[str, str] = {
    "received": "We received your order {number}",
    "ready": "Your order {number} is ready for pickup",
    "picked_up": "Your order {number} was picked up",
    "shipped": "Your order {number} is on its way",
    "cancelled": "Your order {number} was cancelled",
    "reminder": "Your order {number} is still waiting for you",
    "expired": "Your order {number} was not collected and has expired",
    "refunded": "Your return of order {number} was refunded",
}
PART_SUBJECT = "Part of your order {number} is on its way"

# One plain address (the storefront's input): no display name, list, line break or header folded in.
ADDRESS = re.compile(r"[^@\s,;:<>()\[\]\\\"]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")

MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
# How long a claimed notice is left to the worker that claimed it before another may try it.
LEASE = timedelta(minutes=5)


def status_url(token: str, base: str | None = None) -> str:
    base = (base or os.environ.get(PUBLIC_URL_ENV) or DEFAULT_PUBLIC_URL).rstrip("/")
    return f"{base}/o/{token}"


# ---------------------------------------------------------------- the message


def message_id(notice: Notice) -> str:
    """The notice's one Message-ID, from its key: every attempt to send it carries this one."""
    return f"<{notice.order_id.hex}.{notice.kind}.{notice.stage}@counterline.notices>"


def _receipt_lines(receipt: Any) -> list[str]:
    """The hand-over receipt in a picked-up notice (the till's `receipt`, checked by protocol.HandoverReceipt when
    the hand-over arrived): what was taken, what was handed back, what was paid at the counter."""
    if not isinstance(receipt, dict):
        return []
    out: list[str] = []
    for title, key in (("You took:", "taken"), ("Handed back at the counter (not charged):", "refused")):
        rows = [r for r in receipt.get(key) or [] if isinstance(r, list) and len(r) == 3]
        if rows:
            out += ["", title, *(f"  {qty} x {name}" for _sku, name, qty in rows)]
    if receipt.get("paid") is not None:
        out += ["", f"Paid at pickup: {receipt['paid']}"]
        for row in receipt.get("payments") or []:
            if isinstance(row, list) and len(row) == 2:
                out.append(f"  {str(row[0]).replace('_', ' ')}: {row[1]}")
        if receipt.get("change") not in (None, "0", "0.00"):
            out.append(f"  change: {receipt['change']}")
    return out


def _shipped_lines(facts: dict[str, Any], number: str) -> list[str]:
    """A "shipped" notice's text: the whole order, or one part of a split order (order_parts: its items, its own
    tracking numbers, and whether it was the last part)."""
    items = facts.get("items")
    if not isinstance(items, list):
        out = [f"your order {number} left with the carrier."]
    elif not facts.get("complete"):
        out = [
            f"part of your order {number} left {facts.get('from', '')} with the carrier.",
            "The rest follows in another shipment: we will write again when it leaves.",
        ]
    elif int(facts.get("part") or 1) > 1:
        out = [
            f"the last part of your order {number} left {facts.get('from', '')} with the carrier.",
            "Your order is complete: every item is now on its way.",
        ]
    else:
        out = [f"your order {number} left with the carrier."]
    if isinstance(items, list) and items:
        out += ["", "In this shipment:"]
        out += [
            f"  {i.get('qty', '')} x {i.get('name', '')} ({i.get('sku', '')})"
            for i in items
            if isinstance(i, dict)
        ]
    tracking = facts.get("tracking") or []
    if tracking:
        out.append("Tracking: " + ", ".join(str(t) for t in tracking))
    return out


def build_message(notice: Notice, sender: str, base_url: str | None = None) -> EmailMessage:
    facts = notice.facts
    url = status_url(str(facts.get("token", "")), base_url)
    lines = [f"Hello {facts.get('name') or 'there'},", ""]
    number = facts.get("number", "")
    if notice.kind == "received":
        lines.append(f"we received your order {number}. We will write again when it moves on.")
    elif notice.kind == "ready":
        lines.append(f"your order {number} is ready for pickup at {facts.get('store', '')}.")
        lines += [
            "",
            f"Your pickup code: {notice.secret or ''}",
            "Show it (or the QR on the page below) at the counter.",
        ]
        url = f"{url}?code={notice.secret or ''}"
    elif notice.kind == "picked_up":
        lines.append(f"your order {number} was picked up. Thank you!")
        lines += _receipt_lines(facts.get("receipt"))
    elif notice.kind == "shipped":
        lines += _shipped_lines(facts, number)
    elif notice.kind == "cancelled":
        lines.append(f"your order {number} was cancelled.")
        if facts.get("refund"):
            lines.append(f"The {facts['refund']} you paid is refunded: it may take a few days to show.")
    elif notice.kind == "reminder":
        lines.append(f"your order {number} is waiting for you at {facts.get('store', '')}.")
        lines.append(f"Please collect it by {facts.get('until', '')}: after that it expires.")
    elif notice.kind == "expired":
        lines.append(f"your order {number} was not collected in time, so it has expired.")
        if facts.get("refund"):
            lines.append(f"The {facts['refund']} you paid is refunded: it may take a few days to show.")
        elif "refund" not in facts:  # written before payment was known: the old wording
            lines.append("If you paid for it online, your payment is refunded.")
    elif notice.kind == "refunded":
        items, store = facts.get("items", ""), facts.get("store", "")
        lines.append(f"we took back {items} item(s) of your order {number} at {store}")
        lines.append(f"and refunded {facts.get('refunded', '')}: it may take a few days to show.")
    lines += ["", f"Follow your order: {url}", ""]
    msg = EmailMessage()
    msg["Message-ID"] = message_id(notice)
    msg["Date"] = format_datetime(notice.created_at)
    msg["From"] = sender
    msg["To"] = notice.recipient
    part = notice.kind == "shipped" and "items" in facts and not facts.get("complete")
    msg["Subject"] = (PART_SUBJECT if part else SUBJECTS[notice.kind]).format(number=number)
    msg["X-Counterline-Notice"] = f"{notice.order_id} {notice.kind} {notice.stage}"
    msg.set_content("\n".join(lines))
    return msg


# ---------------------------------------------------------------- transports


class TemporaryFailure(Exception):
    """The message was not accepted this time (4xx, no connection): try again later."""


class PermanentFailure(Exception):
    """The message will never be accepted as it is (5xx)."""


class Transport(Protocol):
    sender: str

    def send(self, msg: EmailMessage) -> None: ...


@dataclass
class SmtpTransport:
    host: str
    port: int = 25
    sender: str = DEFAULT_FROM
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 15.0
    # One connection for a run of the worker (a refused message is reset on it); closed at the run's end.
    _smtp: smtplib.SMTP | None = field(default=None, init=False, repr=False, compare=False)

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def send(self, msg: EmailMessage) -> None:
        try:
            self._connection().send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentFailure(f"recipient refused: {codes}") from None
            raise TemporaryFailure(f"recipient refused for now: {codes}") from None
        except smtplib.SMTPResponseException as exc:
            text = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(text) from None
            raise TemporaryFailure(text) from None
        except (smtplib.SMTPException, OSError) as exc:  # the connection is gone: a new one next time
            self.close()
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


@dataclass
class FolderTransport:
    """The demo's mailbox: one .eml file per notice, named after its Message-ID (a resend overwrites it)."""

    folder: Path
    sender: str = DEFAULT_FROM

    def send(self, msg: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = str(msg["Message-ID"]).strip("<>").replace("@", "_").replace("/", "_") + ".eml"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(msg.as_bytes())
        os.replace(tmp, self.folder / name)


def transport_from_env(outbox: Path | None = None) -> Transport:
    """SMTP when COUNTERLINE_CENTRAL_SMTP_HOST is set, else the .eml folder (COUNTERLINE_CENTRAL_NOTICES_DIR)."""
    sender = os.environ.get(SMTP_FROM_ENV) or DEFAULT_FROM
    host = os.environ.get(SMTP_HOST_ENV, "").strip()
    if host:
        port = int(os.environ.get(SMTP_PORT_ENV) or 25)
        return SmtpTransport(
            host=host,
            port=port,
            sender=sender,
            user=os.environ.get(SMTP_USER_ENV) or None,
            password=os.environ.get(SMTP_PASSWORD_ENV) or None,
            starttls=os.environ.get(SMTP_STARTTLS_ENV, "") == "1",
        )
    return FolderTransport(outbox or Path(os.environ.get(OUTBOX_ENV) or DEFAULT_OUTBOX), sender=sender)


# ---------------------------------------------------------------- the worker


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _claim(s: Session, notice_id: int, now: datetime) -> Notice | None:
    """The notice, if still due: its next attempt moved past the lease, so no other worker takes it meanwhile."""
    done = s.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.state == "pending", Notice.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE)
    )
    return s.get(Notice, notice_id) if getattr(done, "rowcount", 0) == 1 else None


def send_pending(
    factory: sessionmaker[Session],
    transport: Transport,
    *,
    limit: int = 100,
    now: Callable[[], datetime] = utcnow,
    should_stop: Callable[[], bool] = lambda: False,
    base_url: str | None = None,
) -> SendReport:
    """Send the notices that are due (oldest first, at most `limit`); see the module's text for the guarantees."""
    report = SendReport()
    with factory() as s:
        due = list(
            s.scalars(
                select(Notice.id)
                .where(Notice.state == "pending", Notice.next_attempt_at <= now())
                .order_by(Notice.id)
                .limit(limit)
            )
        )
    try:
        for notice_id in due:
            if should_stop():
                break
            _send_one(factory, transport, notice_id, now, base_url, report)
    finally:
        close = getattr(transport, "close", None)
        if close is not None:
            close()
    return report


def _send_one(
    factory: sessionmaker[Session],
    transport: Transport,
    notice_id: int,
    now: Callable[[], datetime],
    base_url: str | None,
    report: SendReport,
) -> None:
    with factory.begin() as s:  # claimed and read in one short transaction
        notice = _claim(s, notice_id, now())
        if notice is None:
            return
        order = s.get(WebOrder, notice.order_id)
        reason = ""
        if notice.kind == "ready" and order is not None and order.status == S.CANCELLED:
            reason = "order cancelled before the notice went out"
        elif notice.kind == "reminder" and order is not None and order.status != S.READY:
            reason = f"order {order.status} before the reminder went out"
        elif not notice.recipient:
            reason = "no e-mail address"
        elif not ADDRESS.fullmatch(notice.recipient):
            reason = "not one usable e-mail address"
        if reason:
            notice.state, notice.last_error, notice.secret = "skipped", reason, None
            report.skipped += 1
            return
        try:
            msg = build_message(notice, transport.sender, base_url)
        except (ValueError, TypeError) as exc:  # stored text no e-mail can carry: never sendable
            notice.state, notice.last_error, notice.secret = (
                "failed",
                f"cannot be written: {exc}"[:300],
                None,
            )
            report.failed += 1
            return
    try:
        transport.send(msg)
    except (TemporaryFailure, PermanentFailure) as exc:
        with factory.begin() as s:
            notice = s.get(Notice, notice_id)
            assert notice is not None
            notice.attempts += 1
            notice.last_error = str(exc)[:300]
            if isinstance(exc, PermanentFailure) or notice.attempts >= MAX_ATTEMPTS:
                notice.state = "failed"
                report.failed += 1
            else:
                notice.next_attempt_at = now() + backoff(notice.attempts)
                report.retried += 1
        report.errors.append(str(exc))
        return
    with factory.begin() as s:  # accepted by the server: marked in a transaction of its own
        notice = s.get(Notice, notice_id)
        assert notice is not None
        notice.state, notice.sent_at, notice.secret = "sent", now(), None
        notice.attempts += 1
        notice.last_error = ""
    report.sent += 1


def run_loop(
    factory: sessionmaker[Session],
    transport: Transport,
    stop: threading.Event,
    interval: float = 10.0,
    base_url: str | None = None,
) -> None:
    """Send due notices every `interval` seconds until `stop` is set (the serve command's background worker)."""
    while not stop.is_set():
        try:
            send_pending(factory, transport, should_stop=stop.is_set, base_url=base_url)
        except Exception as exc:  # a database hiccup must not end the loop; the next round tries again
            print(f"notices: {type(exc).__name__}: {exc}", flush=True)
        stop.wait(interval)


def start_background(
    factory: sessionmaker[Session], transport: Transport, interval: float = 10.0
) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_loop, args=(factory, transport, stop, interval), name="notices", daemon=True
    )
    thread.start()
    return thread, stop
