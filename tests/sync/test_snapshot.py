"""Catalog snapshots and feed retention, with the real central in process (SQLite and PostgreSQL): a till's first
sync takes the store's snapshot and ends where a replay of the feed ends; changes made while the snapshot streams
arrive after it, once; a cut-off snapshot keeps nothing; the compacted feed answers an old cursor "snapshot needed"
and the till takes one; `counterline-central compact-feed`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app.db.models import Barcode, CentralStock, Department, Order, Product, TaxClass
from app.domain import barcodes
from app.services import catalog
from sync import protocol, replica, snapshot, snapshot_wire
from sync.agent import Syncer
from sync.central import cli, service
from sync.central.models import FeedChange, Store
from sync.central.service import feed
from sync.client import Client, Retryable, SnapshotNeeded
from tests.sync.fleet import BASE, Hub, Till

CSV_HEAD = "sku,name,price,tax_class,department,barcodes,weighed\n"


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = Hub.start(db_url)
    yield h
    h.close()


def _busy_store(hub: Hub, folder: Path) -> None:
    """A feed with more than the first catalog: stock received and sold at a till, prices changed twice, a new
    tax class, a product moved to it, a web order (reserving stock) and one cancelled."""
    stocker = Till.enrol(hub, folder / "stocker", "S1", "T9")
    stocker.sync()
    stocker.receive("A1", 5)
    stocker.receive("C3", 4)
    stocker.open_shift()
    stocker.sell("C3")
    stocker.sync()
    with hub.sessions.begin() as s:
        service.set_tax_class(s, "low", "0.05", "Reduced")
        service.import_catalog(s, CSV_HEAD + "A1,Apple juice 1l,2.60,std,drinks,4006381333931,no\n")
        service.import_catalog(s, CSV_HEAD + "A1,Apple juice 1l,2.70,low,drinks,4006381333931,no\n")
        service.import_catalog(s, CSV_HEAD + "D4,Dates 200g,3.10,low,dried_fruit,4000000000012,no\n")
    kept = hub.place_order("S1", "C3")
    gone = hub.place_order("S1", "A1")
    hub.cancel(gone["id"])
    assert kept["status"]


def _state(session: Session) -> dict[str, Any]:
    """What the feed put in a till's database, to compare two tills."""
    products = {
        p.sku: (p.name, p.name_lower, p.price, p.tax_class, p.department, p.unit, p.active, p.item_ref)
        for p in session.scalars(select(Product))
    }
    codes = {
        (b.code, b.pack_qty, sku)
        for b, sku in session.execute(
            select(Barcode, Product.sku).join(Product, Product.id == Barcode.product_id)
        )
    }
    stock = {
        (c.sku, c.location): (c.on_hand, c.reserved, c.available)
        for c in session.scalars(select(CentralStock))
    }
    orders = {(o.number, o.status, o.channel) for o in session.scalars(select(Order))}
    return {
        "products": products,
        "barcodes": codes,
        "stock": stock,
        "orders": orders,
        "departments": set(session.scalars(select(Department.code))),
        "tax": {(t.code, t.rate) for t in session.scalars(select(TaxClass))},
        "cursor": replica.cursor(session),
    }


def _first_sync(till: Till, snapshots: bool) -> int:
    with till.client() as c:
        pulled, _cursor = Syncer(till.factory, c, pull_page=5, snapshots=snapshots).pull_changes()
    return pulled


