"""Taking a catalog snapshot instead of replaying the feed: a till's first sync, or a till whose cursor is below
the central store's compacted feed (`client.SnapshotNeeded`).

The snapshot streams in (`Client.snapshot`) and is applied in ONE transaction with the cursor it was taken at, so
exactly once holds as for a page: a till killed, or a stream cut off, keeps none of it and takes it again; every
change after the snapshot's cursor comes from the feed afterwards. Products, prices and stock, the bulk of it, are
written set-wise (executemany upserts, a batch at a time); everything else goes through the page applier, so its
rules stay in one place. On SQLite, when the till has no products yet, the product search index (FTS) is rebuilt
once at the end instead of row by row: the products table's triggers are set aside for the load and put back as
they were (read from the schema, so a change of the index's layout needs nothing here).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode, CentralStock, Department, Product, Setting, TaxClass
from app.db.types import utcnow
from app.domain import barcodes
from app.ids import new_id
from app.services import settings
from sync import protocol, replica
from sync.applier import _CANNOT_APPLY, _Applier
from sync.client import Client

log = logging.getLogger(__name__)

BATCH = 5_000  # changes written per statement set
_BULK = frozenset((protocol.CHANGE_PRODUCT, protocol.CHANGE_PRICE, protocol.CHANGE_STOCK))
# A bigger page cache while a big catalog loads (KiB, negative as SQLite wants it); the old size comes back after.
LOAD_CACHE_KIB = 64 * 1024

_PRODUCTS: Table = Product.__table__  # type: ignore[assignment]

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class SnapshotResult:
    applied: int
    cursor: int
    skipped: bool = False  # another process moved the cursor first: nothing was written
    parked: int = 0


def take_snapshot(
    factory: sessionmaker[Session], client: Client, progress: Progress | None = None
) -> SnapshotResult:
    """Take the store's snapshot and apply it with its cursor, in one transaction (IMMEDIATE on SQLite)."""
    with factory() as s:
        expected = replica.cursor(s)
    with client.snapshot() as snap, factory.begin() as s:
        row = s.get(Setting, replica.CURSOR_KEY)
        stored = int(row.value) if row is not None else 0
        if stored != expected:
            return SnapshotResult(0, stored, skipped=True)
        loader = BulkLoader(s)
        with loader:
            for batch in _batches(snap, BATCH):
                loader.apply(batch)
                if progress is not None:
                    progress(loader.applied, None)
        settings.put(s, replica.CURSOR_KEY, snap.cursor)
        s.flush()
        log.info("snapshot of %s applied: %s changes, cursor %s", snap.store, loader.applied, snap.cursor)
        return SnapshotResult(loader.applied, snap.cursor, parked=loader.parked)


