"""The chain's reports at the real central store (PostgreSQL, tests/sync/fleet.py): two stores with a till each
sell (in cash, by card, split) and take returns with reasons and conditions, prepare pickup and curbside orders
(one made ready late, customers waiting at the curb, some paid only at the hand-over), pack ship orders with wrong
scans refused, and sync. The central's figures per store equal each till's own Reports figures and, for the
tenders, its Z (X) report's (0 mismatches); the chain's counts are their sum; the facts the central's reports read
(sync.central.report_facts) equal what the pushed documents say. The same report comes from the CLI, the API (an
office key; a till's token and the storefront's key are refused) and the office page, which headless Chromium
renders with its chart."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.db.models import Order, Product, StaffUser
from app.domain.permissions import Permission
from app.services import packing, pickup, reports, returns, sales, shifts, staff
from app.services import pickup_payment as payment
from app.services.base import Actor
from app.services.returns import ReturnLineIn
from sync import protocol
from sync.central import office, service
from sync.central import reports as chain
from sync.central import stock as central_stock
from sync.central.cli import main as cli_main
from sync.central.models import AppliedEvent, Sale, Store
from sync.central.report_facts import OrderEventFact
from tests.sync.conftest import _empty_postgres
from tests.sync.fleet import Hub, Till, serve_on_loopback

pytestmark = pytest.mark.postgres

UNIT = {"A1": "4006381333931", "C3": "5012345678900"}  # tests.sync.fleet.CATALOG_CSV
KEYS = (
    "hour",
    "department",
    "top_items",
    "discounts",
    "discount_reasons",
    "returns",
    "returns_disposition",
    "pickups",
    "pack",
    "tenders",
    "stock",
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def hub(pg_url: str) -> Iterator[Hub]:
    _empty_postgres(pg_url)
    h = Hub.start(pg_url, stores=("S1", "S2"))
    with h.sessions.begin() as s:
        for store in ("S1", "S2"):
            central_stock.receive(s, store, [central_stock.StockLine(sku, Decimal(200)) for sku in UNIT])
    yield h
    h.close()


def _place(
    hub: Hub, store: str, fulfilment: str, sku: str, qty: int, paid: bool = True, also: str | None = None
) -> str:
    with hub.sessions.begin() as s:
        order = service.place_order(
            s,
            protocol.OrderRequest.model_validate(
                {
                    "store": store,
                    "fulfilment": fulfilment,
                    "lines": [{"sku": sku, "qty": str(qty)}, *([{"sku": also, "qty": "1"}] if also else [])],
                    "customer": {"name": "Ann Lee", "email": "ann@example.test", "address": "1 Elm St"},
                    **({} if paid else {"paid": False}),
                }
            ),
        )
        return str(order.id)


CARD = {"card_last4": "4242", "approval_code": "ok12"}


def _sell(till: Till, rng: random.Random) -> str:
    """A counter sale paid in cash (with change), by card, or split between them."""
    till.open_shift()
    how = rng.choice(["cash", "card", "split"])
    with till.factory.begin() as s:
        sale = sales.start_sale(s, till.actor)
        product = s.scalars(select(Product).where(Product.sku == rng.choice(list(UNIT)))).one()
        view = sales.add_product(s, till.actor, sale.id, product.id, Decimal(rng.randint(1, 3))).sale
        if how == "card":
            view = sales.add_tender(s, till.actor, sale.id, "card", view.total, **CARD)
        elif how == "split":
            view = sales.add_tender(s, till.actor, sale.id, "card", Decimal("1.00"), **CARD)
        if how != "card":
            view = sales.add_tender(s, till.actor, sale.id, "cash", Decimal("100"))
        return sales.complete_sale(s, till.actor, view.id).sale.number


def _discounted_sales(till: Till, rng: random.Random) -> None:
    """A cashier's sales with discounts: a line's within the limit (their own authority), a price override and a
    discount above the limit each approved by the manager, a whole-sale one, and one given then taken back."""
    with till.factory.begin() as s:
        staff.create_user(s, till.actor, "casey", f"Casey {till.store}", "cashier", "482916")
        staff.create_user(s, till.actor, "morgan", f"Morgan {till.store}", "manager", "739251")
    with till.factory() as s:
        who = Actor(s.scalars(select(StaffUser.id).where(StaffUser.username == "casey")).one())
    for n in range(3):
        with till.factory.begin() as s:
            sale = sales.start_sale(s, who)
            a1, c3 = (s.scalars(select(Product.id).where(Product.sku == sku)).one() for sku in ("A1", "C3"))
            first = sales.add_product(s, who, sale.id, a1, Decimal(rng.randint(2, 3))).line_id
            second = sales.add_product(s, who, sale.id, c3, Decimal(1)).line_id
            assert first is not None and second is not None
            sales.discount_line(s, who, sale.id, first, "percent", Decimal(5), "damaged box")
        with till.factory.begin() as s:
            ok = staff.approve(s, who.user_id, Permission.PRICE_OVERRIDE, "morgan", "739251")
        with till.factory.begin() as s:
            sales.override_price(s, who.with_approval(ok), sale.id, second, Decimal("0.50"), "price match")
        with till.factory.begin() as s:
            big = staff.approve(s, who.user_id, Permission.DISCOUNT_ABOVE_THRESHOLD, "morgan", "739251")
        with till.factory.begin() as s:
            if n == 1:
                sales.discount_order(s, who.with_approval(big), sale.id, "percent", Decimal(40), "staff sale")
            else:
                sales.discount_line(
                    s, who.with_approval(big), sale.id, second, "amount", Decimal("0.10"), "end"
                )
                sales.discount_order(s, who, sale.id, "percent", Decimal(5), "regular customer")
                if n == 2:  # taken back: none left
                    sales.discount_order(s, who, sale.id, "percent", Decimal(0), "")
            view = sales.current_sale(s, who)
            assert view is not None
            sales.add_tender(s, who, sale.id, "card", view.total, **CARD)
            sales.complete_sale(s, who, sale.id)


def _busy_store(hub: Hub, till: Till, rng: random.Random, shop_key: dict[str, str], monkeypatch: Any) -> None:
    till.sync()
    till.open_shift()
    _discounted_sales(till, rng)
    # Counter sales, and returns of some of them with the desk's reasons and conditions.
    for _ in range(rng.randint(3, 5)):
        number = _sell(till, rng)
        if rng.random() < 0.8:
            with till.factory.begin() as s:
                sale_id = s.scalars(select(Order.id).where(Order.number == number)).one()
                reason = rng.choice(["faulty", "changed_mind", "wrong_size"])
                # "defective" goes to the till's return-to-vendor location, which the central makes at first use.
                condition = rng.choice(["new", "opened", "damaged", "defective"])
                returns.take_return(s, till.actor, sale_id, [ReturnLineIn(1, Decimal(1), reason, condition)])
    # Pickup and curbside orders: prepared, made ready (one of them late), some customers at the curb.
    # Some are paid online, the others at the counter when handed over (a sale of the shift, as the Z counts it).
    placed = [
        (
            _place(hub, till.store, rng.choice(["pickup", "curbside"]), sku, rng.randint(1, 2), n % 2 == 0),
            sku,
        )
        for n, sku in enumerate(rng.choices(list(UNIT), k=rng.randint(3, 5)))
    ]
    till.sync()
    for n, (order_id, sku) in enumerate(placed):
        with till.factory() as s:
            order = s.get(Order, order_id)
            assert order is not None
            qty = int(sum(line.qty for line in order.lines))
        for _ in range(qty):
            with till.factory.begin() as s:
                pickup.scan(s, till.actor, order_id, UNIT[sku])
        if n == 0:  # made ready three hours on: past its two-hour promise
            later = datetime.now(UTC) + timedelta(hours=3)
            monkeypatch.setattr(pickup, "now", lambda later=later: later)
        with till.factory.begin() as s:
            pickup.ready(s, till.actor, order_id)
        monkeypatch.undo()
    till.sync()
    for order_id, _sku in placed[1:]:
        r = hub.testclient.post(f"/v1/orders/{order_id}/arrived", json={"bay": "2"}, headers=shop_key)
        assert r.status_code in (200, 201, 409), r.text  # 409: a pickup order has no curb
    till.sync()
    for order_id, _sku in placed[1:]:
        if rng.random() < 0.8:
            with till.factory.begin() as s:
                order = s.get(Order, order_id)
                assert order is not None
                unpaid = (order.external or {}).get("paid") is False
            till.open_shift()
            with till.factory.begin() as s:
                if unpaid:
                    tenders = [payment.TenderTaken("cash", Decimal("500"))]
                    if rng.random() < 0.5:
                        tenders.insert(0, payment.TenderTaken("card", Decimal("1.00"), **CARD))
                    pickup.hand_over(s, till.actor, order_id, id_name="Ann Lee", tenders=tenders)
                else:
                    pickup.hand_over(s, till.actor, order_id, id_name="Ann Lee")
    # An order of two items paid at the counter, the customer refusing one: what they took is what was sold.
    both = _place(hub, till.store, "pickup", "A1", 1, paid=False, also="C3")
    till.sync()
    for sku in ("A1", "C3"):
        with till.factory.begin() as s:
            pickup.scan(s, till.actor, both, UNIT[sku])
    with till.factory.begin() as s:
        pickup.ready(s, till.actor, both)
    till.open_shift()
    with till.factory.begin() as s:
        order = s.get(Order, both)
        assert order is not None
        refused = next(ln.id for ln in order.lines if ln.sku == "C3")
        pickup.hand_over(
            s,
            till.actor,
            both,
            id_name="Ann Lee",
            refused=[refused],
            tenders=[payment.TenderTaken("cash", Decimal("500"))],
        )
    # Ship orders at the pack bench, a wrong scan refused now and then.
    ships = [_place(hub, till.store, "ship", "A1", rng.randint(1, 2)) for _ in range(rng.randint(2, 3))]
    till.sync()
    for order_id in ships:
        with till.factory() as s:
            order = s.get(Order, order_id)
            assert order is not None
            qty = int(sum(line.qty for line in order.lines))
        with till.factory.begin() as s:
            packing.start_box(s, till.actor, order_id, "small_box")
        for _ in range(qty):
            if rng.random() < 0.5:
                with till.factory.begin() as s:
                    assert packing.scan(s, till.actor, order_id, UNIT["C3"]).refused
            with till.factory.begin() as s:
                done = packing.scan(s, till.actor, order_id, UNIT["A1"])
        with till.factory.begin() as s:
            packing.set_weight(s, till.actor, order_id, done.boxes[0].id, Decimal("1.2"))
        with till.factory.begin() as s:
            packing.pack(s, till.actor, order_id)
    till.sync()
    till.sync()
    assert till.refused() == [] and till.outbox_pending() == 0


def _plain(rows: list[Any]) -> list[list[str]]:
    return [[str(c) for c in r] for r in rows]


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _facts_against_documents(hub: Hub, first: Any, last: Any, report: chain.ChainReport) -> list[str]:
    """The facts the central's reports read, recomputed from what the tills pushed: each store's tenders from its
    sales' documents and its hand-overs' receipts, and each order change's moments and counts from its payload."""
    out = []
    with hub.sessions() as s:
        stores = {st.id: st for st in s.scalars(select(Store))}
        paid: dict[str, list[tuple[str, str, Decimal]]] = {}  # store: (sale, tender, amount)
        for sale in s.scalars(select(Sale)):
            start, end = chain.bounds(stores[sale.store_id], first, last)
            at = _when(sale.document.get("completed_at")) or sale.occurred_at
            if start <= at < end:
                for p in sale.document["payments"]:
                    paid.setdefault(stores[sale.store_id].code, []).append(
                        (str(sale.id), p["kind"], Decimal(p["amount"]))
                    )
        events = s.scalars(select(AppliedEvent).where(AppliedEvent.type == "order.status")).all()
        facts = {f.event_id: f for f in s.scalars(select(OrderEventFact))}
        for ev in events:
            p = ev.payload
            if p["to"] in ("ready", "collected", "packed"):
                fact = facts.pop(ev.event_id, None)
                pack = p.get("pack") or {}
                want = [p.get("ready_at"), p.get("promised_at"), p.get("handed_at")]
                want += [pack.get("started_at"), pack.get("packed_at")]
                got = [fact and getattr(fact, n) for n in OrderEventFact.__table__.c.keys()[4:9]]
                counts = [int(pack.get(n, 0)) for n in ("scans", "errors", "approvals")]
                if (
                    fact is None
                    or got != [_when(w) for w in want]
                    or counts
                    != [
                        fact.scans,
                        fact.errors,
                        fact.approvals,
                    ]
                ):
                    out.append(f"facts of {p['to']} event {ev.event_id}: {got} != {want}")
            if p["to"] != "collected" or not (p.get("receipt") or {}).get("payments"):
                continue
            start, end = chain.bounds(stores[ev.store_id], first, last)
            if start <= (_when(p.get("handed_at")) or ev.occurred_at) < end:
                for kind, amount in p["receipt"]["payments"]:
                    paid.setdefault(stores[ev.store_id].code, []).append(
                        (p["order_id"], kind, Decimal(amount))
                    )
        if facts:
            out.append(f"facts of no order change: {sorted(facts)}")
    for st in report.stores:
        per: dict[str, list[tuple[str, str, Decimal]]] = {}
        for sale_id, kind, amount in paid.get(st.code, []):
            per.setdefault(kind, []).append((sale_id, kind, amount))
        want_rows = [
            (
                protocol.tenders.WORDS[k],
                len({sale for sale, _k, _a in per[k]}),
                len(per[k]),
                sum((a for *_x, a in per[k]), Decimal(0)),
            )
            for k in protocol.tenders.KINDS
            if k in per
        ]
        if _plain(want_rows) != _plain(st.rows):
            out.append(f"tenders {st.code}: from the documents {want_rows} != the facts {st.rows}")
    return out


