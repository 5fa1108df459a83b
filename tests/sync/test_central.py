"""Tests of the central store service and the wire protocol, on SQLite and on PostgreSQL.

They drive the real FastAPI app through httpx (TestClient in process, and one real uvicorn server on a loopback
port) and read the database back to check what was stored: exactly-once application, parked rejections,
oversell exceptions, the stock count rule, paging of the change feed, web order cancellation and the CLI.
"""

from __future__ import annotations

import ast
import hashlib
import json
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from uuid6 import uuid7

from sync import protocol
from sync.central import cli, ledger, service
from sync.central.api import create_app
from sync.central.db import make_engine, make_sessionmaker
from sync.central.models import (
    AppliedEvent,
    Base,
    FeedChange,
    Location,
    Price,
    Product,
    RejectedEvent,
    Sale,
    StockException,
    StockLevel,
    StockMovement,
    Store,
    Terminal,
    WebOrder,
    made_on,
)

if TYPE_CHECKING:
    from conftest import Central

ROOT = Path(__file__).resolve().parents[2]


def event(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One event as a terminal would push it: a fresh UUIDv7 and the time now."""
    return {
        "id": str(uuid7()),
        "type": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": payload,
    }


def movement(sku: str, qty: str, kind: str, location: str = "floor") -> dict[str, Any]:
    return {"id": str(uuid7()), "sku": sku, "location": location, "qty": qty, "kind": kind}


def sale(number: str, sku: str, qty: str, unit_price: str = "2.50", store: str = "S1") -> dict[str, Any]:
    """A `sale.completed` payload selling `qty` of one sku from the floor."""
    amount = str((Decimal(qty) * Decimal(unit_price)).quantize(Decimal("0.01")))
    return {
        "order_id": str(uuid7()),
        "number": number,
        "store": store,
        "terminal": "T1",
        "lines": [{"sku": sku, "qty": qty, "unit_price": unit_price, "amount": amount, "tax": "0.00"}],
        "payments": [{"kind": "cash", "amount": amount}],
        "totals": {"total": amount},
        "movements": [movement(sku, f"-{qty}", "sale")],
    }


def on_hand(hub: Central, sku: str, store: str = "S1", location: str = "floor") -> Decimal:
    """On-hand from the level row, checked against the ledger sum it derives from."""
    with hub.sessions() as s:
        loc = s.scalar(select(Location).join(Store).where(Store.code == store, Location.code == location))
        product = s.scalar(select(Product).where(Product.sku == sku))
        assert loc is not None and product is not None
        level = s.get(StockLevel, (loc.id, product.id))
        from_ledger = ledger.ledger_on_hand(s, loc, product)
        assert (level.on_hand if level else Decimal(0)) == from_ledger
        return from_ledger


def receipt(sku: str, qty: str, location: str = "floor") -> dict[str, object]:
    return event(protocol.STOCK_MOVEMENT, movement(sku, qty, "receipt", location))


def test_protocol_round_trips_plain_json() -> None:
    ev = protocol.Event.model_validate(event(protocol.SALE_COMPLETED, sale("S1-T1-1", "A1", "2")))
    wire = json.loads(ev.model_dump_json())
    assert wire["payload"]["lines"][0]["unit_price"] == "2.50"
    parsed = protocol.SaleCompleted.model_validate(wire["payload"])
    assert parsed.lines[0].amount == Decimal("5.00")
    assert parsed.movements[0].qty == Decimal("-2")
    status = protocol.OrderStatusChange.model_validate(
        {"order_id": str(ev.id), "from": "new", "to": "picking"}
    )
    assert status.from_status == "new"
    assert protocol.PROTOCOL_VERSION == 1


def test_central_imports_only_the_protocol() -> None:
    for path in (ROOT / "sync" / "central").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("app", "ui", "devices", "sync.client", "sync.agent")), (
                    path,
                    name,
                )


def test_migrations_match_the_models(db_url: str) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from sync.central.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:

            def here(obj: object, *_: object) -> bool:  # a key made on one dialect only (models.sqlite_key)
                return made_on(obj, conn.dialect.name)

            context = MigrationContext.configure(conn, opts={"compare_type": False, "include_object": here})
            assert context.get_current_revision() == head
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_enrolment_code_is_single_use_and_token_hashed(central: Central) -> None:
    with central.sessions.begin() as s:
        code = service.issue_enrolment_code(s, "S1", "T3")
        stored = s.scalar(select(Terminal).join(Store).where(Store.code == "S1", Terminal.code == "T3"))
        assert stored is not None and stored.enrol_code_hash == hashlib.sha256(code.encode()).hexdigest()
    first = central.client.post("/v1/enroll", json={"code": code.lower(), "terminal_name": "Till 3"})
    assert first.status_code == 200
    body = protocol.EnrollResponse.model_validate(first.json())
    assert (body.store_code, body.terminal_code) == ("S1", "T3")
    assert [loc["code"] for loc in body.locations] == ["floor", "backroom", "quarantine"]
    again = central.client.post("/v1/enroll", json={"code": code, "terminal_name": "Till 3"})
    assert again.status_code == 403

    with central.sessions() as s:
        t3 = s.scalar(select(Terminal).where(Terminal.name == "Till 3"))
        assert t3 is not None and t3.token_hash == hashlib.sha256(body.token.encode()).hexdigest()
        assert t3.enrol_code_hash is None
        assert body.token not in {t.token_hash for t in s.scalars(select(Terminal))}

    with central.sessions.begin() as s:
        expired = service.issue_enrolment_code(s, "S1", "T4", ttl=timedelta(seconds=-1))
    assert central.client.post("/v1/enroll", json={"code": expired, "terminal_name": "x"}).status_code == 403

    headers = {"Authorization": f"Bearer {body.token}"}
    assert central.client.get("/v1/status", headers=headers).json()["store"] == "S1"
    assert central.client.get("/v1/pull", params={"store": "S2"}, headers=headers).status_code == 403
    assert central.client.get("/v1/stores/S2/stock", headers=headers).status_code == 403
    assert central.client.get("/v1/stores/S1/stock", headers=headers).status_code == 200
    assert central.client.get("/v1/pull").status_code == 401
    assert central.client.get("/v1/pull", headers={"Authorization": "Bearer nope"}).status_code == 401
    other_store = event(protocol.SALE_COMPLETED, sale("S2-T1-1", "A1", "1", store="S2"))
    response = central.client.post("/v1/push", json={"events": [other_store]}, headers=headers)
    assert response.status_code == 200
    refused = response.json()["results"][0]
    assert refused["status"] == "rejected" and "belongs to S1" in refused["reason"]
    with central.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Sale)) == 0


def test_push_applies_each_event_exactly_once(central: Central) -> None:
    batch = [receipt("A1", "10"), event(protocol.SALE_COMPLETED, sale("S1-T1-1", "A1", "2"))]
    batch.append(dict(batch[1]))  # the same event twice inside one batch
    batch.append(event(protocol.SHIFT_OPENED, {"shift_id": "x", "float": "100.00"}))
    assert [r["status"] for r in central.push(batch)] == ["applied", "applied", "duplicate", "applied"]
    assert on_hand(central, "A1") == Decimal("8")

    again = central.push(batch)
    assert [r["status"] for r in again] == ["duplicate"] * 4
    reordered = central.push(list(reversed(batch)), terminal="S1/T2")
    assert [r["status"] for r in reordered] == ["duplicate"] * 4
    assert on_hand(central, "A1") == Decimal("8")
    with central.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AppliedEvent)) == 3
        assert s.scalar(select(func.count()).select_from(StockMovement)) == 2
        assert s.scalar(select(func.count()).select_from(Sale)) == 1


def test_rejected_event_is_parked_with_reason_while_others_apply(central: Central) -> None:
    bad_sku = event(protocol.SALE_COMPLETED, sale("S1-T1-2", "NOPE", "1"))
    missing_field = event(
        protocol.STOCK_MOVEMENT, {"sku": "A1", "location": "floor", "qty": "1", "kind": "receipt"}
    )
    unknown = event("loyalty.points", {"points": 5})
    bad_location = event(protocol.STOCK_MOVEMENT, movement("A1", "3", "receipt", "roof"))
    batch = [receipt("A1", "5"), bad_sku, missing_field, unknown, bad_location, receipt("B2", "1.250")]
    results = central.push(batch)
    assert [r["status"] for r in results] == [
        "applied",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "applied",
    ]
    assert "unknown sku 'NOPE'" in results[1]["reason"]
    assert "id" in results[2]["reason"]
    assert "unknown event type 'loyalty.points'" in results[3]["reason"]
    assert "unknown location 'roof'" in results[4]["reason"]
    assert on_hand(central, "A1") == Decimal("5") and on_hand(central, "B2") == Decimal("1.250")
    with central.sessions() as s:
        parked = s.scalars(select(RejectedEvent).order_by(RejectedEvent.id)).all()
        assert [str(p.event_id) for p in parked] == [e["id"] for e in batch[1:5]]
        assert parked[0].payload["number"] == "S1-T1-2"
        # The rejected sale left nothing behind: its Sale row rolled back with it.
        assert s.scalar(select(func.count()).select_from(Sale)) == 0
    # A rejected event is not remembered as applied, so a fixed resend is not a duplicate.
    fixed = dict(
        missing_field, payload=dict(missing_field["payload"], id=str(movement("A1", "1", "x")["id"]))
    )
    assert central.push([fixed])[0]["status"] == "applied"


def test_sale_beyond_stock_is_applied_and_flags_oversell(central: Central) -> None:
    assert central.push([receipt("C3", "1")])[0]["status"] == "applied"
    results = central.push([event(protocol.SALE_COMPLETED, sale("S1-T1-9", "C3", "3", "6.40"))])
    assert results[0]["status"] == "applied"
    assert on_hand(central, "C3") == Decimal("-2")
    with central.sessions() as s:
        exc = s.scalars(select(StockException)).one()
        assert (exc.kind, exc.sku, exc.location) == ("oversell", "C3", "floor")
        assert exc.detail["available"] == "-2.000"
        assert str(exc.event_id) == results[0]["id"]
    summary = central.client.get("/v1/stores/S1/stock", headers=central.auth()).json()
    assert {
        "sku": "C3",
        "location": "floor",
        "on_hand": "-2.000",
        "reserved": "0.000",
        "available": "-2.000",
    } in (summary)


def test_stock_count_applies_as_of_seq_and_keeps_later_movements(central: Central) -> None:
    central.push([receipt("A1", "10")])
    _, seen = central.pull_all()  # T1 has applied the feed up to here when it counts
    central.push([event(protocol.SALE_COMPLETED, sale("S1-T2-1", "A1", "2"))], terminal="S1/T2")
    before = event(protocol.SALE_COMPLETED, sale("S1-T1-1", "A1", "1"))  # T1's own sale before the count
    after_move = movement("A1", "-1", "sale")
    after = event(protocol.SALE_COMPLETED, dict(sale("S1-T1-2", "A1", "1"), movements=[after_move]))
    count = event(
        protocol.STOCK_COUNT,
        {
            "sku": "A1",
            "location": "floor",
            "counted": "7",
            "as_of_seq": seen,
            "local_movements_after": [after_move["id"]],
        },
    )
    # The later sale reaches the centre before the count here, so only the exclusion list keeps it out.
    assert [r["status"] for r in central.push([before, after, count])] == ["applied"] * 3
    # Counted 7 with T1's view (10 - 1); the unseen T2 sale (-2) and the later sale (-1) still apply.
    assert on_hand(central, "A1") == Decimal("4")
    with central.sessions() as s:
        adjustment = s.get(StockMovement, uuid.UUID(count["id"]))
        assert adjustment is not None and adjustment.qty == Decimal("-2") and adjustment.kind == "count"
    too_far = event(
        protocol.STOCK_COUNT, {"sku": "A1", "location": "floor", "counted": "1", "as_of_seq": 10**6}
    )
    assert "beyond" in central.push([too_far])[0]["reason"]


def test_pull_pages_follow_the_cursor_for_the_own_store_only(central: Central) -> None:
    central.push([receipt("A1", "1") for _ in range(5)])
    first = central.client.get("/v1/pull", params={"cursor": 0, "limit": 4}, headers=central.auth()).json()
    head = central.client.get("/v1/status", headers=central.auth()).json()["feed_head"]
    assert [c["seq"] for c in first["changes"]] == [1, 2, 3, 4]
    assert first["more"] is True and first["remaining_estimate"] == head - 4
    changes, cursor = first["changes"], first["next_cursor"]
    while True:
        page = central.client.get(
            "/v1/pull", params={"cursor": cursor, "limit": 4}, headers=central.auth()
        ).json()
        assert page["remaining_estimate"] is None
        changes += page["changes"]
        cursor = page["next_cursor"]
        if not page["more"]:
            break
    assert [c["seq"] for c in changes] == list(range(1, head + 1)) and cursor == head
    types = {c["type"] for c in changes}
    assert {"tax_class", "product", "stock"} <= types
    products = {c["key"]: c["payload"] for c in changes if c["type"] == "product"}
    assert products["A1"]["barcodes"] == [
        {"code": "4006381333931", "pack_qty": 1},
        {"code": "4006381333948", "pack_qty": 6},
    ]
    assert products["A1"]["price"] == "2.50" and products["B2"]["weighed"] is True
    stock = [c for c in changes if c["type"] == "stock"]
    assert stock[-1]["payload"]["on_hand"] == "5.000"
    # S2 had the same catalog but none of S1's stock: its terminal sees its own feed.
    s2_changes, _ = central.pull_all(terminal="S2/T1")
    assert s2_changes and all(c["type"] != "stock" for c in s2_changes)
    empty = central.client.get("/v1/pull", params={"cursor": head}, headers=central.auth()).json()
    assert empty["changes"] == [] and empty["next_cursor"] == head and empty["more"] is False


def test_web_order_reserves_and_cancellation_reaches_the_feed(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(service.STOREFRONT_KEY_ENV, "storefront-secret")
    central.push([receipt("C3", "4")])
    _, cursor = central.pull_all()
    body = {"store": "S1", "lines": [{"sku": "C3", "qty": "3"}], "customer": {"name": "Web customer"}}
    assert central.client.post("/v1/orders", json=body).status_code == 401
    assert central.client.post("/v1/orders", json=body, headers={"X-Api-Key": "wrong"}).status_code == 401
    placed = central.client.post("/v1/orders", json=body, headers={"X-Api-Key": "storefront-secret"})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    too_many = dict(body, lines=[{"sku": "C3", "qty": "2"}])
    assert (
        central.client.post(
            "/v1/orders", json=too_many, headers={"X-Api-Key": "storefront-secret"}
        ).status_code
        == 409
    )

    new_changes, cursor = central.pull_all(cursor)
    assert [c["type"] for c in new_changes] == ["stock", "order"]
    assert (
        new_changes[0]["payload"]["reserved"] == "3.000" and new_changes[0]["payload"]["available"] == "1.000"
    )
    assert new_changes[1]["payload"]["lines"] == [
        {
            "sku": "C3",
            "qty": "3.000",
            "unit_price": "6.40",
            "store": "S1",
            "location": "floor",
            "state": "reserved",
        }
    ]

    picking = event(
        protocol.ORDER_STATUS, {"order_id": order["id"], "from": "new", "to": "picking", "by": "T1"}
    )
    assert central.push([picking])[0]["status"] == "applied"
    cancelled = central.client.post(
        f"/v1/orders/{order['number']}/cancel", headers={"X-Api-Key": "storefront-secret"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    after_changes, _ = central.pull_all(cursor)
    assert [c["type"] for c in after_changes] == ["order", "stock", "order.cancelled"]
    assert after_changes[1]["payload"]["reserved"] == "0.000"
    late = event(
        protocol.ORDER_STATUS, {"order_id": order["id"], "from": "picking", "to": "packed", "by": "T1"}
    )
    result = central.push([late])[0]
    assert result["status"] == "rejected" and "already cancelled" in result["reason"]
    with central.sessions() as s:
        assert s.scalars(select(WebOrder)).one().status == "cancelled"
    # A terminal of another store cannot move this order.
    other = event(protocol.ORDER_STATUS, {"order_id": order["id"], "from": "new", "to": "picking"})
    assert central.push([other], terminal="S2/T1")[0]["status"] == "rejected"


def test_parked_sale_reaches_the_other_terminals(central: Central) -> None:
    _, cursor = central.pull_all(terminal="S1/T2")
    lines = [{"sku": "A1", "qty": "1", "unit_price": "2.50"}]
    assert (
        central.push([event(protocol.SALE_PARKED, {"number": "S1-T1-P1", "lines": lines})])[0]["status"]
        == "applied"
    )
    changes, cursor = central.pull_all(cursor, terminal="S1/T2")
    assert [(c["type"], c["key"], c["payload"]["status"]) for c in changes] == [
        ("parked_sale", "S1-T1-P1", "parked")
    ]
    recall = event(protocol.SALE_RECALLED, {"number": "S1-T1-P1", "terminal": "T2"})
    assert central.push([recall], terminal="S1/T2")[0]["status"] == "applied"
    twice = central.push([event(protocol.SALE_RECALLED, {"number": "S1-T1-P1"})])[0]
    assert twice["status"] == "applied"  # the till has moved on; a person looks at the exception
    with central.sessions() as s:
        assert [e.kind for e in s.scalars(select(StockException))] == ["recalled_twice"]


def test_concurrent_pushes_keep_the_feed_dense(central: Central) -> None:
    def push_some(n: int) -> list[str]:
        return [r["status"] for r in central.push([receipt("A1", "1") for _ in range(n)], terminal="S1/T2")]

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = [s for batch in pool.map(push_some, [3, 3, 3, 3]) for s in batch]
    assert statuses == ["applied"] * 12
    assert on_hand(central, "A1") == Decimal("12")
    with central.sessions() as s:
        store = s.scalars(select(Store).where(Store.code == "S1")).one()
        seqs = s.scalars(
            select(FeedChange.seq).where(FeedChange.store_id == store.id).order_by(FeedChange.seq)
        ).all()
        assert seqs == list(range(1, store.feed_seq + 1))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_served_by_uvicorn_on_loopback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    app = create_app(url)
    with make_sessionmaker(app.state.engine).begin() as s:
        service.set_tax_class(s, "std", "0.20")
        service.create_store(s, "S9", "Served")
        code = service.issue_enrolment_code(s, "S9", "T1")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            assert client.get("/v1/status").json()["database"] == "sqlite"
            token = client.post("/v1/enroll", json={"code": code, "terminal_name": "served"}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            ev = event(protocol.SHIFT_OPENED, {"float": "50.00"})
            pushed = client.post("/v1/push", json={"events": [ev, ev]}, headers=headers).json()
            assert [r["status"] for r in pushed["results"]] == ["applied", "duplicate"]
            pulled = protocol.PullResponse.model_validate(client.get("/v1/pull", headers=headers).json())
            assert [c.type for c in pulled.changes] == ["tax_class"] and pulled.remaining_estimate == 0
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def test_cli_commands(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(["--database-url", db_url, *args])
        out, err = capsys.readouterr()
        return code, out.strip(), err.strip()

    assert (
        run(
            "create-store",
            "n1",
            "North",
            "--currency",
            "usd",
            "--locale",
            "en_US",
            "--timezone",
            "America/New_York",
        )[0]
        == 0
    )
    assert run("set-tax-class", "std", "0.20", "--name", "Standard")[0] == 0
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "sku,name,price,tax_class,department,barcodes,weighed\nX1,Widget,3.00,std,tools,4006381333931,no\n"
    )
    assert run("import-catalog", str(catalog)) == (0, "imported 1 products", "")
    code, enrolment, _ = run("enroll-terminal", "N1", "t1")
    assert code == 0 and len(enrolment) == 14
    app = create_app(db_url)
    with TestClient(app) as client:
        token = client.post("/v1/enroll", json={"code": enrolment, "terminal_name": "cli"}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        ev = event(protocol.STOCK_MOVEMENT, movement("X1", "5", "receipt"))
        assert (
            client.post("/v1/push", json={"events": [ev]}, headers=headers).json()["results"][0]["status"]
            == "applied"
        )
        oversell = event(protocol.STOCK_MOVEMENT, movement("X1", "-7", "adjustment"))
        assert client.post("/v1/push", json={"events": [oversell]}, headers=headers).status_code == 200
        code, out, _ = run("exceptions")
        assert code == 0 and "oversell" in out and "X1@floor" in out and out.endswith("1 exception(s) open")
        exc_id = out.split()[0]
        assert run("exceptions", "--resolve", exc_id) == (0, f"exception {exc_id} resolved", "")
        assert run("exceptions")[1] == "0 exception(s) open"
        assert run("exceptions", "--resolve", "99999")[0] == 2
        receipt_back = event(protocol.STOCK_MOVEMENT, movement("X1", "7", "receipt"))
        assert client.post("/v1/push", json={"events": [receipt_back]}, headers=headers).status_code == 200
        code, number, _ = run("place-order", "N1", "--sku", "X1", "--qty", "2", "--number", "WEB-1")
        assert (code, number) == (0, "WEB-1")
        assert run("cancel-order", "WEB-1") == (0, "order WEB-1 cancelled", "")
        feed = client.get("/v1/pull", headers=headers).json()["changes"]
        assert [c["type"] for c in feed][-2:] == ["stock", "order.cancelled"]
    app.state.engine.dispose()
    code, out, _ = run("status")
    status = json.loads(out)
    assert status["stores"][0]["store"] == "N1" and status["stores"][0]["terminals"] == [
        {"code": "T1", "enrolled": True}
    ]
    assert run("create-api-key", "--store", "N1")[1]

    bad_row = tmp_path / "bad.csv"
    bad_row.write_text(
        "sku,name,price,tax_class,department,barcodes,weighed\nY1,Good,1.00,std,,,no\nY2,Bad,abc,std,,,no\n"
    )
    failures = [
        ("create-store", "N1", "Again"),
        ("create-store", "N2", "South", "--timezone", "Mars/Base"),
        ("create-store", "N3", "West", "--currency", "XXQ"),
        ("enroll-terminal", "NOPE", "T1"),
        ("import-catalog", str(tmp_path / "missing.csv")),
        ("import-catalog", str(bad_row)),
        ("place-order", "N1", "--sku", "X1", "--qty", "lots"),
        ("place-order", "N1", "--sku", "NOPE", "--qty", "1"),
        ("cancel-order", "WEB-404"),
        ("set-tax-class", "high", "1.5"),
        ("create-api-key",),  # a key names its stores, or says --all-stores
        ("create-store",),
        ("frobnicate",),
    ]
    for args in failures:
        code, out, err = run(*args)
        assert code == 2, args
        assert len(err.splitlines()) == 1 and "Traceback" not in err, (args, err)
    assert "line 3" in run("import-catalog", str(bad_row))[2]
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as s:
        assert s.scalar(select(Product.sku).where(Product.sku == "Y1")) is None  # all rows or none
    engine.dispose()
    assert cli.main(["--database-url", "nonsense://", "status"]) == 2
    assert "bad database URL" in capsys.readouterr().err


def test_cli_reads_the_database_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COUNTERLINE_CENTRAL_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert cli.main(["create-store", "E1", "From env"]) == 0
    assert (tmp_path / "env.db").exists()
    capsys.readouterr()
    assert cli.main(["status"]) == 0
    assert json.loads(capsys.readouterr().out)["stores"][0]["store"] == "E1"


def test_price_is_effective_dated(central: Central) -> None:
    with central.sessions.begin() as s:
        product = s.scalars(select(Product).where(Product.sku == "A1")).one()
        s.add(
            Price(
                product_id=product.id,
                price=Decimal("9.99"),
                effective_from=datetime.now(UTC) + timedelta(days=1),
            )
        )
    with central.sessions() as s:
        product = s.scalars(select(Product).where(Product.sku == "A1")).one()
        assert service.current_price(s, product).price == Decimal("2.50")  # type: ignore[union-attr]
        tomorrow = datetime.now(UTC) + timedelta(days=2)
        assert service.current_price(s, product, tomorrow).price == Decimal("9.99")  # type: ignore[union-attr]