def test_a_first_sync_by_snapshot_ends_where_replaying_the_feed_ends(hub: Hub, tmp_path: Path) -> None:
    _busy_store(hub, tmp_path)
    by_snapshot = Till.enrol(hub, tmp_path / "a", "S1", "T1")
    by_feed = Till.enrol(hub, tmp_path / "b", "S1", "T2")
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    with by_snapshot.factory() as a:
        before = a.execute(text(schema)).all()
    applied = _first_sync(by_snapshot, snapshots=True)
    with by_snapshot.factory() as a:
        assert a.execute(text(schema)).all() == before  # the indexes and triggers set aside are all back
    replayed = _first_sync(by_feed, snapshots=False)
    with hub.sessions() as s:
        head = s.scalar(select(Store.feed_seq).where(Store.code == "S1"))
    with by_snapshot.factory() as a, by_feed.factory() as b:
        got, want = _state(a), _state(b)
        assert got == want
        assert got["cursor"] == head
        assert got["products"]["A1"][2:4] == (Decimal("2.70"), "low")  # the latest price and tax class
        assert applied < replayed  # the replaced entries were not sent
        # The search index was built at the end of the load, and kept up after it.
        assert [p.sku for p in catalog.search(a, "dates")] == ["D4"]
        assert [p.sku for p in catalog.search(a, "coffee")] == ["C3"]
    with hub.sessions.begin() as s:
        service.import_catalog(s, CSV_HEAD + "E5,Espresso beans,9.90,std,grocery,,no\n")
    by_snapshot.sync()
    with by_snapshot.factory() as a:
        assert [p.sku for p in catalog.search(a, "espresso")] == ["E5"]


