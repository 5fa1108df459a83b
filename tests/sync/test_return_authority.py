"""The central store is the authority over returns: a return that takes back more of a line than was sold minus
every earlier return (at any till, any store), or refunds a tender more than it paid, is refused with its reason
when the till decided online, and stands with the conflict parked for review when the till decided offline (its
goods moved already); either way nothing is applied twice. Also: a web order returned at a desk, and the rolling
no-receipt limit per customer."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from uuid6 import uuid7

from sync import protocol
from sync.central import cli, service
from sync.central.models import Notice, Return, StockException, StockLevel, Terminal, WebOrder
from tests.sync.test_boundary import event, movement, sale

if TYPE_CHECKING:
    from conftest import Central


def a_return(
    original: dict[str, Any] | None,
    qty: str = "1",
    refunds: list[tuple[str, str]] | None = None,
    offline: bool = False,
    terminal: str = "T1",
    store: str = "S1",
    customer_id: str | None = None,
    web_order_id: str | None = None,
    price: str = "2.50",
) -> dict[str, Any]:
    """A `return.completed` as the Returns desk writes it: one line of A1, positive movements, refunds negative."""
    amount = str((Decimal(qty) * Decimal(price)).quantize(Decimal("0.01")))
    refunds = refunds if refunds is not None else [("cash", amount)]
    payload: dict[str, Any] = {
        "order_id": str(uuid7()),
        "number": f"{store}-{terminal}-R{uuid7().hex[-6:]}",
        "store": store,
        "terminal": terminal,
        "completed_at": datetime.now(UTC).isoformat(),
        "lines": [
            {"line_no": 1, "sku": "A1", "qty": qty, "unit_price": price, "amount": amount, "tax": "0.00"}
        ],
        "payments": [{"kind": kind, "amount": f"-{value}"} for kind, value in refunds],
        "totals": {"total": amount, "tax_total": "0.00"},
        "movements": [movement("A1", qty, "return")],
        "offline": offline,
    }
    if original is not None:
        payload["original_order_id"] = original["order_id"]
    if customer_id is not None:
        payload["customer_id"] = customer_id
    if web_order_id is not None:
        payload["web_order_id"] = web_order_id
    return payload


def on_hand(central: Central, store: str = "S1") -> Decimal:
    with central.sessions() as s:
        shop = service.get_store(s, store)
        total = s.scalar(
            select(func.coalesce(func.sum(StockLevel.on_hand), 0)).where(StockLevel.store_id == shop.id)
        )
        return Decimal(total or 0)


def reviews(central: Central, kind: str = "return_over") -> list[StockException]:
    with central.sessions() as s:
        return list(s.scalars(select(StockException).where(StockException.kind == kind)))


def refunded(central: Central, sale_id: str) -> dict[str, Any]:
    with central.sessions() as s:
        state = service.returnable(s, uuid.UUID(sale_id))
        assert state is not None
        return state.payload()


def test_four_one_unit_returns_of_a_three_unit_line_three_apply_the_fourth_is_refused_online(
    central: Central,
) -> None:
    sold = sale(qty="3")
    assert central.push([event("sale.completed", sold)])[0]["status"] == "applied"
    start = on_hand(central)
    # Three returns, at two tills of the store and one of another store: each takes one unit back.
    results = []
    for terminal in ("S1/T1", "S1/T2", "S2/T1"):
        store, till = terminal.split("/")
        results += central.push(
            [event("return.completed", a_return(sold, terminal=till, store=store))], terminal
        )
    assert [r["status"] for r in results] == ["applied"] * 3
    before = on_hand(central)
    fourth = central.push([event("return.completed", a_return(sold, terminal="T2"))], "S1/T2")[0]
    assert fourth["status"] == "rejected"
    assert "A1: 1 taken back, 0 left of 3 sold" in fourth["reason"], fourth["reason"]
    assert on_hand(central) == before == start + 2  # two of the three came back to S1, one to S2
    assert on_hand(central, "S2") == Decimal(1)
    state = refunded(central, sold["order_id"])
    assert state["lines"] == [{"sku": "A1", "sold": "3.000", "returned": "3.000", "left": "0.000"}]
    assert state["refunded"] == state["paid"] == "7.50"
    assert reviews(central) == []
    # What is left to take back, as a till asks before it decides.
    asked = central.client.get(f"/v1/returns/{sold['order_id']}", headers=central.auth())
    assert asked.status_code == 200 and asked.json()["lines"][0]["left"] == "0.000"
    unknown = central.client.get(f"/v1/returns/{uuid7()}", headers=central.auth())
    assert unknown.status_code == 404 and "not synced" in unknown.json()["detail"]


def test_the_fourth_decided_offline_stands_and_is_parked_for_review_once(central: Central) -> None:
    sold = sale(qty="3")
    central.push([event("sale.completed", sold)])
    for _ in range(3):
        assert central.push([event("return.completed", a_return(sold))])[0]["status"] == "applied"
    before = on_hand(central)
    late = event("return.completed", a_return(sold, terminal="T2", offline=True))
    assert central.push([late], "S1/T2")[0]["status"] == "applied"
    # Sent again (a lost answer): a duplicate, nothing moves or is parked twice.
    assert central.push([late], "S1/T2")[0]["status"] == "duplicate"
    assert on_hand(central) == before + 1  # the goods came back at the till: the ledger says so once
    parked = reviews(central)
    assert len(parked) == 3  # the unit, and the refund beyond what the sale's cash (and payments in all) paid
    assert {p.sku for p in parked} == {"A1", ""}
    assert all(p.detail["terminal"] == "T2" and not p.resolved for p in parked)
    with central.sessions() as s:
        listed = service.list_exceptions(s, "S1")
        assert {e["kind"] for e in listed} >= {"return_over"}
        assert s.scalar(select(func.count()).select_from(Return).where(Return.over.is_(True))) == 1


def test_no_tender_gets_back_more_than_it_paid_over_all_the_returns(central: Central) -> None:
    sold = sale(qty="2")  # 5.00: 3.00 card, 2.00 cash
    sold["payments"] = [{"kind": "card", "amount": "3.00"}, {"kind": "cash", "amount": "2.00"}]
    central.push([event("sale.completed", sold)])
    first = a_return(sold, refunds=[("card", "2.50")])
    assert central.push([event("return.completed", first)])[0]["status"] == "applied"
    # The card has 0.50 left: a second unit's refund to the card alone goes over it.
    over = central.push([event("return.completed", a_return(sold, refunds=[("card", "2.50")]))])[0]
    assert over["status"] == "rejected" and "card refund of 2.50: 0.50 left of 3.00 paid" in over["reason"]
    split = a_return(sold, refunds=[("card", "0.50"), ("cash", "2.00")])
    assert central.push([event("return.completed", split)])[0]["status"] == "applied"
    state = refunded(central, sold["order_id"])
    assert state["tenders"] == [
        {"kind": "card", "paid": "3.00", "refunded": "3.00", "left": "0.00"},
        {"kind": "cash", "paid": "2.00", "refunded": "2.00", "left": "0.00"},
    ]
    # Store credit is the last resort: it may take what the others cannot, within what the sale was paid.
    again = central.push(
        [event("return.completed", a_return(sold, qty="1", refunds=[("store_credit", "0.01")]))]
    )
    assert again[0]["status"] == "rejected"  # nothing left of the line nor of the money


def test_a_return_of_a_sale_not_synced_yet(central: Central) -> None:
    ghost = sale(qty="1")
    refused = central.push([event("return.completed", a_return(ghost))])[0]
    assert refused["status"] == "rejected" and "not synced yet" in refused["reason"]
    parked = central.push([event("return.completed", a_return(ghost, offline=True))])[0]
    assert parked["status"] == "applied"
    assert [p.detail["reason"] for p in reviews(central)][0].endswith("(not synced yet)")


def test_a_web_order_returned_at_the_desk_is_marked_and_the_customer_told(central: Central) -> None:
    order_id = _web_order(central)
    # Not handed over yet: nothing to take back.
    early = central.push([event("return.completed", a_return(None, web_order_id=order_id))])[0]
    assert early["status"] == "rejected" and "nothing was handed over" in early["reason"]
    with central.sessions.begin() as s:
        order = s.get(WebOrder, uuid.UUID(order_id))
        assert order is not None
        order.status = "collected"
    # As the Returns desk writes it: the web order is its original too, refunded to the online payment.
    desk = a_return(None, web_order_id=order_id, refunds=[("online", "2.50")])
    desk["original_order_id"] = order_id
    ret = event("return.completed", desk)
    assert central.push([ret])[0]["status"] == "applied"
    assert central.push([ret])[0]["status"] == "duplicate"
    with central.sessions() as s:
        order = s.get(WebOrder, uuid.UUID(order_id))
        assert order is not None and (order.status, order.returned) == ("collected", "part")
        told = list(s.scalars(select(Notice).where(Notice.order_id == order.id, Notice.kind == "refunded")))
        assert len(told) == 1 and told[0].facts["refunded"] == "2.50"
    assert (
        central.push([event("return.completed", a_return(None, web_order_id=order_id))])[0]["status"]
        == "applied"
    )
    with central.sessions() as s:
        order = s.get(WebOrder, uuid.UUID(order_id))
        assert order is not None and (order.status, order.returned) == ("collected", "whole")
        assert s.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "refunded")) == 2
    third = central.push([event("return.completed", a_return(None, web_order_id=order_id))])[0]
    assert third["status"] == "rejected"


def test_what_the_customer_refused_at_the_pickup_counter_is_not_taken_back(central: Central) -> None:
    """The hand-over's receipt says the customer refused one of the two units: only the one taken may come back,
    at any till that asks the central store."""
    order_id = _web_order(central)
    with central.sessions.begin() as s:
        order = s.get(WebOrder, uuid.UUID(order_id))
        assert order is not None
        order.status = "ready"
    receipt = {"taken": [["A1", "Apple juice", "1"]], "refused": [["A1", "Apple juice", "1"]]}
    handed = {"order_id": order_id, "from": "ready", "to": "collected", "by": "T1", "receipt": receipt}
    assert central.push([event("order.status", handed)])[0]["status"] == "applied"
    with central.sessions() as s:
        state = service.returnable(s, uuid.UUID(order_id), web_order=True)
        assert state is not None and state.sold == {"A1": Decimal(1)}
    both = a_return(None, qty="2", web_order_id=order_id, refunds=[("online", "5.00")])
    over = central.push([event("return.completed", both)])[0]
    assert over["status"] == "rejected" and "A1" in over["reason"]
    one = a_return(None, qty="1", web_order_id=order_id, refunds=[("online", "2.50")])
    assert central.push([event("return.completed", one)])[0]["status"] == "applied"


def _web_order(central: Central) -> str:
    """A web order of two A1 placed by a storefront at S1, with the stock for it; its id."""
    with central.sessions.begin() as s:
        shop = service.get_store(s, "S1")
        s.add(
            StockLevel(location_id=shop.locations[0].id, product_id=1, store_id=shop.id, on_hand=Decimal(5))
        )
    placed = central.client.post(
        "/v1/orders",
        json={"store": "S1", "lines": [{"sku": "A1", "qty": "2"}], "customer": {"email": "ann@example.org"}},
        headers={"X-Api-Key": _storefront_key(central)},
    )
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


def _storefront_key(central: Central) -> str:
    with central.sessions.begin() as s:
        _, key = service.create_api_key(s, "test", stores=["S1"])
        return str(key)


def test_the_rolling_no_receipt_limit_holds_across_the_chain(central: Central) -> None:
    customer = str(uuid7())
    with central.sessions.begin() as s:
        service.set_central_setting(s, "returns.no_receipt_items", 2)
        service.set_central_setting(s, "returns.no_receipt_amount", "100.00")
    asked = central.client.get(
        f"/v1/returns/no-receipt/{customer}", params={"qty": "1", "amount": "2.50"}, headers=central.auth()
    )
    assert asked.status_code == 200 and asked.json()["allowed"] is True
    first = a_return(None, customer_id=customer, refunds=[("store_credit", "2.50")])
    assert central.push([event("return.completed", first)])[0]["status"] == "applied"
    other_store = a_return(None, customer_id=customer, store="S2", refunds=[("store_credit", "2.50")])
    assert central.push([event("return.completed", other_store)], "S2/T1")[0]["status"] == "applied"
    asked = central.client.get(
        f"/v1/returns/no-receipt/{customer}",
        params={"qty": "1", "amount": "2.50"},
        headers=central.auth("S1/T2"),
    )
    body = asked.json()
    assert body["allowed"] is False and body["items_used"] == "2.000" and "at most 2" in body["reason"]
    third = central.push([event("return.completed", a_return(None, customer_id=customer))])[0]
    assert third["status"] == "rejected" and "no-receipt limit" in third["reason"]
    offline = central.push([event("return.completed", a_return(None, customer_id=customer, offline=True))])[0]
    assert offline["status"] == "applied" and len(reviews(central)) == 1


@pytest.mark.parametrize("qty", ["3"])
def test_refunds_of_a_line_returned_one_unit_at_a_time_at_two_tills_add_up_to_what_was_paid(
    central: Central, qty: str
) -> None:
    sold = sale(qty=qty, price="3.33")  # 9.99 paid
    central.push([event("sale.completed", sold)])
    parts = ["3.33", "3.33", "3.33"]
    for n, part in enumerate(parts):
        till = ("S1/T1", "S1/T2")[n % 2]
        ret = a_return(sold, price="3.33", terminal=till[-2:], refunds=[("cash", part)])
        assert central.push([event("return.completed", ret)], till)[0]["status"] == "applied"
    state = refunded(central, sold["order_id"])
    assert state["refunded"] == state["paid"] == "9.99"
    extra = central.push(
        [event("return.completed", a_return(sold, price="3.33", refunds=[("cash", "0.01")]))]
    )
    assert extra[0]["status"] == "rejected"


TILLS = ("S1/T1", "S1/T2", "S2/T1")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    split=st.integers(min_value=0, max_value=3),  # card's share of a 3-unit sale in units, cash the rest
    returns=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=2),  # units
            st.sampled_from(["card", "cash", "store_credit", "mixed"]),
            st.booleans(),  # decided offline
            st.sampled_from(TILLS),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_over_any_returns_at_several_tills_some_offline_what_stands_unflagged_never_exceeds_the_sale(
    central: Central, split: int, returns: list[tuple[int, str, bool, str]]
) -> None:
    sold = sale(qty="3")  # 7.50
    card = Decimal("2.50") * split
    sold["payments"] = [
        p
        for p in (
            {"kind": "card", "amount": str(card)},
            {"kind": "cash", "amount": str(Decimal("7.50") - card)},
        )
        if Decimal(p["amount"])
    ]
    assert central.push([event("sale.completed", sold)])[0]["status"] == "applied"
    paid = {p["kind"]: Decimal(p["amount"]) for p in sold["payments"]}
    # The model: what every return recorded so far took (one that went over offline counts too: it happened).
    units_back, money_back = 0, {"card": Decimal(0), "cash": Decimal(0), "store_credit": Decimal(0)}
    for units, tender, offline, till in returns:
        amount = Decimal("2.50") * units
        refunds = (
            [(tender, str(amount))] if tender != "mixed" else [("card", "1.00"), ("cash", str(amount - 1))]
        )
        fits = units_back + units <= 3 and sum(money_back.values()) + amount <= Decimal("7.50")
        fits = fits and all(
            money_back[k] + Decimal(v) <= paid.get(k, Decimal(0)) for k, v in refunds if k != "store_credit"
        )
        store, terminal = till.split("/")
        ret = a_return(sold, qty=str(units), refunds=refunds, offline=offline, terminal=terminal, store=store)
        result = central.push([event("return.completed", ret)], till)[0]
        # Refused exactly when it goes over and was decided online; decided offline it always stands.
        assert result["status"] == ("applied" if fits or offline else "rejected"), (result, fits)
        if result["status"] == "applied":
            units_back += units
            for k, v in refunds:
                money_back[k] += Decimal(v)
    with central.sessions() as s:
        rows = list(s.scalars(select(Return).where(Return.original_order_id == uuid.UUID(sold["order_id"]))))
        stood = [r for r in rows if not r.over]
        taken = sum(
            (abs(Decimal(str(line["qty"]))) for r in stood for line in r.document["lines"]), Decimal(0)
        )
        assert taken <= 3
        back: dict[str, Decimal] = {}
        for r in stood:
            for p in r.document["payments"]:
                back[p["kind"]] = back.get(p["kind"], Decimal(0)) + abs(Decimal(p["amount"]))
        assert all(
            amount <= paid.get(kind, Decimal(0)) for kind, amount in back.items() if kind != "store_credit"
        )
        assert sum(back.values(), Decimal(0)) <= Decimal("7.50")
        # Every return that went over is parked for review, and only those.
        mine = {r.number for r in rows}
        flagged = select(StockException).where(StockException.kind == "return_over")
        parked = {e.detail["return"] for e in s.scalars(flagged) if e.detail["return"] in mine}
        assert parked == {r.number for r in rows if r.over}


def test_the_no_receipt_limits_are_set_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    assert cli.main(["set-return-limits", "--database-url", url, "--items", "3", "--amount", "80.00"]) == 0
    assert json.loads(capsys.readouterr().out) == {"items": 3, "amount": "80.00", "days": 30}
    assert cli.main(["set-return-limits", "--database-url", url, "--amount", "1.234"]) != 0
    assert "whole cents" in capsys.readouterr().err


def test_two_stores_taking_back_the_last_unit_at_the_same_moment_one_wins(central: Central) -> None:
    """The sale's row lock orders two stores' returns of it (each holds only its own store's lock)."""
    with central.sessions() as s:
        ids = {
            f"{t.store.code}/{t.code}": t.id
            for t in s.scalars(select(Terminal))
            if f"{t.store.code}/{t.code}" in ("S1/T1", "S2/T1")
        }
    for _ in range(4):
        sold = sale(qty="1")
        central.push([event("sale.completed", sold)])
        barrier = threading.Barrier(2)
        results: dict[str, str] = {}

        def take(
            till: str, sold: dict[str, Any], barrier: threading.Barrier, results: dict[str, str]
        ) -> None:
            store, terminal = till.split("/")
            ret = protocol.Event.model_validate(
                event("return.completed", a_return(sold, terminal=terminal, store=store))
            )
            barrier.wait()
            results[till] = service.push(central.sessions, ids[till], [ret])[0].status

        threads = [threading.Thread(target=take, args=(till, sold, barrier, results)) for till in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == ["applied", "rejected"], results
