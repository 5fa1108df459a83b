"""Tax rates on the till are kept exactly to 6 decimals (they were rounded to 3: 8.875 % became 8.9 %), old
databases are carried over by migration 0004, and the receipt prints the rate whole."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import alembic_config, make_engine, make_sessionmaker, migrate
from app.db.models import Barcode, Product, Store, TaxClass
from app.services import receipts, sales, shifts
from app.services.base import Actor
from tests.conftest import user_id


def test_migration_0004_carries_rates_over_to_millionths(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(text("INSERT INTO tax_classes (code, name, rate) VALUES ('RED', 'Reduced', 135)"))
        conn.execute(
            text(
                "INSERT INTO stores (id, code, name, address, currency, locale, timezone, tax_mode, tax_rounding,"
                " cash_rounding) VALUES ('s', 'S', 'S', '', 'EUR', 'en_IE', 'UTC', 'exclusive', 'order', 0)"
            )
        )
    migrate(engine)
    with make_sessionmaker(engine)() as s:
        assert s.get(TaxClass, "RED").rate == Decimal("0.135")  # type: ignore[union-attr]
        # What "order" meant (once per tax class and rate) is now called "rate": the store keeps its rule.
        assert s.scalars(select(Store.tax_rounding)).one() == "rate"
    engine.dispose()


def test_a_rate_is_kept_exactly_and_a_finer_one_refused_not_rounded(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        s.add(TaxClass(code="NY", name="New York", rate=Decimal("0.08875")))
    with db() as s:
        assert s.get(TaxClass, "NY").rate == Decimal("0.08875")  # type: ignore[union-attr]
    with pytest.raises(StatementError, match="more than 6 decimal places"), db.begin() as s:
        s.add(TaxClass(code="X", name="X", rate=Decimal("0.0887512")))


def test_a_sale_at_8_875_percent_is_taxed_and_printed_at_8_875_percent(db: sessionmaker[Session]) -> None:
    manager = Actor(user_id(db, "manager"))
    with db.begin() as s:
        s.add(TaxClass(code="NY", name="New York", rate=Decimal("0.08875")))
        s.flush()
        product = s.scalars(
            select(Product).join(Barcode).where(Barcode.pack_qty == 1, Product.weighed.is_(False)).limit(1)
        ).one()
        product.tax_class, product.price = "NY", Decimal("100.00")
        code = product.barcodes[0].code
        store = s.scalars(select(Store)).one()
        store.tax_mode, store.cash_rounding = "exclusive", Decimal(0)
        shifts.open_shift(s, manager, Decimal("100"))
    with db.begin() as s:
        sale = sales.start_sale(s, manager)
        view = sales.add_scan(s, manager, sale.id, code).sale
        assert view.tax_total == Decimal("8.88")  # 8.875 exactly, half up; at 8.9 % it was 8.90
        sales.add_tender(s, manager, sale.id, "cash", view.total)
        sales.complete_sale(s, manager, sale.id)
    with db() as s:
        data = receipts.receipt_data(s, sale.id)
        assert [(r.rate, r.tax) for r in data.tax_rows] == [(Decimal("0.08875"), Decimal("8.88"))]
        doc = receipts.receipt_document(s, sale.id)
    texts = [b.get("text", "") for b in doc["blocks"]]
    assert any("8.875%" in t for t in texts), texts
    assert "Tax added to prices; tax rounded per line" in texts
