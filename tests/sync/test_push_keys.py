"""The tables every pushed sale appends to keep no foreign keys on PostgreSQL (migration 0027): every id they hold
is one the central has just read. After varied pushes through the API, every such id is a row of its table; a row
that broke that rule would be found by the same check (on SQLite the key itself still refuses it)."""

from __future__ import annotations

import importlib
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Integer, Table, insert, inspect, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync import protocol
from sync.central.models import Base, Location, Product, StockMovement, Store
from tests.sync.conftest import Central
from tests.sync.test_central import event, movement, receipt, sale

KEYS = importlib.import_module("sync.central.migrations.versions.0027_push_tables_without_foreign_keys").KEYS


def orphans(session: Session) -> list[tuple[str, str, int]]:
    """(table, column, id) of every id in a key column of `KEYS` with no row in the table it names."""
    tables = Base.metadata.tables
    found = []
    for table_name, column, referred in KEYS:
        table: Table = tables[table_name]
        parent: Table = tables[referred]
        value = table.c[column]
        found.append(
            select(literal(table_name), literal(column), value.cast(Integer))
            .where(value.is_not(None), ~select(parent.c.id).where(parent.c.id == value).exists())
            .distinct()
        )
    return [(table, column, key) for table, column, key in session.execute(union_all(*found))]


def _busy_day(central: Central) -> None:
    """Receipts, sales of two tills (one beyond stock: a level made by the batch), a transfer to the other store,
    shifts, and the other store's own sale."""
    assert {r["status"] for r in central.push([receipt("A1", "10"), receipt("B2", "4")])} == {"applied"}
    batch = [event(protocol.SALE_COMPLETED, sale(f"S1-T1-{n}", "A1", "1")) for n in range(1, 4)]
    batch.append(event(protocol.SALE_COMPLETED, sale("S1-T1-4", "C3", "2")))
    opened = {"shift_id": str(uuid.uuid4()), "number": "S1-T1-SH1", "opening_float": "100.00"}
    batch.append(event(protocol.SHIFT_OPENED, opened))
    assert {r["status"] for r in central.push(batch)} == {"applied"}
    transfer = {
        "transfer_id": str(uuid.uuid4()),
        "number": "TR-1",
        "to_store": "S2",
        "movements": [movement("B2", "-2", "transfer")],
    }
    assert [r["status"] for r in central.push([event(protocol.TRANSFER_SENT, transfer)], "S1/T2")] == [
        "applied"
    ]
    other_till = [event(protocol.SALE_COMPLETED, sale("S1-T2-1", "B2", "1"))]
    assert [r["status"] for r in central.push(other_till, "S1/T2")] == ["applied"]
    mine = event(protocol.SALE_COMPLETED, sale("S2-T1-1", "A1", "1", store="S2"))
    assert [r["status"] for r in central.push([mine], "S2/T1")] == ["applied"]


def test_every_id_a_push_writes_is_a_row_of_its_table(central: Central) -> None:
    _busy_day(central)
    with central.sessions() as s:
        for table_name, column, _ in KEYS:
            held = Base.metadata.tables[table_name].c[column]
            # Each key column holds ids: the check would prove nothing of an empty one.
            assert s.scalar(select(held).where(held.is_not(None)).limit(1)), (table_name, column)
        assert orphans(s) == []


def test_the_keys_are_kept_on_sqlite_only(central: Central) -> None:
    dialect = central.sessions.kw["bind"].dialect.name
    with central.sessions() as s:
        inspector = inspect(s.connection())
        for table_name, column, referred in KEYS:
            keys = {
                (tuple(k["constrained_columns"]), k["referred_table"])
                for k in inspector.get_foreign_keys(table_name)
            }
            assert (((column,), referred) in keys) == (dialect == "sqlite"), (table_name, column, keys)
        # A key that was not in the list keeps its foreign key everywhere: the levels the movements sum into.
        levels = {k["referred_table"] for k in inspector.get_foreign_keys("stock_levels")}
        assert levels == {"locations", "products", "stores"}


@pytest.mark.parametrize("column", ["product_id", "location_id"])
def test_a_movement_of_a_product_or_place_that_is_not_there_is_found(central: Central, column: str) -> None:
    """The check can fail: a movement written with an id that is no row is listed (PostgreSQL), or refused by the
    key (SQLite)."""
    _busy_day(central)
    with central.sessions() as s:
        store = s.scalar(select(Store).where(Store.code == "S1"))
        assert store is not None
        location = s.scalar(select(Location).where(Location.store_id == store.id))
        product = s.scalar(select(Product).where(Product.sku == "A1"))
        assert location is not None and product is not None
        row = {
            "id": uuid.uuid4(),
            "store_id": store.id,
            "location_id": location.id,
            "product_id": product.id,
            "qty": 1,
            "kind": "adjustment",
            "cause_type": "test",
            "cause_id": "orphan",
            "seq": 1,
            "created_at": datetime.now(UTC),
        }
        row[column] = 999_999
    dialect = central.sessions.kw["bind"].dialect.name
    with central.sessions.begin() as s:
        if dialect == "sqlite":
            with pytest.raises(IntegrityError):
                s.execute(insert(StockMovement), [row])
            return
        s.execute(insert(StockMovement), [row])
    with central.sessions() as s:
        assert orphans(s) == [("stock_movements", column, 999_999)]
