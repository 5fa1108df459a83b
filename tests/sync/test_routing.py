"""Stock at the central store and the routing of web orders (sync.central.stock, sync.central.routing), on SQLite
and PostgreSQL: imports, receipts and transfers reaching the stores' feeds, safety stock, pickup and ship routing
with their traces, hand-backs routed again, idempotency keys, a state machine over all of these in which reserved
never exceeds on hand, and on PostgreSQL many orders at once for a few units."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from sync import protocol
from sync.central import cli, ledger, routing, routing_plan, service, stock
from sync.central.models import Base, Location, Product, RoutingTrace, StockLevel, Store, WebOrder

if TYPE_CHECKING:
    from conftest import Central

LONDON = (51.5072, -0.1276)
MANCHESTER = (53.4808, -2.2426)
BRISTOL = (51.4545, -2.5879)
STORE = st.sampled_from(["S1", "S2", "S3"])
ITEM = st.sampled_from(["A1", "C3"])


def _setup(central: Central, where: dict[str, tuple[float, float]] | None = None) -> None:
    with central.sessions.begin() as s:
        if "S3" not in {st.code for st in s.scalars(select(Store))}:
            service.create_store(s, "S3", "Harbour")
        for code, (lat, lon) in (where or {}).items():
            store = service.get_store(s, code)
            store.latitude, store.longitude = lat, lon


def _receive(central: Central, store: str, sku: str, qty: str, location: str = "floor") -> None:
    with central.sessions.begin() as s:
        stock.receive(s, store, [stock.StockLine(sku, Decimal(qty))], location=location)


def _order(
    central: Central,
    store: str,
    lines: list[tuple[str, str]],
    fulfilment: str = "pickup",
    ship_to: tuple[float, float] | None = None,
) -> dict[str, Any]:
    request = protocol.OrderRequest.model_validate(
        {
            "store": store,
            "fulfilment": fulfilment,
            "lines": [{"sku": sku, "qty": qty} for sku, qty in lines],
            **({"ship_to": {"latitude": str(ship_to[0]), "longitude": str(ship_to[1])}} if ship_to else {}),
        }
    )
    with central.sessions.begin() as s:
        order = service.place_order(s, request)
        payload = service.order_payload(order)
        payload["held"] = [
            (ln.sku, ledger.qty_text(ln.qty), _where(s, ln.location_id), ln.state) for ln in order.lines
        ]
        return payload


def _where(s: Any, location_id: int) -> str:
    loc = s.get(Location, location_id)
    return f"{loc.store.code}/{loc.code}"


def _level(central: Central, store: str, sku: str, location: str = "floor") -> tuple[str, str]:
    with central.sessions() as s:
        level = s.scalar(
            select(StockLevel)
            .join(Location, Location.id == StockLevel.location_id)
            .join(Product, Product.id == StockLevel.product_id)
            .join(Store, Store.id == Location.store_id)
            .where(Store.code == store, Location.code == location, Product.sku == sku)
        )
        if level is None:
            return ("0.000", "0.000")
        loc, product = s.get(Location, level.location_id), s.get(Product, level.product_id)
        assert loc is not None and product is not None
        assert (
            ledger.ledger_on_hand(s, loc, product) == level.on_hand
        )  # the level always agrees with the ledger
        return (ledger.qty_text(level.on_hand), ledger.qty_text(level.reserved))


def _traces(central: Central, number: str) -> list[RoutingTrace]:
    with central.sessions() as s:
        _, rows = routing.traces(s, number)
        s.expunge_all()
        return rows


def _run(db_url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["--database-url", db_url, *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def test_import_receipt_and_transfer_reach_the_stores_feeds(
    central: Central, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, s1_cursor = central.pull_all(terminal="S1/T1")
    _, s2_cursor = central.pull_all(terminal="S2/T1")
    counted = tmp_path / "count.csv"
    counted.write_text("sku,location,quantity\nA1,floor,12\nC3,backroom,3.000\n", encoding="utf-8")
    run = lambda *a: _run(central.url, capsys, *a)  # noqa: E731
    assert run("import-stock", "S1", str(counted), "--reason", "opening stock") == (
        0,
        "counted 2 line(s) at S1 (opening stock); its tills see it at their next sync",
        "",
    )
    # A second count sets on-hand to the figure again: the movement is the difference.
    counted.write_text("sku,location,quantity\nA1,floor,10\n", encoding="utf-8")
    assert run("import-stock", "s1", str(counted), "--reason", "recount")[0] == 0
    assert run("receive", "S2", "--sku", "C3", "--qty", "5", "--reference", "PO-7")[0] == 0
    assert run("transfer", "S1", "S2", "--sku", "A1", "--qty", "4", "--reference", "TR-1")[1] == (
        "transferred 1 line(s) from S1 to S2: in transit as delivery TR-1 until received there"
    )
    assert _level(central, "S1", "A1") == ("6.000", "0.000")
    assert _level(central, "S1", "C3", "backroom") == ("3.000", "0.000")
    assert _level(central, "S2", "A1") == ("0.000", "0.000")  # in transit until S2 receives it
    assert _level(central, "S2", "C3") == ("5.000", "0.000")

    s1 = [(c["key"], c["payload"]["on_hand"]) for c in central.pull_all(s1_cursor, "S1/T1")[0]]
    assert s1 == [
        ("A1@floor", "12.000"),
        ("C3@backroom", "3.000"),
        ("A1@floor", "10.000"),
        ("A1@floor", "6.000"),
    ]
    s2 = [
        (c["type"], c["payload"].get("on_hand") or c["payload"]["number"])
        for c in central.pull_all(s2_cursor, "S2/T1")[0]
    ]
    assert s2 == [("stock", "5.000"), ("delivery", "TR-1")]

    # Bad input: one line on stderr, exit 2, nothing changed.
    counted.write_text("sku,qty\nA1,1\n", encoding="utf-8")
    failures = {
        ("import-stock", "S1", str(counted), "--reason", "x"): "first line must be the columns",
        ("import-stock", "S1", str(tmp_path / "none.csv"), "--reason", "x"): "No such file",
        ("receive", "S1", "--sku", "A1", "--qty", "lots"): "'lots' is not a number",
        ("receive", "S1", "--sku", "A1", "--qty", "1e3"): "not a plain number",
        ("receive", "S1", "--sku", "NOPE", "--qty", "1"): "unknown sku NOPE",
        ("receive", "S9", "--sku", "A1", "--qty", "1"): "no store 'S9'",
        ("receive", "S1", "--sku", "A1", "--qty", "1", "--location", "roof"): "has no location 'roof'",
        ("transfer", "S1", "S2", "--sku", "A1", "--qty", "7"): "only 6.000 of A1 can leave S1 floor",
        ("transfer", "S1", "S1", "--sku", "A1", "--qty", "1"): "from one store to another",
        ("set-safety-stock", "-1", "--store", "S1"): "must be 0 or more",
        ("set-safety-stock", "1"): "give a store, a sku or both",
        ("set-store-coordinates", "S1", "north", "0"): "latitude and longitude are numbers",
    }
    for args, message in failures.items():
        code, out, err = run(*args)
        assert code == 2 and message in err and "Traceback" not in err, (args, err)
    counted.write_text("sku,location,quantity\nA1,floor,-2\n", encoding="utf-8")
    assert "must be 0 or more" in run("import-stock", "S1", str(counted), "--reason", "x")[2]
    assert _level(central, "S1", "A1") == ("6.000", "0.000")


def test_safety_stock_keeps_stock_back_from_web_orders(
    central: Central, capsys: pytest.CaptureFixture[str]
) -> None:
    _receive(central, "S1", "C3", "5")
    run = lambda *a: _run(central.url, capsys, *a)  # noqa: E731
    assert run("set-safety-stock", "1", "--store", "S1")[0] == 0  # every product in S1
    assert run("set-safety-stock", "2", "--sku", "C3")[0] == 0  # C3 in every store
    with central.sessions() as s:
        assert stock.availability(s, "C3")[0]["available"] == "3.000"  # the product's own setting wins
    assert run("set-safety-stock", "4", "--store", "S1", "--sku", "C3")[0] == 0  # the most specific
    code, out, _ = run("availability", "C3")
    assert code == 0 and out.splitlines()[1].split() == ["S1", "floor", "5.000", "0.000", "4.000", "1.000"]
    with pytest.raises(routing.Unavailable) as refused:
        _order(central, "S1", [("C3", "2")])
    assert str(refused.value) == (
        "not available for pickup at S1 (only 1.000 of C3 available): no other store has every line"
    )
    assert refused.value.alternatives == {"pickup_at": [], "ship": False}
    assert _order(central, "S1", [("C3", "1")])["held"] == [("C3", "1.000", "S1/floor", "reserved")]
    with pytest.raises(routing.Unavailable):
        _order(central, "S1", [("C3", "1")])  # on hand 5, reserved 1, safety 4: nothing left to promise
    # The tills still see and sell what is on hand: safety stock is kept back from web orders only.
    assert _level(central, "S1", "C3") == ("5.000", "1.000")


def test_a_ship_order_keeps_the_safety_stock_back_as_the_most_specific_setting_says(central: Central) -> None:
    # The plan is read without locks and checked under them, each with its safety stock in the levels' statement.
    _setup(central, {"S1": LONDON, "S2": MANCHESTER, "S3": BRISTOL})
    for store in ("S1", "S2", "S3"):
        _receive(central, store, "C3", "5")
    near_manchester = (53.40, -2.20)

    def ship() -> str:
        order = _order(central, "S1", [("C3", "1")], fulfilment="ship", ship_to=near_manchester)
        [(_, _, where, _)] = order["held"]
        return str(where)

    with central.sessions.begin() as s:
        stock.set_safety_stock(s, "S2", None, Decimal(5))  # every product in S2: none of it to promise
    assert ship() == "S3/floor"  # the nearest, S2, keeps all 5 back
    with central.sessions.begin() as s:
        stock.set_safety_stock(s, None, "C3", Decimal(4))  # C3 in every store: the product's setting wins
    assert ship() == "S2/floor"  # S2: 5 - 4 = 1; S3: 5 - 1 reserved - 4 = 0
    with central.sessions.begin() as s:
        stock.set_safety_stock(s, "S2", "C3", Decimal(5))  # the most specific wins over both
    assert ship() == "S1/floor"  # S2: 5 - 1 - 5 < 0; S3: 0; S1: 5 - 4 = 1
    with pytest.raises(routing.Unavailable):
        ship()
    assert [_level(central, st, "C3") for st in ("S1", "S2", "S3")] == [("5.000", "1.000")] * 3


def test_pickup_in_stock_reserves_at_the_chosen_store(central: Central) -> None:
    _setup(central, {"S1": LONDON, "S2": MANCHESTER})
    _receive(central, "S1", "A1", "2")
    _receive(central, "S1", "C3", "1", location="backroom")
    _receive(central, "S2", "A1", "9")
    order = _order(central, "S1", [("A1", "2"), ("C3", "1")], fulfilment="curbside")
    assert order["store"] == "S1" and order["fulfilment"] == "curbside"
    assert order["held"] == [
        ("A1", "2.000", "S1/floor", "reserved"),
        ("C3", "1.000", "S1/backroom", "reserved"),
    ]
    assert _level(central, "S1", "A1") == ("2.000", "2.000")
    assert _level(central, "S2", "A1") == ("9.000", "0.000")
    [trace] = _traces(central, order["number"])
    assert trace.outcome == "curbside at S1: every line available there"
    assert trace.candidates[0]["stock"]["A1"] == {
        "on_hand": "2.000",
        "reserved": "0.000",
        "safety": "0.000",
        "available": "2.000",
    }
    assert trace.chosen[1] == {"line": 2, "sku": "C3", "qty": "1.000", "store": "S1", "location": "backroom"}


def test_pickup_out_of_stock_names_the_nearest_store_or_shipping(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(central, {"S1": LONDON, "S2": MANCHESTER, "S3": BRISTOL})
    _receive(central, "S1", "A1", "1")
    _receive(central, "S2", "A1", "5")
    _receive(central, "S3", "A1", "5")
    monkeypatch.setenv(service.STOREFRONT_KEY_ENV, "storefront-secret")
    body = {"store": "S1", "fulfilment": "pickup", "lines": [{"sku": "A1", "qty": "3"}]}
    refused = central.client.post("/v1/orders", json=body, headers={"X-Api-Key": "storefront-secret"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "not available for pickup at S1 (only 1.000 of A1 available): S3 has every line (170.5 km away); or ship it"
    )
    assert refused.json()["alternatives"] == {
        "pickup_at": [{"store": "S3", "distance_km": 170.5}, {"store": "S2", "distance_km": 262.0}],
        "ship": True,
    }
    assert _level(central, "S1", "A1") == ("1.000", "0.000")  # nothing reserved
    assert _level(central, "S3", "A1") == ("5.000", "0.000")


def test_ship_from_the_one_nearest_location_with_every_line(
    central: Central, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(central, {"S1": LONDON, "S2": MANCHESTER, "S3": BRISTOL})
    _receive(central, "S1", "A1", "9")
    _receive(central, "S1", "C3", "9")
    _receive(central, "S2", "A1", "9")  # nearest to the address but has no C3
    _receive(central, "S3", "A1", "9")
    _receive(central, "S3", "C3", "9")
    near_manchester = (53.40, -2.20)
    order = _order(central, "S1", [("A1", "2"), ("C3", "1")], fulfilment="ship", ship_to=near_manchester)
    assert order["held"] == [("A1", "2.000", "S3/floor", "reserved"), ("C3", "1.000", "S3/floor", "reserved")]
    assert order["store"] == "S3"  # its tills pick and pack it
    [trace] = _traces(central, order["number"])
    assert trace.outcome == "ship from S3/floor: one location has every line"
    assert [(c["store"], c.get("distance_km")) for c in trace.candidates if c["location"] == "floor"] == [
        ("S2", 9.4),
        ("S3", 217.9),
        ("S1", 253.0),
    ]
    # Without an address the ordering store comes first.
    plain = _order(central, "S1", [("A1", "1")], fulfilment="ship")
    assert plain["held"] == [("A1", "1.000", "S1/floor", "reserved")]
    # The operator's place-order takes the address too; a bad one is one line on stderr.
    run = lambda *a: _run(central.url, capsys, *a)  # noqa: E731
    code, number, _ = run(
        "place-order", "S1", "--sku", "A1", "--qty", "1", "--fulfilment", "ship", "--ship-to", "53.4,-2.2"
    )
    assert code == 0 and _traces(central, number)[0].chosen[0]["store"] == "S2"
    for bad in ("north", "53.4", "95,0"):
        code, _, err = run("place-order", "S1", "--sku", "A1", "--qty", "1", "--ship-to", bad)
        assert code == 2 and err == "error: --ship-to is LAT,LON in degrees, e.g. 53.48,-2.24"


def test_ship_split_over_the_fewest_locations(
    central: Central, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(central, {"S1": LONDON, "S2": MANCHESTER, "S3": BRISTOL})
    _receive(central, "S1", "A1", "4")
    _receive(central, "S2", "A1", "3")
    _receive(central, "S2", "B2", "1")
    _receive(central, "S3", "A1", "2")
    _receive(central, "S3", "C3", "3")
    _, s1_cursor = central.pull_all(terminal="S1/T1")
    order = _order(central, "S2", [("A1", "6"), ("C3", "1")], fulfilment="ship", ship_to=BRISTOL)
    # No one location has both; Bristol (nearest) and London together do: two shipments, not three.
    assert order["held"] == [
        ("A1", "2.000", "S3/floor", "reserved"),
        ("A1", "4.000", "S1/floor", "reserved"),
        ("C3", "1.000", "S3/floor", "reserved"),
    ]
    assert order["store"] == "S3"
    assert _level(central, "S2", "A1") == ("3.000", "0.000")
    # The other store holding a line is told of the order too.
    s1 = central.pull_all(s1_cursor, "S1/T1")[0]
    assert [c["type"] for c in s1] == ["stock", "order"] and s1[1]["key"] == order["id"]
    assert [(ln["store"], ln["location"], ln["state"]) for ln in s1[1]["payload"]["lines"]] == [
        ("S3", "floor", "reserved"),
        ("S1", "floor", "reserved"),
        ("S3", "floor", "reserved"),
    ]
    code, out, _ = _run(central.url, capsys, "order-trace", order["number"])
    assert code == 0
    assert "ship from S3/floor, S1/floor: split over 2 locations" in out
    assert "candidate S3/floor 0.0 km: A1 2.000 available, C3 3.000 available" in out
    assert "chose line 1 A1 x 4.000 from S1/floor" in out
    monkeypatch.setenv(routing.RULE_ENV, "split=no")  # the rule is configurable: never split
    with pytest.raises(routing.Unavailable, match="cannot ship"):
        _order(central, "S1", [("A1", "1"), ("C3", "1")], fulfilment="ship")


def test_short_pick_is_handed_back_and_routed_again(
    central: Central, capsys: pytest.CaptureFixture[str]
) -> None:
    _receive(central, "S1", "A1", "3")
    _receive(central, "S2", "A1", "5")
    order = _order(central, "S1", [("A1", "3")], fulfilment="ship")
    assert order["held"] == [("A1", "3.000", "S1/floor", "reserved")]
    _, s2_cursor = central.pull_all(terminal="S2/T1")
    url = f"/v1/orders/{order['id']}/lines/1/handback"
    # Another store's till cannot hand back S1's line, and a bad body is refused alone.
    assert central.client.post(url, json={"missing": "2"}, headers=central.auth("S2/T1")).status_code == 404
    assert central.client.post(url, json={"missing": "-2"}, headers=central.auth("S1/T1")).status_code == 422
    assert central.client.post(url, json={"missing": "4"}, headers=central.auth("S1/T1")).status_code == 422
    back = central.client.post(url, json={"missing": "2", "reason": "short"}, headers=central.auth("S1/T1"))
    assert back.status_code == 200, back.text
    # What S1 reported missing left its stock; the line went to S2, which hears of the order.
    assert _level(central, "S1", "A1") == ("1.000", "0.000")
    assert _level(central, "S2", "A1") == ("5.000", "3.000")
    assert [c["type"] for c in central.pull_all(s2_cursor, "S2/T1")[0]] == ["stock", "order"]
    place, again = _traces(central, order["number"])
    assert (
        again.kind == "handback"
        and again.outcome == "line 1 short: ship from S2/floor: one location has every line"
    )
    assert again.chosen == [{"line": 1, "sku": "A1", "qty": "3.000", "store": "S2", "location": "floor"}]

    # A pickup can only go again within its store; damaged goods go to quarantine; nothing left: unavailable.
    _receive(central, "S1", "C3", "2")
    pickup = _order(central, "S1", [("C3", "2")])
    code, out, _ = _run(central.url, capsys, "hand-back", pickup["number"], "1", "1", "--reason", "damaged")
    assert (code, out) == (
        0,
        f"order {pickup['number']}: line 1 handed back; no location can take it, nothing is held",
    )
    # The store keeps the one it has on the line; the damaged one is a line of its own, held nowhere.
    assert _level(central, "S1", "C3") == ("1.000", "1.000")
    assert _level(central, "S1", "C3", "quarantine") == ("1.000", "0.000")
    with central.sessions() as s:
        kept, gone = service.find_order(s, pickup["number"]).lines
        assert (kept.qty, kept.state, gone.qty, gone.state) == (1, "reserved", 1, "unavailable")
    assert "not available for pickup at S1" in _traces(central, pickup["number"])[-1].outcome
    with central.sessions.begin() as s:
        with pytest.raises(service.Conflict, match="nothing is held"):
            routing.hand_back(s, pickup["number"], 2, Decimal("1"), "short")
    with central.sessions.begin() as s:
        service.cancel_order(s, pickup["number"])  # releases what is held: nothing for the unavailable line
    assert _level(central, "S1", "C3") == ("1.000", "0.000")


def test_idempotency_key_returns_the_same_order(central: Central, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(service.STOREFRONT_KEY_ENV, "storefront-secret")
    _receive(central, "S1", "A1", "5")
    body = {"store": "S1", "lines": [{"sku": "A1", "qty": "2"}], "customer": {"name": "Ann"}}

    def post(json: dict[str, Any], key: str | None) -> Any:
        headers = {"X-Api-Key": "storefront-secret", **({"Idempotency-Key": key} if key else {})}
        return central.client.post("/v1/orders", json=json, headers=headers)

    first = post(body, "order-7f3a")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = post(dict(reversed(list(body.items()))), "order-7f3a")  # the same request, keys in another order
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert _level(central, "S1", "A1") == ("5.000", "2.000")  # reserved once
    other = post(dict(body, lines=[{"sku": "A1", "qty": "3"}]), "order-7f3a")
    assert other.status_code == 422
    assert other.json()["detail"] == (
        f"Idempotency-Key already used for order {first.json()['number']} with another request"
    )
    assert post(body, "x" * 129).status_code == 422
    assert post(body, None).json()["number"] != first.json()["number"]  # no key: a new order
    assert _level(central, "S1", "A1") == ("5.000", "4.000")


@pytest.mark.postgres
def test_fifty_orders_at_once_for_ten_units(central: Central) -> None:
    if not central.url.startswith("postgresql"):
        pytest.skip("the concurrent case runs on PostgreSQL (SQLite has one writer at a time)")
    _receive(central, "S1", "C3", "10")
    _receive(central, "S2", "C3", "10")
    start = threading.Barrier(50)
    request = protocol.OrderRequest(
        store="S1", fulfilment="pickup", lines=[protocol.OrderLineRequest(sku="C3", qty=Decimal(1))]
    )

    def one(_: int) -> str:
        start.wait()
        try:
            with central.sessions.begin() as s:
                return service.place_order(s, request).number
        except routing.Unavailable:
            return "refused"

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(one, range(50)))  # any other error (a deadlock) fails the test here
    elapsed = time.perf_counter() - began
    placed = [o for o in outcomes if o != "refused"]
    assert len(placed) == 10 and len(set(placed)) == 10
    assert _level(central, "S1", "C3") == ("10.000", "10.000")
    assert _level(central, "S2", "C3") == ("10.000", "0.000")  # pickup at S1 never takes S2's stock
    available = [
        Decimal(c["payload"]["available"])
        for c in central.pull_all(terminal="S1/T1")[0]
        if c["type"] == "stock"
    ]
    assert min(available) == 0 and len(available) == 11
    print(f"50 concurrent orders for 10 units: {elapsed * 1000:.0f} ms")


class _Orders(RuleBasedStateMachine):
    """Receipts, transfers, safety stock, web orders (pickup and ship), cancellations and hand-backs in any order:
    reserved never exceeds on hand nor goes below 0, it is always what the open orders hold, and every level is
    the sum of its ledger."""

    central: Central

    @rule(store=STORE, sku=ITEM, qty=st.integers(1, 5))
    def receive(self, store: str, sku: str, qty: int) -> None:
        _receive(self.central, store, sku, str(qty))

    @rule(a=STORE, b=STORE, sku=ITEM, qty=st.integers(1, 4))
    def transfer(self, a: str, b: str, sku: str, qty: int) -> None:
        with self.central.sessions.begin() as s:
            try:
                stock.transfer(s, a, b, [stock.StockLine(sku, Decimal(qty))])
            except stock.StockError:
                pass  # the same store, or not that much free to leave: refused, nothing changed

    @rule(store=STORE, sku=ITEM, qty=st.integers(0, 3))
    def safety(self, store: str, sku: str, qty: int) -> None:
        with self.central.sessions.begin() as s:
            stock.set_safety_stock(s, store, sku, Decimal(qty))

    @rule(
        store=STORE,
        fulfilment=st.sampled_from(["pickup", "ship"]),
        lines=st.lists(st.tuples(ITEM, st.integers(1, 4)), min_size=1, max_size=3),
    )
    def order(self, store: str, fulfilment: str, lines: list[tuple[str, int]]) -> None:
        try:
            _order(self.central, store, [(sku, str(q)) for sku, q in lines], fulfilment=fulfilment)
        except routing.Unavailable:
            pass

    def _open(self) -> list[tuple[str, list[Decimal]]]:
        with self.central.sessions() as s:
            orders = s.scalars(
                select(WebOrder)
                .where(WebOrder.status.not_in(protocol.ORDER_FINAL_STATES))
                .order_by(WebOrder.number)
            )
            return [
                (o.number, [ln.qty if ln.state == "reserved" else Decimal(0) for ln in o.lines])
                for o in orders
            ]

    @rule(pick=st.integers(0, 1000))
    def cancel(self, pick: int) -> None:
        open_orders = self._open()
        if open_orders:
            with self.central.sessions.begin() as s:
                service.cancel_order(s, open_orders[pick % len(open_orders)][0])

    @rule(pick=st.integers(0, 1000), part=st.integers(1, 4), reason=st.sampled_from(routing.HANDBACK_REASONS))
    def hand_back(self, pick: int, part: int, reason: str) -> None:
        held = [(n, i, q) for n, qtys in self._open() for i, q in enumerate(qtys, 1) if q > 0]
        if held:
            number, line, qty = held[pick % len(held)]
            with self.central.sessions.begin() as s:
                routing.hand_back(s, number, line, min(qty, Decimal(part)), reason)

    @invariant()
    def reserved_is_what_open_orders_hold(self) -> None:
        with self.central.sessions() as s:
            held: dict[tuple[int, int], Decimal] = {}
            for order in s.scalars(
                select(WebOrder).where(WebOrder.status.not_in(protocol.ORDER_FINAL_STATES))
            ):
                for ln in order.lines:
                    if ln.state == "reserved":
                        key = (ln.location_id, ln.product_id)
                        held[key] = held.get(key, Decimal(0)) + ln.qty
            for level in s.scalars(select(StockLevel)):
                assert 0 <= level.reserved <= level.on_hand
                assert level.reserved == held.get((level.location_id, level.product_id), Decimal(0))
                loc, product = s.get(Location, level.location_id), s.get(Product, level.product_id)
                assert loc is not None and product is not None
                assert ledger.ledger_on_hand(s, loc, product) == level.on_hand


def test_reserved_never_exceeds_on_hand(central: Central) -> None:
    _setup(central, {"S1": LONDON, "S2": MANCHESTER, "S3": BRISTOL})
    _Orders.central = central
    run_state_machine_as_test(
        _Orders,
        settings=settings(
            max_examples=10, stateful_step_count=12, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )


def test_a_ship_plan_is_checked_again_under_the_locks_and_chosen_again_when_its_stock_went(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ship order chooses its plan without locks and locks only that plan's stores; when another order took the
    stock between the two (simulated here in the order's own transaction, after the read), the plan is dropped,
    its locks with it, and the order is routed again under every candidate store's lock."""
    _setup(central, {"S1": LONDON, "S2": MANCHESTER, "S3": BRISTOL})
    _receive(central, "S2", "A1", "4")
    _receive(central, "S3", "A1", "4")
    read = routing_plan.read_for_plan

    def read_then_lose_s2(session: Any, *args: Any) -> Any:
        cands = read(session, *args)  # S2 (nearest) has 4 free as read here ...
        levels = Base.metadata.tables["stock_levels"]
        s2 = session.scalar(select(Store.id).where(Store.code == "S2"))
        session.connection().execute(  # ... then "another order" reserves them all, behind the ORM's back
            levels.update().where(levels.c.store_id == s2).values(reserved=levels.c.on_hand)
        )
        return cands

    monkeypatch.setattr(routing_plan, "read_for_plan", read_then_lose_s2)
    order = _order(central, "S1", [("A1", "2")], fulfilment="ship", ship_to=(53.40, -2.20))
    assert order["held"] == [("A1", "2.000", "S3/floor", "reserved")]
    [trace] = _traces(central, order["number"])
    assert trace.outcome == (
        "ship from S3/floor: one location has every line"
        " (chosen again under every candidate store's lock: the first plan's stock had gone)"
    )
    assert _level(central, "S2", "A1") == ("4.000", "4.000")  # what the other order took
    assert _level(central, "S3", "A1") == ("4.000", "2.000")
    monkeypatch.setattr(routing_plan, "read_for_plan", read)
    # Without the race the plan holds under its own locks: no second routing.
    _receive(central, "S2", "A1", "3")
    plain = _order(central, "S1", [("A1", "1")], fulfilment="ship", ship_to=(53.40, -2.20))
    assert plain["held"] == [("A1", "1.000", "S2/floor", "reserved")]
    assert _traces(central, plain["number"])[0].outcome == "ship from S2/floor: one location has every line"