def test_changes_made_while_the_snapshot_streams_arrive_after_it_once(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot is one consistent read up to its cursor: what is written while it streams has later seqs and
    comes from the feed afterwards, each change once."""
    original = feed.snapshot_lines
    written: list[int] = []

    def lines_with_a_write_midway(session: Session, store_id: int) -> Iterator[str]:
        for n, line in enumerate(original(session, store_id)):
            if n == 2:  # the header and one change are out: the catalog changes meanwhile
                with hub.sessions.begin() as s:
                    service.import_catalog(
                        s,
                        CSV_HEAD
                        + "A1,Apple juice 1l,2.95,std,drinks,4006381333931,no\nF6,Figs,4.20,std,fruit,,no\n",
                    )
                with hub.sessions() as s:
                    written.append(s.scalar(select(Store.feed_seq).where(Store.code == "S1")) or 0)
            yield line

    monkeypatch.setattr(feed, "snapshot_lines", lines_with_a_write_midway)
    till = Till.enrol(hub, tmp_path / "a", "S1", "T1")
    pulled: list[protocol.Change] = []

    class Recording(Client):
        def pull(
            self, cursor: int, limit: int = 500, first: bool = False, wait: float = 0
        ) -> protocol.PullResponse:
            page = super().pull(cursor, limit, first, wait)
            pulled.extend(page.changes)
            return page

    with Recording(BASE, till.token, transport=hub.transport) as c:
        Syncer(till.factory, c).pull_changes()
    assert written, "the write during the stream did not happen"
    seqs = [change.seq for change in pulled]
    assert seqs and len(seqs) == len(set(seqs))
    with hub.sessions() as s:
        head = s.scalar(select(Store.feed_seq).where(Store.code == "S1"))
        shop = s.scalar(select(Store.id).where(Store.code == "S1"))
        during = set(
            s.scalars(
                select(FeedChange.seq).where(FeedChange.store_id == shop, FeedChange.seq > min(seqs) - 1)
            )
        )
    assert set(seqs) == during and max(seqs) == head == written[0]  # every change after the snapshot, once
    with till.factory() as t:
        prices = {sku: price for sku, price in t.execute(select(Product.sku, Product.price))}
        assert replica.cursor(t) == head
    assert str(prices["A1"]) == "2.95" and str(prices["F6"]) == "4.20"


class CutOff(httpx.BaseTransport):
    """Sends the snapshot's answer without its last bytes (a connection lost near the end)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != "/v1/snapshot":
            return response
        body = response.read()
        return httpx.Response(
            200,
            stream=httpx.ByteStream(body[: len(body) * 2 // 3]),
            headers={"content-type": "application/gzip"},
        )


def test_a_snapshot_cut_off_keeps_nothing_and_is_taken_again(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "a", "S1", "T1")
    with (
        Client(BASE, till.token, transport=CutOff(hub.transport)) as c,
        pytest.raises(Retryable, match="snapshot"),
    ):
        Syncer(till.factory, c).pull_changes()
    with till.factory() as t:
        assert replica.cursor(t) == 0
        assert t.scalar(select(func.count()).select_from(Product)) == 0
    till.sync()
    with till.factory() as t:
        assert t.scalar(select(func.count()).select_from(Product)) == 3


def _age_feed(hub: Hub, days: int) -> None:
    with hub.sessions.begin() as s:
        s.execute(update(FeedChange).values(created_at=datetime.now(UTC) - timedelta(days=days)))


def test_compaction_keeps_the_latest_of_each_key_and_an_old_cursor_takes_a_snapshot(
    hub: Hub, tmp_path: Path
) -> None:
    behind = Till.enrol(hub, tmp_path / "behind", "S1", "T1")
    behind.sync()  # at the head of the first catalog
    with behind.factory() as t:
        old_cursor = replica.cursor(t)
    _busy_store(hub, tmp_path)
    with hub.sessions() as s:
        shop = s.scalar(select(Store.id).where(Store.code == "S1"))
        before = list(feed.snapshot_lines(s, shop or 0))
    _age_feed(hub, days=40)
    with hub.sessions.begin() as s:
        recent = service.compact_feed(s, keep_days=60)  # nothing is that old: nothing goes
    assert {c.store: c.removed for c in recent} == {"S1": 0, "S2": 0}
    with hub.sessions.begin() as s:
        done = {c.store: c for c in service.compact_feed(s, keep_days=30)}
    assert done["S1"].removed > 0 and done["S1"].floor > old_cursor
    with hub.sessions() as s:
        assert list(feed.snapshot_lines(s, shop or 0)) == before  # the latest entry of every key stayed
    # A pull from below the floor is told to take a snapshot, with a clear answer.
    answer = hub.testclient.get(
        "/v1/pull", params={"cursor": old_cursor}, headers={"Authorization": f"Bearer {behind.token}"}
    )
    assert answer.status_code == protocol.SNAPSHOT_NEEDED_STATUS
    assert "snapshot needed" in answer.json()["detail"]
    with behind.client() as c, pytest.raises(SnapshotNeeded):
        c.pull(old_cursor)
    # The agent takes the snapshot and ends where a fresh till ends.
    behind.sync()
    fresh = Till.enrol(hub, tmp_path / "fresh", "S1", "T2")
    fresh.sync()
    behind.sync()  # the fresh till's own first staff user came after the snapshot
    with behind.factory() as a, fresh.factory() as b:
        assert _state(a) == _state(b)
    # A till at the head is not disturbed by the compaction.
    with hub.sessions.begin() as s:
        service.import_catalog(s, CSV_HEAD + "G7,Grapes,2.20,std,fruit,,no\n")
    behind.sync()
    with behind.factory() as a:
        assert a.scalar(select(Product.sku).where(Product.sku == "G7")) == "G7"


def test_compact_feed_command(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hub = Hub.start(db_url)
    try:
        _busy_store(hub, tmp_path)
        _age_feed(hub, days=10)
        assert cli.main(["compact-feed", "--database-url", db_url, "--keep-days", "30"]) == 0
        assert "S1: 0 feed entries removed" in capsys.readouterr().out
        assert cli.main(["compact-feed", "--database-url", db_url, "--keep-days", "5"]) == 0
        out = capsys.readouterr().out
        assert "S1: 0 feed" not in out and "take a snapshot" in out
        assert cli.main(["compact-feed", "--database-url", db_url, "--keep-days", "-1"]) != 0
        assert "--keep-days" in capsys.readouterr().err
    finally:
        hub.close()


def _gz(*lines: Any) -> list[bytes]:
    return [gzip.compress("".join(json.dumps(x) + "\n" for x in lines).encode())]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([{"snapshot": 99, "store": "S1", "cursor": 1}], "format"),
        ([{"snapshot": 1, "store": "S1", "cursor": -1}], "header"),
        (
            [{"snapshot": 1, "store": "S1", "cursor": 2}, {"seq": 3, "type": "x", "key": "k", "payload": {}}],
            "form",
        ),
        (
            [{"snapshot": 1, "store": "S1", "cursor": 2}, {"seq": 1, "type": "x", "key": "k", "payload": []}],
            "form",
        ),
        ([{"snapshot": 1, "store": "S1", "cursor": 2}, {"end": True, "count": 5}], "says"),
        ([{"snapshot": 1, "store": "S1", "cursor": 2}], "cut off"),
    ],
)
def test_a_malformed_snapshot_is_refused(lines: list[Any], message: str) -> None:
    with pytest.raises(snapshot_wire.BadSnapshot, match=message):
        list(snapshot_wire.Snapshot(_gz(*lines)))


def test_a_snapshot_that_is_not_gzip_is_refused() -> None:
    with pytest.raises(snapshot_wire.BadSnapshot, match="gzip"):
        snapshot_wire.Snapshot([b"{not gzip at all}\n"])


def _change(seq: int, kind: str, key: str, payload: dict[str, Any]) -> protocol.Change:
    return protocol.Change(seq=seq, type=kind, key=key, payload=payload)


def test_the_bulk_load_takes_prices_stock_and_moved_barcodes_as_the_page_applier_does(
    hub: Hub, tmp_path: Path
) -> None:
    """Batches applied one after another: a price in a later batch than its product, a barcode moving to another
    product, stock; a product naming an unknown tax class is parked, the rest applies."""
    till = Till.enrol(hub, tmp_path / "a", "S1", "T1")
    till.sync()
    product = {"name": "Kiwi", "price": "0.40", "tax_class": "std", "department": "fruit", "active": True}
    with till.factory.begin() as s, snapshot.BulkLoader(s) as loader:
        assert not loader.fresh  # the till has its catalog: the search index is kept up row by row
        loader.apply(
            [
                _change(100, protocol.CHANGE_PRODUCT, "K1", dict(product, sku="K1", barcodes=[])),
                _change(101, protocol.CHANGE_PRICE, "C3", {"sku": "C3", "price": "6.90"}),
            ]
        )
        loader.apply(
            [
                _change(102, protocol.CHANGE_PRICE, "K1", {"sku": "K1", "price": "0.45"}),
                _change(
                    103,
                    protocol.CHANGE_PRODUCT,
                    "K2",
                    dict(product, sku="K2", name="Kiwi gold", barcodes=[{"code": "5012345678900"}]),
                ),
                _change(104, protocol.CHANGE_PRODUCT, "K3", dict(product, sku="K3", tax_class="nope")),
                _change(
                    105,
                    protocol.CHANGE_STOCK,
                    "K1@floor",
                    {"sku": "K1", "location": "floor", "on_hand": "7.000", "reserved": "2.000"},
                ),
            ]
        )
        assert (loader.applied, loader.parked) == (5, 1)
    with till.factory() as s:
        prices = {sku: str(price) for sku, price in s.execute(select(Product.sku, Product.price))}
        assert prices["K1"] == "0.45" and prices["C3"] == "6.90" and "K3" not in prices
        found = catalog.find_scan(s, barcodes.parse("5012345678900"))
        assert found.product.sku == "K2"  # the code moved from C3
        level = s.get(CentralStock, ("K1", "floor"))
        assert level is not None and level.available == Decimal("5")
        assert [p.sku for p in catalog.search(s, "kiwi gold")] == ["K2"]
        assert [c.seq for c in replica.parked_changes(s)] == [104]