def _batches(changes: Iterable[protocol.Change], size: int) -> Iterable[list[protocol.Change]]:
    batch: list[protocol.Change] = []
    for change in changes:
        batch.append(change)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class BulkLoader:
    """Applies a snapshot's changes in the caller's transaction: products, prices and stock set-wise, the rest
    through `_Applier` (parking what cannot be applied, as a page does). Use as a context manager: on SQLite the
    search index is rebuilt and the triggers put back on the way out."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.applied = 0
        self.parked = 0
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        self._insert = sqlite.insert if self.sqlite else postgresql.insert
        self._set_aside: list[tuple[str, str, str]] = []  # (type, name, sql) of what a fresh load puts back
        self.fresh = False
        self._rebuilt: list[str] = []  # search indexes (FTS, content='products') rebuilt after a fresh load
        self._cache_size: int | None = None
        self._applier = _Applier(session, park=True)
        self._departments: set[str] = set()
        self._tax_classes: set[str] = set()

    # -- the load's set-up and its end

    def __enter__(self) -> BulkLoader:
        has_products = self.s.scalar(select(func.count()).select_from(select(Product.id).limit(1).subquery()))
        self.fresh = not has_products
        if self.sqlite:
            self._cache_size = self.s.execute(text("PRAGMA cache_size")).scalar()
            self.s.execute(text(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}"))
            if self.fresh:
                # No products yet: the search index and the catalog's plain indexes are built once at the end, not
                # row by row (unique ones stay: they are what a conflict is found by). Only the triggers that feed
                # a search index rebuilt at the end are set aside; any other trigger goes on working. SQLite's DDL
                # is transactional, so a load that fails puts them all back as it rolls back.
                self._rebuilt = [
                    str(name)
                    for (name,) in self.s.execute(
                        text(
                            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%VIRTUAL TABLE%' "
                            "AND sql LIKE '%content=''products''%'"
                        )
                    )
                ]
                self._set_aside = [
                    (str(kind), str(name), str(sql))
                    for kind, name, sql in self.s.execute(
                        text(
                            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ('products', 'barcodes') "
                            "AND (type = 'trigger' OR (type = 'index' AND sql IS NOT NULL "
                            "AND upper(sql) NOT LIKE 'CREATE UNIQUE%'))"
                        )
                    )
                    if kind == "index" or any(table in str(sql) for table in self._rebuilt)
                ]
                for kind, name, _sql in self._set_aside:
                    self.s.execute(text(f'DROP {kind.upper()} "{name}"'))
        return self

    def __exit__(self, kind: object, *_rest: object) -> None:
        if not self.sqlite:
            return
        if kind is None and self.fresh:
            for _kind, _name, sql in self._set_aside:
                if _kind == "index":
                    self.s.execute(text(sql))
            for table in self._rebuilt:
                self.s.execute(text(f'INSERT INTO "{table}"("{table}") VALUES (\'rebuild\')'))
            for _kind, _name, sql in self._set_aside:
                if _kind == "trigger":
                    self.s.execute(text(sql))
        if self._cache_size is not None:
            self.s.execute(text(f"PRAGMA cache_size={int(self._cache_size)}"))

    # -- applying

    def apply(self, changes: list[protocol.Change]) -> None:
        """One batch, in feed order: runs of catalog changes set-wise, the others through the page applier."""
        run: list[protocol.Change] = []
        bulk = True
        for change in changes:
            is_bulk = change.type in _BULK
            if run and is_bulk != bulk:
                self._run(run, bulk)
                run = []
            bulk = is_bulk
            run.append(change)
        if run:
            self._run(run, bulk)

    def _run(self, changes: list[protocol.Change], bulk: bool) -> None:
        if bulk:
            self._catalog(changes)
        else:
            self._applier.parked = 0
            self._applier.apply(changes)
            self.parked += self._applier.parked
            self.applied += len(changes) - self._applier.parked
            self._departments.clear()
            self._tax_classes.clear()

    def _park(self, change: protocol.Change, exc: Exception) -> None:
        self._applier.parked = 0
        self._applier._park(change, exc)
        self.parked += 1

    def _catalog(self, changes: list[protocol.Change]) -> None:
        """Products (with their barcodes), prices and stock levels of a batch, a few statements each."""
        if not self._tax_classes:
            self._tax_classes = set(self.s.scalars(select(TaxClass.code)))
            self._departments = set(self.s.scalars(select(Department.code)))
        now = utcnow()
        products: dict[str, dict[str, Any]] = {}
        codes: dict[str, list[tuple[str, int]]] = {}
        prices: dict[str, Decimal] = {}
        stock: dict[tuple[str, str], dict[str, Any]] = {}
        departments: set[str] = set()
        done = 0
        for change in changes:
            try:
                if change.type == protocol.CHANGE_PRODUCT:
                    row, wanted = self._product_row(change.payload, now)
                    products[row["sku"]] = row
                    codes[row["sku"]] = wanted
                    prices.pop(row["sku"], None)
                    if row["department"] and row["department"] not in self._departments:
                        departments.add(row["department"])
                elif change.type == protocol.CHANGE_PRICE:
                    price = Decimal(change.payload["price"])
                    if change.key in products:
                        products[change.key]["price"] = price
                    else:
                        prices[change.key] = price
                else:
                    row = self._stock_row(change, now)
                    stock[(row["sku"], row["location"])] = row
            except (*_CANNOT_APPLY, ValidationError) as exc:
                self._park(change, exc)
                continue
            done += 1
        if departments:
            self._upsert(
                Department.__table__,  # type: ignore[arg-type]
                ("code",),
                [{"code": d, "name": d.replace("_", " ").capitalize()} for d in sorted(departments)],
                ("name",),
            )
            self._departments |= departments
        if products:
            self._products(products, codes)
        if prices:
            self.s.execute(
                update(_PRODUCTS)
                .where(_PRODUCTS.c.sku == bindparam("b_sku"))
                .values(price=bindparam("b_price"), updated_at=now),
                [{"b_sku": sku, "b_price": price} for sku, price in prices.items()],
            )
        if stock:
            self._upsert(CentralStock.__table__, ("sku", "location"), list(stock.values()), ())  # type: ignore[arg-type]
        self.applied += done

    def _product_row(self, p: dict[str, Any], now: Any) -> tuple[dict[str, Any], list[tuple[str, int]]]:
        """The product's row as `_Applier.product` writes it, and its barcodes (normalised codes, pack sizes)."""
        sku = str(p["sku"])
        tax = p.get("tax_class")
        if tax not in self._tax_classes:
            raise ValueError(f"tax class {tax!r} is not known here")
        name = str(p["name"])
        price = p.get("price")
        weighed = bool(p.get("weighed"))
        scale_code = p.get("scale_code") or None
        item_ref = str(scale_code) if scale_code else None
        wanted: dict[str, int] = {}
        for item in p.get("barcodes") or []:
            code = str(item["code"])
            key = barcodes.product_key(barcodes.parse(code)) or code
            wanted[key] = int(item.get("pack_qty") or 1)
        row = {
            "sku": sku,
            "name": name,
            "name_lower": name.lower(),
            "price": Decimal(price) if price is not None else Decimal(0),
            "tax_class": tax,
            "department": p.get("department") or None,
            "unit": "kg" if weighed else "ea",
            "weighed": weighed,
            "priced_by_barcode": item_ref is not None,
            "item_ref": item_ref,
            # A product without a price cannot be sold, whatever the central store's active flag says.
            "active": bool(p.get("active", True)) and price is not None,
            "updated_at": now,
        }
        return row, list(wanted.items())

    def _stock_row(self, change: protocol.Change, now: Any) -> dict[str, Any]:
        p = change.payload
        on_hand = Decimal(p["on_hand"])
        reserved = Decimal(p.get("reserved") or 0)
        return {
            "sku": str(p["sku"]),
            "location": str(p["location"]),
            "on_hand": on_hand,
            "reserved": reserved,
            "available": Decimal(p.get("available") or on_hand - reserved),
            "seq": change.seq,
            "updated_at": now,
        }

    def _upsert(
        self, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]], keep: tuple[str, ...]
    ) -> None:
        """INSERT ... ON CONFLICT (keys) DO UPDATE every column but `keep`, for all `rows` (dicts of the same
        columns). On SQLite straight through the driver's executemany, each value through its column type's bind
        processor (money to cents, times to UTC) as SQLAlchemy would: its per-row work was most of the time."""
        columns = list(rows[0])
        update_cols = [c for c in columns if c not in keys and c not in keep]
        if not self.sqlite:
            stmt = self._insert(table)
            self.s.execute(
                stmt.on_conflict_do_update(
                    index_elements=list(keys), set_={c: stmt.excluded[c] for c in update_cols}
                )
                if update_cols
                else stmt.on_conflict_do_nothing(),
                rows,
            )
            return
        dialect = self.s.get_bind().dialect
        processors = [table.c[c].type.bind_processor(dialect) for c in columns]
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        action = "DO NOTHING"
        if update_cols:
            action = "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in update_cols)
        sql = (
            f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}) ON CONFLICT ({", ".join(keys)}) {action}'
        )
        converted = [(i, proc) for i, proc in enumerate(processors) if proc is not None]
        values: list[list[Any]] = []
        for row in rows:
            value = list(row.values())
            for i, proc in converted:
                if value[i] is not None:
                    value[i] = proc(value[i])
            values.append(value)
        cursor = self.s.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, values)
        finally:
            cursor.close()

    def _products(self, rows: dict[str, dict[str, Any]], codes: dict[str, list[tuple[str, int]]]) -> None:
        table: Table = Product.__table__  # type: ignore[assignment]
        skus = list(rows)
        known: dict[str, str] = {}
        for start in range(0, 0 if self.fresh else len(skus), 500):
            chunk = skus[start : start + 500]
            for sku, pid in self.s.execute(select(Product.sku, Product.id).where(Product.sku.in_(chunk))):
                known[sku] = pid
        for sku, row in rows.items():
            row["id"] = known.get(sku) or new_id()
        self._upsert(
            table,
            ("sku",),
            [dict(row, reorder_level=Decimal(0)) for row in rows.values()],
            ("id", "reorder_level"),
        )
        barcode_table: Table = Barcode.__table__  # type: ignore[assignment]
        if known:
            ids = list(known.values())
            for start in range(0, len(ids), 500):
                self.s.execute(
                    barcode_table.delete().where(barcode_table.c.product_id.in_(ids[start : start + 500]))
                )
        wanted = [
            {"code": code, "product_id": rows[sku]["id"], "pack_qty": pack}
            for sku, items in codes.items()
            for code, pack in items
        ]
        if wanted:
            # A code another product had moves to this one, as the central store says.
            self._upsert(barcode_table, ("code",), wanted, ())
