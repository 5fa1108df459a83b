"""Money at the central store and on the till: tax rates kept exactly (CLI, database, wire, till, receipt), the
store's tax settings set at the central store and followed by its tills, and scale codes of imported items.

Every test runs on SQLite and on PostgreSQL (the `db_url` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import PrintJob, Product, Store, TaxClass
from app.documents.model import Document
from app.domain import barcodes
from app.services import catalog, sales
from devices.printers.escpos_render import render_escpos
from sync.central import cli, service
from sync.central.models import Product as CProduct
from sync.central.models import TaxClass as CTaxClass
from tests.sync.fleet import Hub, Till


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = Hub.start(db_url)
    yield h
    h.close()


def _run(db_url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["--database-url", db_url, *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def test_a_tax_rate_is_kept_exactly_or_refused(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(db_url, capsys, "set-tax-class", "ny", "0.08875", "--name", "New York")
    assert code == 0 and out == "tax class ny set to 0.08875 (8.875 %), kept exactly"
    code, out, err = _run(db_url, capsys, "set-tax-class", "ny", "0.0887512345")
    assert code == 2 and out == ""
    assert "more than 6 decimals" in err and "nothing was changed" in err and "Traceback" not in err
    code, out, _ = _run(db_url, capsys, "set-tax-class", "ca", "0.0725")
    assert out == "tax class ca set to 0.0725 (7.25 %), kept exactly"
    hub = Hub.start(db_url, stores=())
    try:
        with hub.sessions() as s:
            assert s.get(CTaxClass, "ny").rate == Decimal("0.08875")  # type: ignore[union-attr]
            assert s.get(CTaxClass, "ca").rate == Decimal("0.0725")  # type: ignore[union-attr]
            assert service.tax_class_payload(s.get(CTaxClass, "ny"))["rate"] == "0.088750"  # type: ignore[arg-type]
    finally:
        hub.close()


def test_store_tax_settings_set_centrally_price_the_tills_sales_and_print_on_its_receipt(
    hub: Hub, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    with till.factory() as s:  # what an enrolled store had: inclusive, per line, unrounded
        store = s.scalars(select(Store)).one()
        assert (store.tax_mode, store.tax_rounding, store.cash_rounding) == ("inclusive", "line", Decimal(0))
    assert _run(db_url, capsys, "set-tax-class", "std", "0.08875")[0] == 0
    code, out, _ = _run(
        db_url,
        capsys,
        "set-store-tax",
        "S1",
        "--mode",
        "exclusive",
        "--rounding",
        "line",
        "--cash-step",
        "0.05",
    )
    assert code == 0 and "tax exclusive, rounded per line, cash rounding 0.05" in out
    code, _, err = _run(db_url, capsys, "set-store-tax", "S1", "--cash-step", "0.03")
    assert code == 2 and "must be one of" in err
    till.sync()
    with till.factory() as s:
        store = s.scalars(select(Store)).one()
        assert (store.tax_mode, store.tax_rounding, store.cash_rounding) == (
            "exclusive",
            "line",
            Decimal("0.05"),
        )
        assert s.get(TaxClass, "std").rate == Decimal("0.08875")  # type: ignore[union-attr]
    till.open_shift()
    with till.factory.begin() as s:
        sale = sales.start_sale(s, till.actor)
        view = sales.add_scan(s, till.actor, sale.id, "4006381333931").sale  # A1 at 2.50
        # 2.50 x 8.875 % = 0.221875 -> 0.22 added on top; 2.72 due, 2.70 in cash.
        assert view.tax_total == Decimal("0.22") and view.total == Decimal("2.72")
        assert view.remaining_in_cash == Decimal("2.70")  # cash rounded to 0.05
        view = sales.add_tender(s, till.actor, sale.id, "cash", Decimal("5.00"))
        done = sales.complete_sale(s, till.actor, sale.id)
        assert done.change == Decimal("2.30") and done.sale.rounding == Decimal("-0.02")
    with till.factory() as s:
        job = s.scalars(select(PrintJob).where(PrintJob.id == done.receipt_job_id)).one()
        data = render_escpos(Document.from_json(job.document))
    # The rule, wrapped to the roll's 48 characters.
    assert b"Tax added to prices; tax rounded per line; cash\nrounded to 0.05" in data
    assert b"8.875%" in data and b"Cash rounding" in data


def test_scale_codes_of_imported_items_reach_the_till_and_its_labels_sell(
    hub: Hub, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "produce.csv"
    csv.write_text(
        "sku,name,price,tax_class,department,barcodes,weighed,scale_code\n"
        "B2,Bananas,1.99,std,fruit,,yes,00003\n"
        "P9,Pears,2.49,std,fruit,,yes,00009\n"
    )
    code, out, _ = _run(db_url, capsys, "import-catalog", str(csv))
    assert code == 0 and out == "imported 2 products"
    clash = tmp_path / "clash.csv"
    clash.write_text(
        "sku,name,price,tax_class,department,barcodes,weighed,scale_code\nC3,Coffee 500g,6.40,std,grocery,,no,00003\n"
    )
    code, _, err = _run(db_url, capsys, "import-catalog", str(clash))
    assert code == 2 and "scale code 00003 already belongs to B2" in err
    with hub.sessions() as s:
        assert s.scalars(select(CProduct.scale_code).where(CProduct.sku == "B2")).one() == "00003"
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    label = barcodes.make_variable_measure_code("20", "00003", Decimal("3.98"))  # a 2 kg price label
    with till.factory() as s:
        bananas = s.scalars(select(Product).where(Product.sku == "B2")).one()
        assert bananas.item_ref == "00003"
        found = catalog.find_scan(s, barcodes.parse(label))
        assert found.product.sku == "B2" and found.fixed_amount == Decimal("3.98")
        assert found.qty == Decimal("2.000")
    till.open_shift()
    with till.factory.begin() as s:
        sale = sales.start_sale(s, till.actor)
        view = sales.add_scan(s, till.actor, sale.id, label).sale
        assert [(ln.sku, ln.amount) for ln in view.lines] == [("B2", Decimal("3.98"))]
