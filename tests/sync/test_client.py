"""The terminal's sync against the real central service in process: enrolment, pull into the local database,
push of real sales, parked rejections, cancellations, and convergence through a transport that loses, repeats and
reorders requests."""

from __future__ import annotations

import os
import random
import stat
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from uuid6 import uuid7

from app.db.models import AuditEntry, CentralStock, Order, OutboxEvent, Product, StaffUser
from app.db.models import StockMovement as LocalMovement
from app.domain import barcodes
from app.services import audit, catalog, customers, outbox, sales, settings, staff, stock
from app.services.base import UserError
from sync import audit as sync_audit
from sync import protocol, replica
from sync.agent import Agent, Syncer, backoff_delay
from sync.central import cli as central_cli
from sync.central import service
from sync.central.models import AppliedEvent, Sale, StockException
from sync.client import Client, NotEnrolled, Refused, Retryable, SyncError, check_url, load_token, save_token
from tests.sync.fleet import BASE, FaultTransport, Hub, Till, check_converged
from tests.waiting import wait_for


@pytest.fixture
def hub(db_url: str) -> Hub:
    h = Hub.start(db_url)
    yield h
    h.close()


def test_enrolled_terminal_pulls_the_catalog_and_scans_it(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    with till.factory() as s:
        found = catalog.find_scan(s, barcodes.parse("4006381333931"))
        assert found.product.sku == "A1" and found.product.price == Decimal("2.50")
        case = catalog.find_scan(s, barcodes.parse("4006381333948"))
        assert case.qty == 6
        bananas = s.scalars(select(Product).where(Product.sku == "B2")).one()
        assert bananas.weighed and bananas.unit == "kg"
        assert [p.sku for p in catalog.search(s, "coffee")] == ["C3"]
        assert replica.cursor(s) > 0


def test_sales_push_once_and_stock_comes_back_from_the_feed(hub: Hub, tmp_path: Path) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
    for t in (t1, t2):
        t.sync()
    t1.receive("A1", 10)
    t1.sell("A1", 2)
    t2.sell("A1", 3)
    t1.sync()
    t2.sync()
    t1.sync()  # t1 learns of t2's sale
    check_converged(hub, [t1, t2])
    with t1.factory() as s:
        row = s.get(CentralStock, ("A1", "floor"))
        assert row is not None and row.on_hand == Decimal("5")
    # Sending the same batch again changes nothing: every answer is "duplicate".
    with t1.factory() as s:
        events = [
            protocol.Event(id=e.id, type=e.type, occurred_at=e.created_at, payload=e.payload)
            for e in s.scalars(select(OutboxEvent))
        ]
    with t1.client() as c:
        answer = c.push(events)
    assert {r.status for r in answer.results} == {"duplicate"}
    check_converged(hub, [t1, t2])


def test_a_refused_event_is_parked_with_its_reason_and_does_not_block(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    with till.factory.begin() as s:
        outbox.emit(s, protocol.STOCK_MOVEMENT, {"id": "not-a-uuid", "sku": "A1", "location": "floor"})
    till.sell("C3")
    with till.client() as c:
        Syncer(till.factory, c).sync_once()
    with till.factory() as s:
        rows = {e.type: e for e in s.scalars(select(OutboxEvent))}
    assert rows[protocol.STOCK_MOVEMENT].status == "rejected"
    assert "id" in (rows[protocol.STOCK_MOVEMENT].error or "")
    assert rows[protocol.SALE_COMPLETED].status == "sent"


def test_web_orders_and_their_cancellation_reach_the_store(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    with hub.sessions.begin() as s:
        service.import_catalog(
            s, "sku,name,price,tax_class,department,barcodes,weighed\nD4,Dates,3.00,std,fruit,,no\n"
        )
    till.receive("A1", 5)
    till.sync()
    order = hub.place_order("S1", "A1", "2")
    till.sync()
    with till.factory() as s:
        local = s.get(Order, order["id"])
        assert local is not None and local.channel == "web" and local.status == "new"
        assert [(ln.sku, ln.qty, ln.name) for ln in local.lines] == [("A1", Decimal("2"), "Apple juice 1l")]
        assert s.scalars(select(Product.name).where(Product.sku == "D4")).one() == "Dates"
        reserved = s.get(CentralStock, ("A1", "floor"))
        assert (
            reserved is not None and reserved.reserved == Decimal("2") and reserved.available == Decimal("3")
        )
    with till.factory.begin() as s:
        s.get(Order, order["id"]).status = "picking"  # an associate started on it
    hub.cancel(order["number"])
    till.sync()
    with till.factory() as s:
        assert s.get(Order, order["id"]).status == "cancelled"


def test_a_terminal_sees_only_its_own_store(hub: Hub, tmp_path: Path) -> None:
    s1 = Till.enrol(hub, tmp_path / "a", "S1", "T1")
    s2 = Till.enrol(hub, tmp_path / "b", "S2", "T1")
    for t in (s1, s2):
        t.sync()
    s1.receive("C3", 4)
    s1.sync()
    s2.sync()
    with s2.factory() as s:
        assert s.get(CentralStock, ("C3", "floor")) is None
    with s1.factory() as s:
        assert s.get(CentralStock, ("C3", "floor")).on_hand == Decimal("4")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sync_converges_through_lost_repeated_and_reordered_requests(
    hub: Hub, tmp_path: Path, seed: int
) -> None:
    converge_through_faults(hub, tmp_path, seed, hub.transport, BASE)


def converge_through_faults(
    hub: Hub, tmp_path: Path, seed: int, inner: httpx.BaseTransport, base: str, rounds: int = 12
) -> None:
    """Three tills of two stores sell, return, receive and sync through a transport that loses, repeats and
    reorders requests (over `inner`, to the central service at `base`), then converge exactly once."""
    rng = random.Random(seed)
    tills = []
    for n, (store, term) in enumerate([("S1", "T1"), ("S1", "T2"), ("S2", "T1")]):
        faulty = FaultTransport(inner, random.Random(seed * 10 + n), rate=0.35)
        till = Till.enrol(hub, tmp_path / f"t{n}", store, term, transport=faulty, base=base)
        tills.append((till, faulty))
    for till, _ in tills:
        _sync_until_done(till)
    for _round in range(rounds):
        for till, faulty in tills:
            for _ in range(rng.randint(0, 3)):
                till.sell(rng.choice(["A1", "C3"]), rng.randint(1, 3))
            if rng.random() < 0.3:
                till.take_return("A1")
            if rng.random() < 0.2:
                till.receive("C3", rng.randint(1, 5))
            faulty.offline = rng.random() < 0.2
            try:
                till.sync()
            except SyncError:
                pass
    for till, faulty in tills:
        faulty.offline = False
        faulty.rate = 0.0
        _sync_until_done(till)
    check_converged(hub, [t for t, _ in tills])
    faults = sum(sum(f.faults.values()) for _, f in tills)
    assert faults > 20, "the transport injected too few faults for this test to mean anything"


def _sync_until_done(till: Till, tries: int = 60) -> None:
    for _ in range(tries):
        try:
            till.sync()
            return
        except SyncError:
            continue
    raise AssertionError(f"{till.name} did not sync in {tries} tries")


def test_the_client_classifies_errors(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    with Client(BASE, "wrong-token", transport=hub.transport) as c, pytest.raises(NotEnrolled):
        c.pull(0)
    with Client(BASE, till.token, transport=hub.transport) as c, pytest.raises(Refused) as refused:
        c.pull(-1)
    assert refused.value.status == 422
    down = FaultTransport(hub.transport, random.Random(0))
    down.offline = True
    with Client(BASE, till.token, transport=down) as c, pytest.raises(Retryable, match="cannot reach"):
        c.pull(0)
    with (
        Client(BASE, transport=hub.transport) as c,
        pytest.raises(SyncError, match="unknown, used or expired"),
    ):
        c.enroll("AAAA-BBBB-CCCC", "till")


def test_addresses_and_the_token_file(tmp_path: Path) -> None:
    assert check_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert check_url("http://localhost:9") == "http://localhost:9"
    assert check_url("https://hq.example") == "https://hq.example"
    with pytest.raises(ValueError, match="clear text"):
        check_url("http://hq.example")
    assert check_url("http://10.0.0.5", allow_insecure=True) == "http://10.0.0.5"
    with pytest.raises(ValueError, match="not an http"):
        check_url("hq.example")
    token_file = tmp_path / "sub" / "terminal-token"
    assert load_token(token_file) is None
    save_token(token_file, "secret-token")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert load_token(token_file) == "secret-token"
    os.chmod(token_file, 0o644)
    with pytest.raises(SyncError, match="chmod 600"):
        load_token(token_file)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(4)
    assert backoff_delay(0, 15, 300, rng) == 15
    delays = [backoff_delay(n, 15, 300, rng) for n in range(1, 12)]
    assert all(1 <= d <= 300 for d in delays)
    assert delays[0] <= 30 and max(delays[6:]) > 150
    assert len({round(backoff_delay(5, 15, 300, rng), 3) for _ in range(20)}) > 10  # jittered


def test_the_agent_works_offline_then_catches_up_and_reports(hub: Hub, tmp_path: Path) -> None:
    faulty = FaultTransport(hub.transport, random.Random(9), rate=0.0)
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1", transport=faulty)
    till.sync()
    faulty.offline = True
    agent = Agent(till.factory, till.client, interval_s=0.05, max_backoff_s=0.2, rng=random.Random(1))
    agent.start()
    try:
        wait_for(lambda: agent.status().failures >= 2)
        assert "offline since" in agent.status_text() and "cannot reach" in agent.status_text()
        till.sell("A1")  # the counter keeps selling meanwhile
        faulty.offline = False
        agent.sync_now()
        wait_for(lambda: agent.status().last_error is None and till.outbox_pending() == 0)
        assert agent.status_text().startswith("sync: ok")
    finally:
        agent.stop()
    assert not agent.status().running
    check_converged(hub, [till])


def test_goods_handed_over_on_an_order_cancelled_meanwhile_still_count(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    till.receive("C3", 5)
    till.sync()
    order = hub.place_order("S1", "C3", "2")
    till.sync()
    assert till.waiting_orders() == [order["id"]]
    hub.cancel(order["number"])  # the cancellation has not reached the store when the customer walks out
    till.hand_over(order["id"])
    till.sync()
    with till.factory() as s:
        assert s.get(Order, order["id"]).status == "collected"  # what the store did stands locally
        assert s.get(CentralStock, ("C3", "floor")).on_hand == Decimal("3")
    with hub.sessions() as s:
        conflicts = list(s.scalars(select(StockException).where(StockException.kind == "order_conflict")))
    assert [(c.sku, c.detail["status"]) for c in conflicts] == [("C3", "cancelled")]
    check_converged(hub, [till])


def test_two_copies_of_a_batch_applied_at_once_are_applied_and_duplicate_never_refused(
    hub: Hub, tmp_path: Path
) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    for _ in range(30):
        till.sell("A1")
    with till.factory() as s:
        events = [
            protocol.Event(id=e.id, type=e.type, occurred_at=e.created_at, payload=e.payload)
            for e in s.scalars(
                select(OutboxEvent).where(OutboxEvent.status == "pending").order_by(OutboxEvent.seq)
            )
        ]
    with hub.sessions() as s:
        terminal_id = service.terminal_for_token(s, till.token).id
    answers: list[list[protocol.PushResult]] = []
    threads = [
        threading.Thread(target=lambda: answers.append(service.push(hub.sessions, terminal_id, events)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [r.status for answer in answers for r in answer]
    assert "rejected" not in statuses
    assert statuses.count("applied") == len(events) and statuses.count("duplicate") == len(events)


def test_the_audit_chain_and_new_customers_reach_the_central_store_and_the_other_tills(
    hub: Hub, tmp_path: Path
) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    till.sell("A1")
    with till.factory.begin() as s:
        customers.create_customer(s, till.actor, "Sam Doyle", phone="+353 85 555 0199")
    till.sync()
    with hub.sessions() as s:
        rows = s.execute(select(AppliedEvent.type, AppliedEvent.payload)).all()
    chain = sorted((p for t, p in rows if t == protocol.AUDIT_ENTRY), key=lambda p: p["seq"])
    assert {"shift.opened", "sale.completed", "customer.created"} <= {p["action"] for p in chain}
    for before, after in zip(chain, chain[1:], strict=False):
        assert after["prev_hash"] == before["hash"]  # no entry missing between two the central store holds
    with till.factory() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert last is not None and chain[-1]["hash"] == last.hash
    assert [p["name"] for t, p in rows if t == protocol.CUSTOMER_SAVED] == ["Sam Doyle"]

    # The store's other tills get the customer: found by phone there too, and only once here.
    t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
    elsewhere = Till.enrol(hub, tmp_path / "s2", "S2", "T1")
    for t in (t2, elsewhere, till):
        t.sync()
    with t2.factory() as s:
        found = customers.find_customers(s, "085 555 0199")
        assert [(c.name, c.phone) for c in found] == [("Sam Doyle", "+353 85 555 0199")]
    with till.factory() as s:
        assert len(customers.find_customers(s, "Sam Doyle")) == 1
    with elsewhere.factory() as s:  # another store's tills do not (service.handlers._customer)
        assert customers.find_customers(s, "Sam Doyle") == []


def test_a_sale_parked_at_one_till_is_recalled_and_paid_at_another(hub: Hub, tmp_path: Path) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
    for t in (t1, t2):
        t.sync()
    number = t1.park("C3", 2)
    with pytest.raises(UserError, match="wait for sync"):
        t2.recall_and_complete(number)
    t1.sync()
    t2.sync()
    assert t2.recall_and_complete(number) == Decimal("12.80")
    t2.sync()
    t1.sync()
    with t1.factory() as s:
        mine = s.scalars(select(Order).where(Order.parked_number == number)).one()
        assert mine.status == "recalled_elsewhere"
        with pytest.raises(UserError, match="already recalled"):
            sales.recall(s, t1.actor, number)
    with hub.sessions() as s:
        assert [sale.total for sale in s.scalars(select(Sale))] == [Decimal("12.80")]
    check_converged(hub, [t1, t2])


def test_one_parked_sale_completed_at_two_offline_tills_keeps_both_sales_goods(
    hub: Hub, tmp_path: Path
) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
    for t in (t1, t2):
        t.sync()
    number = t1.park("A1")
    t1.sync()
    t2.sync()
    t1.recall_and_complete(number)  # both tills offline now: each recalls and sells the same parked sale
    t2.recall_and_complete(number)
    t1.sync()
    t2.sync()
    with hub.sessions() as s:
        kinds = [e.kind for e in s.scalars(select(StockException))]
    assert "sale_completed_twice" in kinds
    check_converged(hub, [t1, t2])  # both tills' goods left the floor, and no event was refused


def test_lookup_shows_the_store_stock_plus_this_tills_unsent_sales(hub: Hub, tmp_path: Path) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
    for t in (t1, t2):
        t.sync()
    t2.receive("A1", 10)
    t2.sync()
    t1.sync()
    t1.sell("A1", 3)  # not sent yet
    with t1.factory() as s:
        product = s.scalars(select(Product).where(Product.sku == "A1")).one()
        assert dict((c, q) for c, _n, q in stock.on_hand_by_location(s, product.id))["floor"] == Decimal("7")
    t1.sync()
    with t1.factory() as s:
        view = stock.store_view(s, product.id)
        assert view is not None and dict((c, q) for c, _n, q, _r in view)["floor"] == Decimal("7")


def test_refused_events_sent_again_after_the_central_data_is_put_right(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    with till.factory.begin() as s:
        outbox.emit(
            s,
            protocol.STOCK_MOVEMENT,
            {
                "id": str(uuid7()),
                "sku": "Z9",
                "location": "floor",
                "qty": "4",
                "kind": "receipt",
                "reason": "x",
            },
        )
    till.sync()
    assert till.refused() == [(protocol.STOCK_MOVEMENT, "unknown sku 'Z9'")]
    with hub.sessions.begin() as s:
        service.import_catalog(
            s, "sku,name,price,tax_class,department,barcodes,weighed\nZ9,Zest,1.00,std,,,no\n"
        )
    with till.factory.begin() as s:
        assert outbox.requeue_rejected(s) == 1
    till.sync()
    assert till.refused() == [] and set(till.outbox().values()) == {"sent"}
    with till.factory() as s:
        assert s.get(CentralStock, ("Z9", "floor")).on_hand == Decimal("4")


def test_sales_and_returns_of_other_tills_reach_every_till_of_the_store(hub: Hub, tmp_path: Path) -> None:
    """The returns desk of any till finds a sale rung up at another, and sees what was already taken back."""
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
    other_store = Till.enrol(hub, tmp_path / "s2", "S2", "T1")
    for t in (t1, t2, other_store):
        t.sync()
    number = t1.sell("A1", 2)
    with t1.factory() as s:
        sale = s.scalars(select(Order).where(Order.number == number)).one()
        sale_id, lines, total = sale.id, [(ln.sku, ln.qty, ln.amount) for ln in sale.lines], sale.total
    t1.sync()
    t2.sync()
    with t2.factory() as s:
        copy = s.scalars(select(Order).where(Order.number == number)).one()
        assert (copy.id, copy.channel, copy.status, copy.terminal_code) == (
            sale_id,
            "counter",
            "completed",
            "T1",
        )
        assert [(ln.sku, ln.qty, ln.amount) for ln in copy.lines] == lines and copy.total == total
        assert [(p.kind, p.amount) for p in copy.payments] == [("cash", total)]
        assert copy.lines[0].product_id is not None and copy.lines[0].name == "Apple juice 1l"
        # A record only: no stock moved here, nothing to send back, nothing printed.
        assert s.scalar(select(LocalMovement).where(LocalMovement.cause_id == sale_id)) is None
        assert s.scalar(select(OutboxEvent).where(OutboxEvent.type == "sale.completed")) is None

    return_id = t2.take_return("A1", 1, original_order_id=sale_id)
    t2.sync()
    t1.sync()
    with t1.factory() as s:
        assert len(s.scalars(select(Order).where(Order.number == number)).all()) == 1  # its own, once
        taken_back = s.scalars(select(Order).where(Order.original_order_id == sale_id)).one()
        assert (taken_back.id, taken_back.channel, taken_back.terminal_code) == (return_id, "return", "T2")
        assert [(ln.sku, ln.qty) for ln in taken_back.lines] == [("A1", Decimal(-1))]
    with other_store.factory() as s:  # another store's till sees none of it
        other_store.sync()
        assert s.scalar(select(Order).where(Order.id.in_([sale_id, return_id]))) is None

    # The feed applied again from the start gives the same rows, not copies.
    with t2.factory.begin() as s:
        settings.put(s, replica.CURSOR_KEY, 0)
    t2.sync()
    with t2.factory() as s:
        assert len(s.scalars(select(Order).where(Order.number == number)).all()) == 1
    check_converged(hub, [t1, t2, other_store])

    # A till that keeps no history copies none of it.
    t3 = Till.enrol(hub, tmp_path / "t3", "S1", "T3")
    with t3.factory.begin() as s:
        settings.put(s, "sync.keep_documents_days", 0)
    t3.sync()
    with t3.factory() as s:
        assert s.scalar(select(Order).where(Order.channel.in_(["counter", "return"]))) is None


def test_staff_added_at_one_till_sign_in_at_every_till_of_the_store(hub: Hub, tmp_path: Path) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")  # each enrolment made its own first admin, "admin"
    elsewhere = Till.enrol(hub, tmp_path / "s2", "S2", "T1")
    with t1.factory.begin() as s:
        staff.create_user(s, t1.actor, "casey", "Casey Cashier", "cashier", "2468", badge="BADGE-0042")
    for t in (t1, t2, elsewhere, t1):
        t.sync()

    with t2.factory.begin() as s:
        assert staff.sign_in(s, "casey", "2468").display_name == "Casey Cashier"
        assert staff.sign_in_badge(s, "BADGE-0042").username == "casey"
    with pytest.raises(UserError, match="Unknown"), elsewhere.factory.begin() as s:
        staff.sign_in(s, "casey", "2468")  # another store's tills have their own staff

    # Two first admins with one sign-in name: the older keeps "admin" at both tills, the other is renamed alike.
    def names(till: Till) -> dict[str, str]:
        with till.factory() as s:
            return dict(s.execute(select(StaffUser.id, StaffUser.username)).all())

    assert names(t1) == names(t2)
    admins = sorted(i for i, n in names(t1).items() if n.startswith("admin"))
    assert [names(t1)[i] for i in admins] == ["admin", f"admin-{admins[1].replace('-', '')[-4:]}"]

    # Disabled at one till: refused at the other after a sync.
    with t2.factory.begin() as s:
        casey = s.scalars(select(StaffUser.id).where(StaffUser.username == "casey")).one()
        staff.update_user(s, t2.actor, casey, active=False)
    t2.sync()
    # A change made here and not yet sent is not undone by an older view from the feed.
    with t1.factory.begin() as s:
        staff.update_user(s, t1.actor, casey, role="supervisor")
    with t1.client() as c:
        Syncer(t1.factory, c).pull_changes()
    with t1.factory() as s:
        row = s.get(StaffUser, casey)
        assert row is not None and (row.role, row.active) == ("supervisor", True)
    # Both changes sent: the one the central store took last is what both tills end with.
    t1.sync()
    t2.sync()
    with t1.factory() as s1, t2.factory() as s2:
        a, b = s1.get(StaffUser, casey), s2.get(StaffUser, casey)
        assert a is not None and b is not None
        assert (a.role, a.active) == (b.role, b.active) == ("supervisor", True)


def test_a_tills_audit_trail_is_checked_against_what_the_central_store_received(
    hub: Hub, tmp_path: Path
) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    for _ in range(3):
        till.sell("A1")
    till.sync()

    def check() -> sync_audit.Comparison:
        with till.client() as c:
            head = c.audit_head()
        with till.factory() as s:
            return sync_audit.compare(s, head)

    first = check()
    assert first.ok, first.problems
    with till.factory() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert last is not None
    assert f"up to entry {last.seq}" in first.notes[0]
    till.sell("A1")  # not sent yet: not a problem, and said
    assert check().ok and "waiting to be sent" in check().notes[0]

    # Someone with the database file cuts the end of the trail off: the chain left is valid, the comparison not.
    with till.factory.begin() as s:
        s.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))  # the append-only guard goes first
        s.execute(AuditEntry.__table__.delete().where(AuditEntry.seq >= last.seq - 1))
        assert audit.verify_chain(s) is None
    assert any("were removed here" in p for p in check().problems)


def test_the_central_store_sees_gaps_and_broken_links_in_what_it_received(
    hub: Hub, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")

    def entry(seq: int, prev: str, digest: str) -> protocol.Event:
        return protocol.Event(
            id=uuid7(),
            type=protocol.AUDIT_ENTRY,
            occurred_at=datetime.now(UTC),
            payload={"seq": seq, "prev_hash": prev, "hash": digest, "action": "test"},
        )

    with till.client() as c:
        c.push([entry(1, "0", "a"), entry(2, "a", "b"), entry(4, "c", "d"), entry(5, "x", "e")])
        head = c.audit_head()
    assert (head.count, head.last_seq, head.last_hash) == (4, 5, "e")
    assert head.missing == [3] and head.broken_at == 5
    # The same, for every terminal, from the central store's command line.
    assert central_cli.main(["--database-url", db_url, "audit", "--store", "S1"]) == 1
    assert "PROBLEM: entries missing [3] chain broken at 5" in capsys.readouterr().out
