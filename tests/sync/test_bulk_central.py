"""The central's bulk operations are written set-wise: a catalog import, a goods receipt, an on-hand import and a
transfer of thousands of lines send a number of statements that does not grow with the lines (before, each line
was a query, and each query flushed the line before it: 2,000 received lines took 10 s on PostgreSQL, a catalog
of 2,000 products 26 s). What they write is the same as line by line: levels equal to the ledger, one stock change
per line carrying the level it ends at, each product's feed payload as `product_payload` reads it back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from sync import protocol
from sync.central import service, stock
from sync.central.models import FeedChange, Price, Product, StockMovement, Store
from sync.central.service.base import CentralError
from tests.sync.conftest import Central
from tests.sync.test_central import on_hand

HEADER = "sku,name,price,tax_class,department,barcodes,weighed,scale_code\n"


@contextmanager
def statements(hub: Central) -> Iterator[list[str]]:
    """The statements sent while the block runs (an executemany counts once)."""
    sent: list[str] = []
    engine = hub.sessions.kw["bind"]

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    sa_event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        sa_event.remove(engine, "before_cursor_execute", note)


def feed(hub: Central, store: str, after: int, kind: str) -> list[FeedChange]:
    with hub.sessions() as s:
        store_id = s.scalar(select(Store.id).where(Store.code == store))
        return list(
            s.scalars(
                select(FeedChange)
                .where(FeedChange.store_id == store_id, FeedChange.seq > after, FeedChange.type == kind)
                .order_by(FeedChange.seq)
            )
        )


def head(hub: Central, store: str) -> int:
    with hub.sessions() as s:
        return int(s.scalar(select(Store.feed_seq).where(Store.code == store)) or 0)


def catalog(n: int, start: int = 0, price: str = "1.00") -> str:
    return HEADER + "".join(f"K{i:05d},Item {i},{price},std,bulk,20{i:011d},no,\n" for i in range(start, n))


def run(hub: Central, work: Callable[[Any], Any]) -> list[str]:
    with statements(hub) as sent, hub.sessions.begin() as s:
        work(s)
    return sent


# ---------------------------------------------------------------- catalog


def test_a_catalog_import_sends_as_many_statements_for_600_products_as_for_60(central: Central) -> None:
    small = len(run(central, lambda s: service.import_catalog(s, catalog(60))))
    large = len(run(central, lambda s: service.import_catalog(s, catalog(660, start=60))))
    # (On SQLite an IN takes 500 values at most: a query of each kind more per 500.)
    assert small <= 30 and large <= small + 6, (small, large)
    # Again, every product known: updated, not inserted, and no price change where the price is the same.
    s1 = head(central, "S1")
    again = len(run(central, lambda s: service.import_catalog(s, catalog(660))))
    assert again <= 30
    assert feed(central, "S1", s1, protocol.CHANGE_PRICE) == []
    assert len(feed(central, "S1", s1, protocol.CHANGE_PRODUCT)) == 660


def test_what_an_import_publishes_is_what_the_product_reads_back(central: Central) -> None:
    before = {store: head(central, store) for store in ("S1", "S2")}
    with central.sessions.begin() as s:
        service.import_catalog(
            s,
            HEADER
            # A1: a new price, one barcode dropped, one kept with a new pack size, one added.
            + "A1,Apple juice 1 l,2.75,std,drinks,4006381333948:12 4006381333955,no,\n"
            # B2: the same price; takes scale code 00007, which C3 gives up on a later line.
            + "B2,Bananas,1.99,std,fruit,,yes,00007\n"
            + "C3,Coffee 500g,6.40,std,grocery,5012345678900,no,00008\n"
            # New, and takes A1's dropped barcode.
            + "D4,Dates,3.10,std,fruit,4006381333931,no,\n",
        )
    with central.sessions.begin() as s:
        service.import_catalog(
            s,
            HEADER + "C3,Coffee 500g,6.40,std,grocery,5012345678900,no,00007\n"
            "B2,Bananas,1.99,std,fruit,,yes,00008\n",
        )  # swapped back, in the other order
    with central.sessions() as s:
        products = {p.sku: p for p in s.scalars(select(Product))}
        assert {b.code: b.pack_qty for b in products["A1"].barcodes} == {
            "4006381333948": 12,
            "4006381333955": 1,
        }
        assert [b.code for b in products["D4"].barcodes] == ["4006381333931"]
        assert (products["B2"].scale_code, products["C3"].scale_code) == ("00008", "00007")
        assert products["A1"].name == "Apple juice 1 l"
        expected = {sku: service.product_payload(s, p) for sku, p in products.items()}
        prices = s.scalar(select(func.count()).select_from(Price))
    assert prices == 5  # A1, B2, C3 at first, A1's new one and D4's
    for store, seq in before.items():
        published = feed(central, store, seq, protocol.CHANGE_PRODUCT)
        last = {change.key: change.payload for change in published}
        assert last == expected  # the last change of each product is the product as stored
        priced = [(c.key, c.payload["price"]) for c in feed(central, store, seq, protocol.CHANGE_PRICE)]
        assert priced == [("A1", "2.75"), ("D4", "3.10")]


@pytest.mark.parametrize(
    ("rows", "line", "says"),
    [
        # A code held outside the file on line 3, a bad price on line 4: line 3 is told.
        (
            "X1,One,1.00,std,,,no,\nX2,Two,1.00,std,,4006381333931,no,\nX3,Three,abc,std,,,no,\n",
            3,
            "belongs to A1",
        ),
        # A bad line before a clash: the bad line is told.
        ("X1,One,1.00,nope,,,no,\nX2,Two,1.00,std,,4006381333931,no,\n", 2, "unknown tax class"),
        ("X1,One,1.00,std,,,no,\nX1,Again,1.00,std,,,no,\n", 3, "appears twice"),
        ("X1,One,1.00,std,,111 111,no,\n", 2, "given twice"),
        ("X1,One,1.00,std,,,no,00003\nX2,Two,1.00,std,,,no,00003\n", 3, "scale code 00003 is given twice"),
    ],
)
def test_a_bad_catalog_names_its_first_bad_line_and_changes_nothing(
    central: Central, rows: str, line: int, says: str
) -> None:
    before = head(central, "S1")
    with pytest.raises(CentralError) as err, central.sessions.begin() as s:
        service.import_catalog(s, HEADER + rows)
    assert str(err.value).startswith(f"line {line}:") and says in str(err.value)
    with central.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Product).where(Product.sku.like("X%"))) == 0
    assert head(central, "S1") == before


# ---------------------------------------------------------------- stock


def test_a_receipt_of_600_lines_sends_as_many_statements_as_one_of_60(central: Central) -> None:
    with central.sessions.begin() as s:
        service.import_catalog(s, catalog(600))
    skus = [f"K{i:05d}" for i in range(600)]
    lines = [stock.StockLine(sku, Decimal(i % 7 + 1)) for i, sku in enumerate(skus)]
    small = len(run(central, lambda s: stock.receive(s, "S1", lines[:60])))
    before = head(central, "S1")
    # The first 60 have a level now, the rest none yet; one sku twice.
    large = len(
        run(central, lambda s: stock.receive(s, "S1", [*lines, stock.StockLine(skus[0], Decimal(5))]))
    )
    assert small <= 25 and large <= small + 4, (small, large)
    assert on_hand(central, skus[0]) == Decimal(1 + 1 + 5)
    assert on_hand(central, skus[599]) == Decimal(599 % 7 + 1)
    changes = feed(central, "S1", before, protocol.CHANGE_STOCK)
    assert len(changes) == 600  # one per key, carrying the level it ends at
    assert changes[0].payload["on_hand"] == "7.000"
    with central.sessions() as s:
        moved = s.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.kind == "receipt")
        )
    assert moved == 60 + 601


def test_an_on_hand_import_and_a_transfer_of_many_lines_are_set_wise(central: Central) -> None:
    with central.sessions.begin() as s:
        service.import_catalog(s, catalog(400))
    skus = [f"K{i:05d}" for i in range(400)]
    counted = "sku,location,quantity\n" + "".join(f"{sku},floor,{i % 5}\n" for i, sku in enumerate(skus))
    sent = run(central, lambda s: stock.import_on_hand(s, "S1", counted, "opening stock"))
    assert len(sent) <= 25
    assert [on_hand(central, sku) for sku in skus[:6]] == [Decimal(n) for n in (0, 1, 2, 3, 4, 0)]
    moving = [stock.StockLine(sku, Decimal(1)) for i, sku in enumerate(skus) if i % 5]
    sent = run(central, lambda s: stock.transfer(s, "S1", "S2", moving))
    assert len(sent) <= 30
    assert on_hand(central, skus[1]) == 0 and on_hand(central, skus[1], store="S2") == 1
    # A line that cannot leave refuses the whole transfer, and nothing of it is written.
    with pytest.raises(stock.StockError, match="only 0.000 of K00001"), central.sessions.begin() as s:
        stock.transfer(
            s, "S1", "S2", [stock.StockLine(skus[2], Decimal(1)), stock.StockLine(skus[1], Decimal(1))]
        )
    assert on_hand(central, skus[2]) == 1 and on_hand(central, skus[2], store="S2") == 1


@pytest.mark.postgres
def test_the_facts_of_a_batch_are_taken_once_per_statement_on_postgres(pg_url: str) -> None:
    """A push's COPY of a hundred sales runs each facts statement once over the rows it wrote (migration 0023), not
    five plpgsql calls per sale (row triggers were more than half of PostgreSQL's CPU per pushed sale)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_url)  # migrated
    try:
        with engine.connect() as c:
            kinds = c.execute(
                text(
                    "SELECT tgrelid::regclass::text, tgtype & 1 = 1 FROM pg_trigger "
                    "WHERE NOT tgisinternal AND tgrelid IN ('sales'::regclass, 'applied_events'::regclass)"
                )
            ).all()
    finally:
        engine.dispose()
    assert sorted(kinds) == [("applied_events", False), ("sales", False)]  # (table, per row)


def test_a_new_store_gets_the_whole_catalog_in_as_many_statements_for_600_products_as_for_60(
    central: Central,
) -> None:
    with central.sessions.begin() as s:
        service.import_catalog(s, catalog(60))
    small = len(run(central, lambda s: service.create_store(s, "S3", "Third")))
    with central.sessions.begin() as s:
        service.import_catalog(s, catalog(600, start=60))
        stock.set_safety_stock(s, None, "K00007", Decimal(2))
    large = len(run(central, lambda s: service.create_store(s, "S4", "Fourth")))
    assert small <= 25 and large <= small + 6, (small, large)
    with central.sessions() as s:
        expected = {p.sku: service.product_payload(s, p) for p in s.scalars(select(Product))}
    published = {c.key: c.payload for c in feed(central, "S4", 0, protocol.CHANGE_PRODUCT)}
    assert published == expected  # A1's barcodes, B2 weighed, prices as they are now
    assert [(c.key, c.payload) for c in feed(central, "S4", 0, protocol.CHANGE_MINIMUM)] == [
        ("K00007", {"sku": "K00007", "qty": "2.000"})
    ]