def test_the_central_figures_per_store_are_each_tills_and_the_chain_is_their_sum(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(24)
    with hub.sessions.begin() as s:
        _, shop = service.create_api_key(s, "shop", all_stores=True)
    tills = [Till.enrol(hub, tmp_path / code, code, "T1") for code in ("S1", "S2")]
    for till in tills:
        _busy_store(hub, till, rng, {"X-Api-Key": shop}, monkeypatch)
    # Stock: loose bananas sold at S1 that it never received (negative), and the minimums the central sets: coffee
    # in every store, but S1's own is lower; everything at S2.
    s1 = tills[0]
    with s1.factory.begin() as s:
        sale = sales.start_sale(s, s1.actor)
        bananas = s.scalars(select(Product.id).where(Product.sku == "B2")).one()
        sales.add_product(s, s1.actor, sale.id, bananas, Decimal("1.25"))
        sales.add_tender(s, s1.actor, sale.id, "cash", Decimal("10"))
        sales.complete_sale(s, s1.actor, sale.id)
    with hub.sessions.begin() as s:
        central_stock.set_safety_stock(s, None, "C3", Decimal(250))
        central_stock.set_safety_stock(s, "S1", "C3", Decimal(2))
        central_stock.set_safety_stock(s, "S2", None, Decimal(199))
    for till in tills:
        till.sync()
    today = datetime.now(UTC).date()
    first, last = today - timedelta(days=1), today + timedelta(days=1)

    mismatches: list[str] = []
    with hub.sessions() as s:
        central = {key: chain.run(s, key, first, last) for key in KEYS}
    for key in KEYS:
        per_store = {r.code: r.rows for r in central[key].stores}
        for till in tills:
            with till.factory() as s:
                own = reports.run(s, key, "range", first, last).rows
            if _plain(per_store[till.store]) != _plain(own):
                mismatches.append(f"{key} {till.store}: central {per_store[till.store]} != till {own}")
    # The tenders are the Z's: the till's open shift holds every sale of these days (its X report is its Z so far).
    per_store = {r.code: r.rows for r in central["tenders"].stores}
    for till in tills:
        with till.factory() as s:
            z = shifts.x_report(s).by_tender
        theirs = [(protocol.tenders.WORDS[t.kind], t.sales, t.payments, t.amount) for t in z]
        if _plain(theirs) != _plain(per_store[till.store]):
            mismatches.append(f"tenders {till.store}: Z {theirs} != central {per_store[till.store]}")
    mismatches += _facts_against_documents(hub, first, last, central["tenders"])
    # The shifts closed a little short: the central's cash over and short are each till's (and its Z's).
    for till in tills:
        with till.factory.begin() as s:
            expected = shifts.x_report(s).expected_cash
            z = shifts.close_shift(
                s, till.actor, {Decimal("0.01"): int((expected - Decimal("1.50")) * 100)}, {}
            )
        assert z.cash_over_short == Decimal("-1.50")
        till.sync()
    with hub.sessions() as s:
        cash = {key: chain.run(s, key, first, last) for key in ("cash_shift", "cash_cashier")}
    for key, report in cash.items():
        per_store = {r.code: r.rows for r in report.stores}
        for till in tills:
            with till.factory() as s:
                own = reports.run(s, key, "range", first, last).rows
            if not own or _plain(per_store[till.store]) != _plain(own):
                mismatches.append(f"{key} {till.store}: central {per_store[till.store]} != till {own}")
    assert [r[5] for r in cash["cash_shift"].chain] == [Decimal("-1.50")] * 2
    # A second till of S1 keeps the store's returns as synced, with what the first till's desk decided.
    second = Till.enrol(hub, tmp_path / "S1-T2", "S1", "T2")
    second.sync()
    # And the discounts of the first till's sales, with who approved them.
    kept = ("returns", "returns_disposition", "discounts", "discount_reasons", "stock")
    per_store = {key: {r.code: r.rows for r in central[key].stores} for key in kept}
    for key in kept:
        with second.factory() as s:
            theirs = reports.run(s, key, "range", first, last).rows
        if _plain(theirs) != _plain(per_store[key]["S1"]):
            mismatches.append(f"{key} S1/T2: {theirs} != central {per_store[key]['S1']}")
    assert mismatches == []

    # The chain's counts are the stores' summed (per reason, per disposition, per day; pickups' "All" row).
    def counts(rows: list[Any], cols: tuple[int, ...], label: int = 0) -> dict[str, list[Decimal]]:
        out: dict[str, list[Decimal]] = {}
        for r in rows:
            have = out.setdefault(str(r[label]), [Decimal(0)] * len(cols))
            out[str(r[label])] = [h + Decimal(str(r[c])) for h, c in zip(have, cols, strict=True)]
        return out

    for key, cols in {
        "hour": (1, 2, 3, 4),
        "department": (1, 2),
        "discount_reasons": (3, 4),
        "returns": (1, 2, 3),
        "returns_disposition": (1, 2, 3),
        "pickups": (1, 2, 3, 5, 6, 7),
        "pack": (1, 2, 3, 4),
        "tenders": (1, 2, 3),
    }.items():
        stores = counts([r for st in central[key].stores for r in st.rows], cols)
        assert counts(central[key].chain, cols) == stores, key
    # Fewer items than the top's 20 sold: the chain's top items are the stores', summed per item.
    stores = counts([r for st in central["top_items"].stores for r in st.rows], (2, 3))
    assert len(stores) < 20 and counts(central["top_items"].chain, (2, 3)) == stores

    # The days held what the figures are about.
    every = {k: central[k].chain for k in KEYS}
    (everything,) = [r for r in every["pickups"] if r[0] == "All"]
    assert int(everything[3]) == 2 and int(everything[7]) > 0  # the two late ones; curb waits
    assert sum(int(r[3]) for r in every["pack"]) > 0  # errors caught
    assert len(every["returns"]) >= 2
    assert {str(r[0]) for r in every["tenders"]} == {"Cash", "Card"}
    stock = {st.code: {r[0]: r[4] for r in st.rows} for st in central["stock"].stores}
    assert stock["S1"] == {"B2": "Negative"}
    assert stock["S2"] == {"A1": "Below minimum", "C3": "Below minimum", "B2": "Below minimum"}
    given = {(r[0], r[1], r[2]) for r in every["discount_reasons"]}
    assert ("Price override", "price match", "Morgan S1") in given
    assert ("Line discount", "damaged box", "Casey S2 (own authority)") in given
    assert ("Sale discount", "staff sale", "Morgan S2") in given
    with hub.sessions() as s:  # some were paid at the pickup counter
        handovers = s.scalars(select(AppliedEvent.payload).where(AppliedEvent.type == "order.status")).all()
    assert any((p.get("receipt") or {}).get("payments") for p in handovers)

    # The CLI prints the same report.
    url = hub.app.state.engine.url.render_as_string(hide_password=False)
    args = ["--database-url", url, "report", "pickups", "--from", str(first), "--to", str(last), "--json"]
    assert cli_main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == chain.as_json(central["pickups"])
    assert (
        cli_main(["--database-url", url, "report", "tenders", "--from", str(first), "--to", str(last)]) == 0
    )
    printed_text = capsys.readouterr().out
    assert printed_text.startswith("Tenders, ") and "Chain" in printed_text and "Card" in printed_text
    assert cli_main(["--database-url", url, "report", "sales", "--from", str(first), "--to", str(last)]) == 2
    assert "there is no report" in capsys.readouterr().err

    # The API, for an office key only; a key for one store sees that store and is refused the other.
    with hub.sessions.begin() as s:
        _ident, key = office.create_key(s, "head office")
        _one, s1_key = office.create_key(s, "S1 manager", ["S1"])
    path = f"/v1/reports/pack?from={first}&to={last}"
    ok = hub.testclient.get(path, headers={"X-Office-Key": key})
    assert ok.status_code == 200, ok.text
    assert ok.json() == chain.as_json(central["pack"])
    tend = hub.testclient.get(f"/v1/reports/tenders?from={first}&to={last}", headers={"X-Office-Key": key})
    assert tend.status_code == 200 and tend.json() == chain.as_json(central["tenders"])
    assert hub.testclient.get(path).status_code == 401
    assert hub.testclient.get(path, headers={"X-Office-Key": shop}).status_code == 401
    assert hub.testclient.get(path, headers={"Authorization": f"Bearer {tills[0].token}"}).status_code == 401
    mine = hub.testclient.get(path, headers={"X-Office-Key": s1_key}).json()
    assert [x["store"] for x in mine["stores"]] == ["S1"]
    assert hub.testclient.get(path + "&store=S2", headers={"X-Office-Key": s1_key}).status_code == 403
    assert (
        hub.testclient.get(
            f"/v1/reports/pack?from={last}&to={first}", headers={"X-Office-Key": key}
        ).status_code
        == 422
    )


def test_the_office_page_in_headless_chromium(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    if CHROMIUM is None:
        if os.environ.get("COUNTERLINE_SKIP_BROWSER") == "1":
            pytest.skip(
                "COUNTERLINE_SKIP_BROWSER=1: the office page is not tried in a browser on this machine"
            )
        pytest.fail(
            "Debian's chromium is missing: run `sudo make system` (or set COUNTERLINE_SKIP_BROWSER=1)"
        )
    rng = random.Random(8)
    with hub.sessions.begin() as s:
        _, shop = service.create_api_key(s, "shop", all_stores=True)
        ident, _key = office.create_key(s, "head office")
    till = Till.enrol(hub, tmp_path / "S1", "S1", "T1")
    _busy_store(hub, till, rng, {"X-Api-Key": shop}, monkeypatch)
    with hub.sessions.begin() as s:
        token = office.sign_link(s, ident, 2)
        central_stock.set_safety_stock(s, "S1", None, Decimal(199))
    today = datetime.now(UTC).date()
    shot = tmp_path / "office-reports.png"
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]

    def dom(url: str) -> str:
        return subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=60).stdout

    def screenshot(url: str, path: Path) -> None:
        args = [*flags, "--window-size=1280,900", "--hide-scrollbars", f"--screenshot={path}", url]
        subprocess.run(args, capture_output=True, timeout=60)

    with serve_on_loopback(pg_url) as base:
        link = f"{base}/office/reports?name=pickups&from={today - timedelta(days=1)}&to={today}&link={token}"
        pages = {}
        for name in ("pickups", "tenders", "hour", "discount_reasons", "discounts", "stock"):
            page = link.replace("name=pickups", f"name={name}")
            pages[name] = dom(page)
            if name != "tenders":
                screenshot(page, shot if name == "pickups" else tmp_path / f"{name}.png")
        refused = dom(link.replace(token, token[:-1] + ("1" if token.endswith("0") else "0")))
    dom_, tenders_dom, sales_dom = pages["pickups"], pages["tenders"], pages["hour"]
    assert "<script" not in dom_ and "<svg" in dom_ and 'class="bar"' in dom_
    assert "The chain" in dom_ and "S1 · Store S1" in dom_ and "Wait median (min)" in dom_
    assert "expired or was revoked" in refused and "<svg" not in refused
    assert "<h1>Tenders</h1>" in tenders_dom and 'class="bar"' in tenders_dom and "Cash" in tenders_dom
    assert (
        "<h1>Sales by hour</h1>" in sales_dom
        and 'class="bar"' in sales_dom
        and "Net a week before" in sales_dom
    )
    discounts = pages["discount_reasons"]
    assert "<h1>Discounts by reason and approver</h1>" in discounts and 'class="bar"' in discounts
    assert "Morgan S1" in discounts and "Casey S1 (own authority)" in discounts and "price match" in discounts
    listed = pages["discounts"]
    assert "<h1>Discounts and price overrides</h1>" in listed and listed.count("price match") >= 6  # 3 and 3
    assert "<h1>Stock below minimum and negative</h1>" in pages["stock"] and "Below minimum" in pages["stock"]
    assert shot.exists() and shot.stat().st_size > 5000
    if os.environ.get("COUNTERLINE_SHOTS"):
        shots = Path(os.environ["COUNTERLINE_SHOTS"])
        shutil.copy(shot, shots / "office-reports.png")
        for name in ("hour", "discount_reasons", "discounts", "stock"):
            shutil.copy(tmp_path / f"{name}.png", shots / f"office-{name}.png")