def test_idempotency_keys_are_each_storefront_credentials_own(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(service.STOREFRONT_KEY_ENV, "storefront-secret")
    _receive(central, "S1", "A1", "9")
    with central.sessions.begin() as s:
        _, shop_b = service.create_api_key(s, "shop B", all_stores=True)
    body = {"store": "S1", "lines": [{"sku": "A1", "qty": "1"}]}

    def post(key: str, json: dict[str, Any] = body) -> Any:
        headers = {"X-Api-Key": key, "Idempotency-Key": "cart-1"}
        return central.client.post("/v1/orders", json=json, headers=headers)

    a, b = post("storefront-secret"), post(shop_b)
    assert a.status_code == b.status_code == 201
    assert a.json()["number"] != b.json()["number"]  # the same key from two storefronts: two orders
    assert "Idempotent-Replayed" not in b.headers
    again = post(shop_b)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["number"] == b.json()["number"]
    assert post(shop_b, dict(body, lines=[{"sku": "A1", "qty": "2"}])).status_code == 422
    assert _level(central, "S1", "A1") == ("9.000", "2.000")


def test_paid_or_to_be_paid_at_pickup_is_kept_and_sent_to_the_tills(
    central: Central, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(service.STOREFRONT_KEY_ENV, "storefront-secret")
    _receive(central, "S1", "A1", "9")
    headers = {"X-Api-Key": "storefront-secret"}

    def post(**extra: Any) -> Any:
        body = {"store": "S1", "lines": [{"sku": "A1", "qty": "1"}], **extra}
        return central.client.post("/v1/orders", json=body, headers=headers)

    at_pickup, paid, unsaid = post(paid=False), post(paid=True), post()
    assert [r.json()["paid"] for r in (at_pickup, paid, unsaid)] == [False, True, True]
    ship = post(paid=False, fulfilment="ship")
    assert ship.status_code == 422 and "paid cannot be false for ship" in ship.json()["detail"]
    assert post(paid="no").status_code == 422  # a boolean, nothing else
    feed = [c for c in central.pull_all(terminal="S1/T1")[0] if c["type"] == "order"]
    assert {c["key"]: c["payload"]["paid"] for c in feed} == {
        at_pickup.json()["id"]: False,
        paid.json()["id"]: True,
        unsaid.json()["id"]: True,
    }
    # The operator's place-order says it too.
    code, number, _ = _run(
        central.url, capsys, "place-order", "S1", "--sku", "A1", "--qty", "1", "--pay-at-pickup"
    )
    assert code == 0
    with central.sessions() as s:
        assert service.order_payload(service.find_order(s, number))["paid"] is False
    code, _, err = _run(
        central.url,
        capsys,
        "place-order",
        "S1",
        "--sku",
        "A1",
        "--qty",
        "1",
        "--fulfilment",
        "ship",
        "--pay-at-pickup",
    )
    assert code != 0 and "paid cannot be false for ship" in err


def test_a_request_of_an_older_storefront_digests_as_before() -> None:
    old = protocol.OrderRequest.model_validate({"store": "S1", "lines": [{"sku": "A1", "qty": "1"}]})
    assert routing.request_digest(old) == routing.request_digest(
        protocol.OrderRequest.model_validate(
            {"store": "S1", "lines": [{"sku": "A1", "qty": "1"}], "paid": None}
        )
    )
    said = protocol.OrderRequest.model_validate(
        {"store": "S1", "lines": [{"sku": "A1", "qty": "1"}], "paid": False}
    )
    assert routing.request_digest(said) != routing.request_digest(old)


@pytest.mark.postgres
@pytest.mark.parametrize("fulfilment", ["pickup", "ship"])
def test_two_retries_at_once_with_one_key_place_one_order(central: Central, fulfilment: str) -> None:
    """Retries racing the first request under one Idempotency-Key wait for it under the locks (a ship order's plan
    stores, and the ordering store) and find its order: one order, reserved once."""
    if not central.url.startswith("postgresql"):
        pytest.skip("the concurrent case runs on PostgreSQL (SQLite has one writer at a time)")
    _setup(central, {"S1": LONDON, "S2": MANCHESTER})
    _receive(central, "S2", "A1", "9")
    if fulfilment == "pickup":
        _receive(central, "S1", "A1", "9")
    # A ship order ordered at S1 goes from S2 (the only stock): S1 is locked only for the key.
    request = protocol.OrderRequest.model_validate(
        {"store": "S1", "fulfilment": fulfilment, "lines": [{"sku": "A1", "qty": "2"}]}
    )
    start = threading.Barrier(6)

    def one(_: int) -> str:
        start.wait()
        with central.sessions.begin() as s:
            return service.place_order(s, request, "retry-key", "key:1").number

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = set(pool.map(one, range(6)))
    assert len(numbers) == 1
    with central.sessions() as s:
        assert len(s.scalars(select(WebOrder)).all()) == 1
    assert sum(Decimal(_level(central, st, "A1")[1]) for st in ("S1", "S2")) == 2
