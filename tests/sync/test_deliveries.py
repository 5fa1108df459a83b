"""Expected deliveries and transfers through the real central store: a purchase order from the operator's CSV (with
a sealed case's SSCC) received at a till with an over-receipt and an unexpected item, the differences kept at the
central; a transfer sent at one store's till and received at the other's, on PostgreSQL, with the stock equal at both
ends and at the central store, and the receipt posted exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.db.models import Barcode, CentralStock, OutboxEvent, Product
from app.domain.barcodes import gtin_check_digit
from app.services import receiving
from sync import protocol
from sync.central import cli, service
from sync.central.models import Delivery, StockException, Store, Terminal
from tests.sync.conftest import _empty_postgres
from tests.sync.fleet import Hub, Till, central_ledger, check_converged, serve_on_loopback


def _sscc(serial: int) -> str:
    body = f"0400638{serial:010d}"
    return body + str(gtin_check_digit(body))


def _unit_code(till: Till, sku: str) -> str:
    with till.factory() as s:
        code = s.scalars(
            select(Barcode.code).join(Product).where(Product.sku == sku, Barcode.pack_qty == 1)
        ).first()
        assert code is not None
        return code


def _receive(
    till: Till, number: str, codes: list[str], into: str = "floor", note: str = ""
) -> receiving.Closed:
    """Receive the delivery by these scans; whatever the rules refuse is taken in as a difference."""
    with till.factory() as s:
        delivery_id = receiving.find_delivery(s, number)
    for code in codes:
        with till.factory.begin() as s:
            view = receiving.scan(s, till.actor, delivery_id, code)
            if view.refused is not None:
                receiving.take_in(s, till.actor, delivery_id, view.refused.sku, view.refused.units)
    with till.factory.begin() as s:
        return receiving.close(s, till.actor, delivery_id, into, note)


def _central_delivery(hub: Hub, number: str) -> Delivery:
    with hub.sessions() as s:
        d = s.scalars(
            select(Delivery).where(Delivery.number == number).options(selectinload(Delivery.lines))
        ).one()
        s.expunge(d)
        return d


def test_a_purchase_order_with_a_sealed_case_over_and_unexpected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    hub = Hub.start(url)
    try:
        case = _sscc(7)
        csv = tmp_path / "po.csv"
        csv.write_text(f"sku,qty,sscc\nA1,6,{case}\n", encoding="utf-8")
        run = ["--database-url", url]
        assert (
            cli.main([*run, "expect-delivery", "S1", str(csv), "--supplier", "Acme", "--number", "PO-9"]) == 0
        )
        assert "S1 expects PO-9 from Acme: 1 line(s)" in capsys.readouterr().out
        assert (
            cli.main([*run, "expect-delivery", "S1", str(csv), "--supplier", "Acme", "--number", "PO-9"]) == 2
        )
        assert "already expects a delivery PO-9" in capsys.readouterr().err
        csv.write_text("sku,qty,sscc\nA1,6,123\n", encoding="utf-8")
        assert (
            cli.main([*run, "expect-delivery", "S1", str(csv), "--supplier", "Acme", "--number", "PO-8"]) == 2
        )
        assert "not 18 digits" in capsys.readouterr().err

        till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
        till.sync()
        with till.factory() as s:
            assert [(d.number, d.source, d.lines) for d in receiving.expected(s)] == [("PO-9", "Acme", 1)]
        # The sealed case (6 x A1), one A1 more (over), and C3 that was never ordered.
        a1, c3 = _unit_code(till, "A1"), _unit_code(till, "C3")
        closed = _receive(till, "PO-9", [case, a1, c3], into="backroom")
        assert {(d["sku"], d["kind"]) for d in closed.discrepancies} == {("A1", "over"), ("C3", "unexpected")}
        till.sync()
        assert till.refused() == []
        delivery = _central_delivery(hub, "PO-9")
        assert delivery.status == "received"
        assert [(d["sku"], d["kind"], d["received"]) for d in delivery.discrepancies] == [
            ("A1", "over", "7.000"),
            ("C3", "unexpected", "1.000"),
        ]
        assert central_ledger(hub, "S1") == {
            ("A1", "backroom"): Decimal(7),
            ("C3", "backroom"): Decimal(1),
        }
        check_converged(hub, [till])
        assert cli.main([*run, "delivery-differences", "--store", "S1"]) == 0
        out = capsys.readouterr().out
        assert "PO-9" in out and "unexpected" in out and "expected 6.000, received 7.000" in out
        # The same report again (a lost answer, sent twice) posts nothing more.
        with till.factory() as s:
            event = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "delivery.received")).one()
            again = {
                "id": event.id,
                "type": event.type,
                "occurred_at": event.created_at.isoformat(),
                "payload": event.payload,
            }
        with hub.sessions() as s:
            terminal_id = s.scalars(
                select(Terminal.id).join(Store).where(Store.code == "S1", Terminal.code == "T1")
            ).one()
        assert [r.status for r in service.push(hub.sessions, terminal_id, [again])] == ["duplicate"]
        check_converged(hub, [till])
    finally:
        hub.close()


@pytest.fixture
def pg_hub(pg_url: str) -> Iterator[Hub]:
    _empty_postgres(pg_url)
    h = Hub.start(pg_url)
    yield h
    h.close()


def _seen_by(till: Till, sku: str, location: str = "floor") -> Decimal:
    with till.factory() as s:
        row = s.get(CentralStock, (sku, location))
        return row.on_hand if row else Decimal(0)


@pytest.mark.postgres
def test_a_transfer_between_two_stores_end_to_end_on_postgres(
    pg_hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = pg_hub
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t2 = Till.enrol(hub, tmp_path / "t2", "S2", "T1")
    t1.sync()
    t2.sync()
    t1.receive("A1", 10)
    t1.sync()

    # Picked and sent at S1: out of its floor at once.
    code = _unit_code(t1, "A1")
    with t1.factory() as s:
        picked = [receiving.pick(s, code) for _ in range(4)]
    with t1.factory.begin() as s:
        sent = receiving.transfer_out(s, t1.actor, "S2", [(p.product_id, p.qty) for p in picked])
    t1.sync()
    assert t1.refused() == []
    assert central_ledger(hub, "S1") == {("A1", "floor"): Decimal(6)}
    assert central_ledger(hub, "S2") == {}  # in transit
    assert _central_delivery(hub, sent.number).status == "expected"

    # Expected at S2, received there by scan.
    t2.sync()
    with t2.factory() as s:
        assert [(d.number, d.kind, d.source, d.expected) for d in receiving.expected(s)] == [
            (sent.number, "transfer", "S1", Decimal(4))
        ]
    closed = _receive(t2, sent.number, [_unit_code(t2, "A1")] * 4)
    assert closed.discrepancies == []
    t2.sync()
    t1.sync()
    assert t2.refused() == []
    assert _central_delivery(hub, sent.number).status == "received"
    assert central_ledger(hub, "S1") == {("A1", "floor"): Decimal(6)}
    assert central_ledger(hub, "S2") == {("A1", "floor"): Decimal(4)}
    assert t1.ledger()[("A1", "floor")] == 6 and t2.ledger()[("A1", "floor")] == 4
    assert _seen_by(t1, "A1") == 6 and _seen_by(t2, "A1") == 4
    check_converged(hub, [t1, t2])

    # The operator's transfer goes the same way: out of S2 now, expected at S1 until received there.
    assert (
        cli.main(
            [
                "--database-url",
                hub.app.state.engine.url.render_as_string(hide_password=False),
                "transfer",
                "S2",
                "S1",
                "--sku",
                "A1",
                "--qty",
                "1",
                "--reference",
                "TR-OPS-1",
            ]
        )
        == 0
    )
    assert "in transit as delivery TR-OPS-1" in capsys.readouterr().out
    t1.sync()
    _receive(t1, "TR-OPS-1", [code])
    t1.sync()
    assert central_ledger(hub, "S1") == {("A1", "floor"): Decimal(7)}
    assert central_ledger(hub, "S2") == {("A1", "floor"): Decimal(3)}

    # A transfer to a store nobody knows: the goods have left, so it stands, flagged for a person.
    with t1.factory.begin() as s:
        receiving.transfer_out(s, t1.actor, "S9", [(picked[0].product_id, Decimal(1))])
    t1.sync()
    assert t1.refused() == []
    with hub.sessions() as s:
        flagged = s.scalars(
            select(StockException.kind).where(StockException.kind == "transfer_nowhere")
        ).all()
    assert flagged == ["transfer_nowhere"]
    assert protocol.TRANSFER_SENT in protocol.EVENT_TYPES


@pytest.mark.postgres
def test_two_stores_sending_to_each_other_at_once_never_wait_on_each_other(
    pg_hub: Hub, tmp_path: Path
) -> None:
    """Each push holds only its own store's lock; the deliveries reach the other store after it. Two stores pushing
    transfers to each other at the same moment (the real service in its own process, PostgreSQL) both go through,
    and every delivery arrives once."""
    hub = pg_hub
    with serve_on_loopback(hub.app.state.engine.url.render_as_string(hide_password=False)) as base:
        tills = [
            Till.enrol(hub, tmp_path / store, store, "T1", transport=httpx.HTTPTransport(), base=base)
            for store in ("S1", "S2")
        ]
        for till in tills:
            till.sync()
            till.receive("A1", 30)
            till.sync()
        for round_ in range(2):
            for till, other in zip(tills, ("S2", "S1"), strict=True):
                code = _unit_code(till, "A1")
                with till.factory() as s:
                    item = receiving.pick(s, code)
                with till.factory.begin() as s:
                    receiving.transfer_out(s, till.actor, other, [(item.product_id, Decimal(round_ + 1))])
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda t: t.sync(push_batch=1), tills))
        for till in tills:
            till.sync()
            with till.factory() as s:
                numbers = [d.number for d in receiving.expected(s)]
            assert len(numbers) == 2
            for number in numbers:
                _receive(
                    till, number, [_unit_code(till, "A1")] * int(_central_delivery(hub, number).lines[0].qty)
                )
            till.sync()
        for till in tills:
            till.sync()
            assert till.refused() == []
        assert central_ledger(hub, "S1") == central_ledger(hub, "S2") == {("A1", "floor"): Decimal(30)}
        check_converged(hub, tills)
