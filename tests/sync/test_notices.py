"""Customer notices, pickup codes and the order status page (sync.central.notices, sync.central.status_page).

Notices are written in the order's transaction once per (order, kind, stage); the worker sends them through a real
SMTP server on loopback (aiosmtpd) that refuses mail for a while, is stopped mid-batch and crashes between the
server's acceptance and its mark; the status page is fetched over real HTTP (uvicorn on loopback)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
import zxingcpp
from aiosmtpd.controller import Controller
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from uuid6 import uuid7

from app.domain import pickup
from sync import protocol
from sync.central import cli, notices, service, stock
from sync.central.api import create_app
from sync.central.db import make_sessionmaker
from sync.central.models import Notice, OrderAccess, WebOrder, utcnow
from sync.central.service import order_state

if TYPE_CHECKING:
    from conftest import Central

HOSTILE = "<script>alert('x')</script> & \"Bobby\""


def event(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(uuid7()), "type": kind, "occurred_at": utcnow().isoformat(), "payload": payload}


def _place(
    central: Central,
    name: str = "Ann",
    fulfilment: str = "pickup",
    key: str | None = None,
    email: str = "ann@example.test",
) -> str:
    request = protocol.OrderRequest.model_validate(
        {
            "store": "S1",
            "fulfilment": fulfilment,
            "lines": [{"sku": "A1", "qty": "1"}],
            "customer": {"name": name, "email": email},
        }
    )
    with central.sessions.begin() as s:
        if s.scalar(select(func.count()).select_from(WebOrder)) == 0:
            stock.receive(s, "S1", [stock.StockLine("A1", Decimal(50))])
        return str(service.place_order(s, request, idempotency_key=key).id)


def _move(central: Central, order_id: str, to: str, tracking: list[str] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"order_id": order_id, "from": "", "to": to, "by": "T1"}
    if tracking:
        payload["tracking"] = tracking
    return central.push([event(protocol.ORDER_STATUS, payload)])[0]


def _notices(central: Central, order_id: str | None = None) -> list[tuple[str, str, str]]:
    with central.sessions() as s:
        query = select(Notice).order_by(Notice.id)
        rows = s.scalars(query).all()
        return [(n.kind, n.stage, n.state) for n in rows if order_id is None or str(n.order_id) == order_id]


def test_one_notice_per_order_kind_and_stage_even_when_a_change_comes_twice(central: Central) -> None:
    order_id = _place(central, key="k-1")
    assert _place(central, key="k-1") == order_id  # the storefront's retry: the same order, no second notice
    for to in ("picking", "ready", "ready"):
        assert _move(central, order_id, to)["status"] == "applied"
    with central.sessions.begin() as s:  # the change applied again by hand writes nothing either
        order = s.get(WebOrder, uuid.UUID(order_id))
        assert order is not None
        assert notices.order_changed(s, order, "ready") is None
        assert notices.order_changed(s, order, "new") is None
    assert _notices(central, order_id) == [("received", "new", "pending"), ("ready", "ready", "pending")]
    with pytest.raises(IntegrityError), central.sessions.begin() as s:  # and the database holds the key
        s.add(Notice(order_id=uuid.UUID(order_id), kind="ready", stage="ready", facts={}))


def test_no_ready_notice_once_cancelled(central: Central, tmp_path: Path) -> None:
    cancelled_first = _place(central)
    assert _move(central, cancelled_first, "picking")["status"] == "applied"
    with central.sessions.begin() as s:
        service.cancel_order(s, cancelled_first)
    assert _move(central, cancelled_first, "ready")["status"] == "rejected"
    assert [k for k, _, _ in _notices(central, cancelled_first)] == ["received", "cancelled"]

    # Ready, then cancelled before the worker ran: the ready notice (and its code) never goes out.
    raced = _place(central)
    assert _move(central, raced, "ready")["status"] == "applied"
    with central.sessions.begin() as s:
        service.cancel_order(s, raced)
    report = notices.send_pending(central.sessions, notices.FolderTransport(tmp_path / "out"))
    assert (report.sent, report.skipped) == (4, 1)
    assert _notices(central, raced) == [
        ("received", "new", "sent"),
        ("ready", "ready", "skipped"),
        ("cancelled", "cancelled", "sent"),
    ]
    with central.sessions() as s:
        assert all(n.secret is None for n in s.scalars(select(Notice)))
    sent = sorted(p.name for p in (tmp_path / "out").glob("*.eml"))
    assert len(sent) == 4 and not any(".ready." in name for name in sent)


def test_a_hostile_address_gets_no_mail_and_holds_up_nobody(central: Central, tmp_path: Path) -> None:
    hostile = _place(central, email="ann@example.test\r\nBcc: thief@example.test")
    listed = _place(central, email="ann@example.test, thief@example.test")
    fine = _place(central)
    report = notices.send_pending(central.sessions, notices.FolderTransport(tmp_path / "out"))
    assert (report.sent, report.skipped, report.failed) == (1, 2, 0)
    assert [s for _, _, s in _notices(central, hostile) + _notices(central, listed)] == ["skipped", "skipped"]
    assert _notices(central, fine) == [("received", "new", "sent")]
    assert b"thief" not in b"".join(p.read_bytes() for p in (tmp_path / "out").glob("*.eml"))


def test_pickup_code_is_checked_from_the_feed_and_used_once(central: Central) -> None:
    order_id = _place(central)
    _, cursor = central.pull_all()
    assert _move(central, order_id, "ready")["status"] == "applied"
    with central.sessions() as s:
        code = s.scalars(select(Notice).where(Notice.kind == "ready")).one().secret
    assert code and len(code) == pickup.LENGTH and code not in order_id
    changes, _ = central.pull_all(cursor)
    payload = [c["payload"] for c in changes if c["type"] == "order"][-1]
    assert code not in json.dumps(changes)  # the till gets the verifier, never the code
    assert pickup.verify(code.lower(), payload["pickup"])  # what a till does with the central out of reach
    assert not pickup.verify("ABCDEFGH", payload["pickup"])
    assert not pickup.verify(code, dict(payload["pickup"], iterations=10**9))
    with central.sessions.begin() as s:
        order = s.get(WebOrder, uuid.UUID(order_id))
        assert order is not None
        assert not notices.redeem_pickup_code(s, order, "WRONG234")
        assert notices.redeem_pickup_code(s, order, code)
        assert not notices.redeem_pickup_code(s, order, code)  # used once


@contextmanager
def _served_ready_order(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A central served by uvicorn on loopback with one ready pickup order for a hostile name: (base, token, code)."""
    url = f"sqlite:///{tmp_path / 'page.db'}"
    app = create_app(url)
    factory = make_sessionmaker(app.state.engine)
    with factory.begin() as s:
        service.set_tax_class(s, "std", "0.20")
        service.create_store(s, "S1", "High <Street>")
        service.import_catalog(
            s, "sku,name,price,tax_class,department,barcodes,weighed\nA1,Apple,2.50,std,fruit,,no\n"
        )
        stock.receive(s, "S1", [stock.StockLine("A1", Decimal(5))])
        request = protocol.OrderRequest.model_validate(
            {
                "store": "S1",
                "fulfilment": "pickup",
                "lines": [{"sku": "A1", "qty": "2"}],
                "customer": {"name": HOSTILE, "email": "b@example.test"},
            }
        )
        order = service.place_order(s, request)
        order_state._set_status(s, order, "picking", "T1", None)
        order_state._set_status(s, order, "ready", "T1", None)
        token = notices.access_of(s, order).token
        code = str(s.scalars(select(Notice).where(Notice.kind == "ready")).one().secret)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: server.started)
        yield f"http://127.0.0.1:{port}", token, code
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def test_status_page_over_http(tmp_path: Path) -> None:
    with _served_ready_order(tmp_path) as (base, token, code):
        page = httpx.get(f"{base}/o/{token}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        html = page.text
        assert "<script>" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
        assert "High &lt;Street&gt;" in html
        assert "Order received" in html and "Ready for pickup" in html and "<svg" not in html
        with_code = httpx.get(f"{base}/o/{token}", params={"code": code}).text
        assert "<svg" in with_code and code in with_code
        assert "<svg" not in httpx.get(f"{base}/o/{token}", params={"code": "AAAAAAAA"}).text
        other = token[:-1] + ("y" if token[-1] == "x" else "x")  # one character off (a token may end in "x")
        assert httpx.get(f"{base}/o/{other}").status_code == 404
        assert httpx.get(f"{base}/o/{'a' * 200}").status_code == 404


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_status_page_in_headless_chromium(tmp_path: Path) -> None:
    """`make test` installs Debian's chromium (`make system`); only COUNTERLINE_SKIP_BROWSER=1, set by hand on a
    machine without it, skips this, and the skip says so."""
    if CHROMIUM is None:
        if os.environ.get("COUNTERLINE_SKIP_BROWSER") == "1":
            pytest.skip(
                "COUNTERLINE_SKIP_BROWSER=1: the status page is not tried in a browser on this machine"
            )
        pytest.fail(
            "Debian's chromium is missing: run `sudo make system` (or set COUNTERLINE_SKIP_BROWSER=1)"
        )
    shot = tmp_path / "status-page.png"
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    with _served_ready_order(tmp_path) as (base, token, code):
        link = f"{base}/o/{token}?code={code}"
        dom = subprocess.run([*flags, "--dump-dom", link], capture_output=True, text=True, timeout=60).stdout
        subprocess.run(
            [*flags, "--window-size=1280,800", "--hide-scrollbars", f"--screenshot={shot}", link],
            capture_output=True,
            timeout=60,
        )
    # What the browser built: the hostile name as text (no script element), the notices' events, the QR.
    assert "<script" not in dom and "&lt;script&gt;alert" in dom
    assert "Order received" in dom and "Ready for pickup" in dom and "<svg" in dom and code in dom
    # The QR as the browser drew it reads back as the pickup code (what a till's scanner would get).
    with Image.open(shot) as image:
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [code]
    if os.environ.get("COUNTERLINE_SHOTS"):
        shutil.copy(shot, Path(os.environ["COUNTERLINE_SHOTS"]) / "status-page.png")


def test_shipped_notice_and_page_carry_tracking_numbers(central: Central) -> None:
    order_id = _place(central, fulfilment="ship")
    assert _move(central, order_id, "packed")["status"] == "applied"
    assert _move(central, order_id, "shipped", ["1Z999AA10123456784"])["status"] == "applied"
    with central.sessions() as s:
        shipped = s.scalars(select(Notice).where(Notice.kind == "shipped")).one()
        body = notices.build_message(shipped, "shop@example.test").get_content()
        token = s.get(OrderAccess, shipped.order_id).token  # type: ignore[union-attr]
    assert "1Z999AA10123456784" in body and f"/o/{token}" in body
    assert "1Z999AA10123456784" in central.client.get(f"/o/{token}").text


# ---------------------------------------------------------------- end to end with a real SMTP server


class _Mailbox:
    """An aiosmtpd handler that refuses the first `refuse` messages with 451 and keeps the rest."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.received: list[bytes] = []
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 mailbox busy, try again later"
        self.received.append(bytes(envelope.content))
        return "250 OK"

    def ids(self) -> Counter[str]:
        return Counter(_mid(raw) for raw in self.received)


class _Crash(BaseException):
    """The worker's process dying (not an error the worker handles)."""


class _CrashAfterAccept:
    """An SMTP transport whose process dies once right after the server accepted a message."""

    def __init__(self, inner: notices.SmtpTransport, after: int) -> None:
        self.inner, self.after, self.sender = inner, after, inner.sender

    def send(self, msg: EmailMessage) -> None:
        self.inner.send(msg)
        self.after -= 1
        if self.after == 0:
            raise _Crash


def test_every_notice_reaches_a_real_smtp_server_once(central: Central) -> None:
    mailbox = _Mailbox(refuse=3)
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    clock = [utcnow()]

    def now() -> datetime:
        return clock[0]

    try:
        orders = [_place(central, name=f"Customer {i}") for i in range(4)]
        for order_id in orders[:2]:
            assert _move(central, order_id, "ready")["status"] == "applied"
        with central.sessions.begin() as s:
            service.cancel_order(s, orders[3])
        expected = 7  # 4 received, 2 ready, 1 cancelled
        clock[0] = utcnow()
        smtp = notices.SmtpTransport("127.0.0.1", port, sender="shop@example.test", timeout=5)

        # The server refuses the first three: each is put off with a backoff, nothing is marked sent.
        first = notices.send_pending(central.sessions, smtp, now=now)
        assert (first.retried, mailbox.refused) == (3, 3) and first.sent == expected - 3
        # Stopped mid-batch (a shutdown): what was not claimed stays pending for the next run.
        clock[0] += timedelta(hours=2)
        stops = iter([False, True])
        stopped = notices.send_pending(central.sessions, smtp, now=now, should_stop=lambda: next(stops))
        assert stopped.sent == 1
        # Killed between the server's acceptance and the mark: the next run (after the claim's lease) sends the
        # same message again, with the same Message-ID and the same bytes.
        with pytest.raises(_Crash):
            notices.send_pending(central.sessions, _CrashAfterAccept(smtp, after=1), now=now)
        assert notices.send_pending(central.sessions, smtp, now=now).sent == 1  # the one never claimed
        assert notices.send_pending(central.sessions, smtp, now=now).sent == 0  # leased: nobody else takes it
        clock[0] += notices.LEASE + timedelta(seconds=1)
        last = notices.send_pending(central.sessions, smtp, now=now)
        assert last.sent == 1 and notices.send_pending(central.sessions, smtp, now=now).sent == 0
    finally:
        controller.stop()

    ids = mailbox.ids()
    with central.sessions() as s:
        rows = s.scalars(select(Notice)).all()
        assert len(rows) == expected and all(n.state == "sent" for n in rows)
        assert set(ids) == {notices.message_id(n) for n in rows}  # every notice arrived, under its own id
    # One message per notice: the only id seen twice is the one accepted just before the crash, byte for byte.
    twice = [mid for mid, count in ids.items() if count > 1]
    assert len(twice) == 1 and ids[twice[0]] == 2
    copies = {raw for raw in mailbox.received if _mid(raw) == twice[0]}
    assert len(copies) == 1
    ready = [
        message_from_bytes(raw, policy=policy.default)
        for raw in mailbox.received
        if b"ready for pickup" in raw
    ]
    assert ready and all("Your pickup code: " in m.get_content() for m in ready)


def _mid(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=policy.default)["Message-ID"]).strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_send_notices_command_writes_eml_files_once(
    central: Central, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(notices.SMTP_HOST_ENV, raising=False)
    order_id = _place(central, name=HOSTILE)
    assert _move(central, order_id, "ready")["status"] == "applied"
    outbox = tmp_path / "outbox"
    args = ["--database-url", central.url, "send-notices", "--outbox", str(outbox)]
    assert cli.main(args) == 0
    assert "2 sent, 0 to retry, 0 failed, 0 skipped" in capsys.readouterr().out
    assert cli.main(args) == 0 and "0 sent" in capsys.readouterr().out  # nothing twice
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    ready = message_from_bytes(
        next(f for f in files if ".ready." in f.name).read_bytes(), policy=policy.default
    )
    assert ready["Subject"].endswith("is ready for pickup") and "Your pickup code: " in ready.get_content()
    with central.sessions() as s:
        token = s.scalars(select(OrderAccess)).one().token
    assert f"/o/{token}?code=" in ready.get_content()


def test_background_sender_of_the_serve_command(central: Central) -> None:
    mailbox = _Mailbox(refuse=0)
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    _place(central)
    thread, stop = notices.start_background(
        central.sessions, notices.SmtpTransport("127.0.0.1", port, timeout=5), interval=0.05
    )
    try:
        _wait(lambda: len(mailbox.received) == 1)
    finally:
        stop.set()
        thread.join(timeout=10)
        controller.stop()
    assert not thread.is_alive() and _notices(central) == [("received", "new", "sent")]


def test_a_till_checks_the_pickup_code_with_the_central_out_of_reach(tmp_path: Path) -> None:
    from app.db.models import Order
    from app.services import outbox
    from tests.sync.fleet import Hub, Till

    hub = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    try:
        with hub.sessions.begin() as s:
            stock.receive(s, "S1", [stock.StockLine("A1", Decimal(3))])
        order_id = str(hub.place_order("S1", "A1")["id"])
        till = Till.enrol(hub, tmp_path / "till", "S1", "T1")
        till.sync()
        with till.factory.begin() as s:  # the associate puts the order on the pickup shelf
            outbox.emit(
                s, protocol.ORDER_STATUS, {"order_id": order_id, "from": "new", "to": "ready", "by": "T1"}
            )
        till.sync()
        till.sync()
        with hub.sessions() as s:
            code = str(s.scalars(select(Notice).where(Notice.kind == "ready")).one().secret)
    finally:
        hub.close()  # the central is out of reach from here on
    with till.factory() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.status == "ready"
        verifier = (order.external or {}).get("pickup")
        assert code not in json.dumps(order.external)
    assert pickup.verify(code, verifier) and not pickup.verify(pickup.new_code(), verifier)


class _HangingMailbox(_Mailbox):
    """Keeps every message; on the `hang_at`-th it holds its answer back (the worker is killed meanwhile)."""

    def __init__(self, hang_at: int) -> None:
        super().__init__(refuse=0)
        self.hang_at = hang_at
        self.hung = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(bytes(envelope.content))
        if len(self.received) == self.hang_at:
            self.hung.set()
            await asyncio.sleep(20)
        return "250 OK"


def test_worker_process_killed_mid_send_loses_nothing(central: Central) -> None:
    orders = [_place(central, name=f"Customer {i}") for i in range(4)]
    assert _move(central, orders[0], "ready")["status"] == "applied"
    mailbox = _HangingMailbox(hang_at=3)
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = dict(os.environ, **{notices.SMTP_HOST_ENV: "127.0.0.1", notices.SMTP_PORT_ENV: str(port)})
        script = "import sys; from sync.central import cli; sys.exit(cli.main(sys.argv[1:]))"
        worker = subprocess.Popen(
            [sys.executable, "-c", script, "--database-url", central.url, "send-notices"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert mailbox.hung.wait(60), "the worker never reached the third message"
        worker.kill()  # SIGKILL while the server holds the third message's answer
        worker.wait(10)
        later = utcnow() + notices.LEASE + timedelta(seconds=1)
        report = notices.send_pending(
            central.sessions, notices.SmtpTransport("127.0.0.1", port, timeout=5), now=lambda: later
        )
    finally:
        controller.stop()
    with central.sessions() as s:
        rows = s.scalars(select(Notice)).all()
        assert len(rows) == 5 and all(n.state == "sent" for n in rows)
        assert set(mailbox.ids()) == {notices.message_id(n) for n in rows}
    assert report.sent == 3  # the one cut off (sent again under its id) and the two never tried
    counts = mailbox.ids()
    assert sorted(counts.values()) == [1, 1, 1, 1, 2]
    twice = next(mid for mid, n in counts.items() if n == 2)
    assert len({raw for raw in mailbox.received if _mid(raw) == twice}) == 1  # the same bytes both times
