"""The stock report below minimum and negative at the till (app.services.stock.below_minimum): a till enrolled with
a central store holds the store's stock as the central last said plus its own movements not sent yet (as Lookup
shows it), against the minimums the central sends (`minimum` changes: a product's own, else the store's for every
product); a terminal on its own holds its own ledger. Till migration 0022 takes a product's reorder level over as
its minimum."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

from alembic import command
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import alembic_config, make_engine, migrate
from app.db.models import CentralStock, OutboxEvent, Product, StockMinimum, StockMovement
from app.services import reports, settings
from sync import protocol, replica

Factory = sessionmaker[Session]
ZERO = Decimal(0)


def _page(session: Session, changes: list[tuple[str, dict[str, str]]]) -> None:
    cursor = replica.cursor(session)
    page = protocol.PullResponse(
        changes=[
            protocol.Change(seq=cursor + n, type=protocol.CHANGE_MINIMUM, key=key, payload=payload)
            for n, (key, payload) in enumerate(changes, start=1)
        ],
        next_cursor=cursor + len(changes),
        more=False,
    )
    replica.apply_page(session, cursor, page)


def _rows(db: Factory) -> list[tuple[str, str, str, str, str]]:
    with db() as s:
        report = reports.run(s, "stock", "today")
    return [(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in report.rows]


def test_an_enrolled_till_holds_the_stores_stock_against_the_minimums_the_central_sent(db: Factory) -> None:
    rng = random.Random(19)
    with db.begin() as s:
        settings.put(s, "sync.central_url", "https://central.example.test")
        s.execute(delete(StockMinimum))  # the demo's own minimums: this store takes the central's
        products = list(s.execute(select(Product.sku, Product.name).where(Product.active.is_(True))).all())
        chosen = rng.sample(products, 40)
        central: dict[str, Decimal] = {}
        for n, (sku, _name) in enumerate(chosen):
            for location in ("floor", "backroom"):
                qty = Decimal(rng.randint(-3, 12))
                s.add(CentralStock(sku=sku, location=location, on_hand=qty, reserved=ZERO, available=qty))
                central[sku] = central.get(sku, ZERO) + qty
            if n % 5 == 0:  # a sale not sent yet, and one sent already (the central's stock holds it)
                moves = [{"id": f"m{n}", "sku": sku, "location": "floor", "qty": "-2", "kind": "sale"}]
                s.add(OutboxEvent(type="sale.completed", payload={"movements": moves}, status="pending"))
                s.add(OutboxEvent(type="sale.completed", payload={"movements": moves}, status="sent"))
    own = {sku: Decimal(rng.randint(0, 6)) for sku, _name in chosen[::3]}
    with db.begin() as s:
        _page(s, [("*", {"sku": "*", "qty": "4"})] + [(k, {"sku": k, "qty": str(v)}) for k, v in own.items()])
    # The same figure, worked out product by product.
    unsent = {sku: Decimal(-2) for n, (sku, _name) in enumerate(chosen) if n % 5 == 0}
    want = []
    for sku, name in products:
        have = central.get(sku, ZERO) + unsent.get(sku, ZERO)
        least = own.get(sku, Decimal(4))
        if have < 0 or have < least:
            state = "Negative" if have < 0 else "Below minimum"
            want.append((sku, name, str(have), str(least), state))
    want.sort(key=lambda r: (r[4] != "Negative", Decimal(r[2]), r[0]))
    got = _rows(db)
    assert got == want
    assert {r[4] for r in got} == {"Negative", "Below minimum"}
    # A product's own minimum of 0 holds against the store's: below the store's, it is no longer below its own.
    below = next(r[0] for r in got if r[4] == "Below minimum" and r[0] not in own)
    with db.begin() as s:
        _page(s, [(below, {"sku": below, "qty": "0"})])
    assert below not in {r[0] for r in _rows(db)}
    # The store's minimum changes: the products without their own follow it.
    with db.begin() as s:
        _page(s, [("*", {"sku": "*", "qty": "0"})])
    after = _rows(db)
    assert after and all(Decimal(r[3]) == own.get(r[0], ZERO) for r in after)
    assert [r[:3] for r in after if r[4] == "Negative"] == [r[:3] for r in got if r[4] == "Negative"]


def test_a_terminal_on_its_own_holds_its_ledger(db: Factory) -> None:
    with db() as s:
        have: dict[str, Decimal] = {}
        for product_id, qty in s.execute(select(StockMovement.product_id, StockMovement.qty)):
            have[product_id] = have.get(product_id, ZERO) + qty
        active = select(Product.id, Product.sku).where(Product.active.is_(True), Product.weighed.is_(False))
        skus = dict(s.execute(active).all())
    below = {sku for p, sku in skus.items() if have.get(p, ZERO) < 3}
    got = _rows(db)
    assert below and {r[0] for r in got} == below  # the demo's: 3 of every item, none of the loose produce
    assert all(r[3] == "3" for r in got)


def test_the_migration_takes_a_products_reorder_level_over_as_its_minimum(db: Factory, db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0021")
    with engine.begin() as conn:
        two = list(conn.scalars(select(Product.sku).order_by(Product.sku).limit(2)))
        conn.execute(update(Product).values(reorder_level=ZERO))
        conn.execute(update(Product).where(Product.sku.in_(two)).values(reorder_level=Decimal("5.5")))
    migrate(engine)
    engine.dispose()
    with db() as s:
        kept = dict(s.execute(select(StockMinimum.sku, StockMinimum.qty)).all())
    assert kept == {sku: Decimal("5.5") for sku in two}
