"""A cycle count with sales during it, end to end through the real central store on PostgreSQL: the till measures
the variance against the stock at the moment the item was counted, the central store works out the same variance
from the count's feed position and the till's later movements, and both end at what is on the shelf."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import Barcode, CentralStock, Product
from app.db.types import utcnow
from app.services import counts, shelf_labels
from sync.central import service
from sync.central.cli import main as central_cli
from tests.sync.conftest import _empty_postgres
from tests.sync.fleet import Hub, Till, central_counts, central_ledger

pytestmark = pytest.mark.postgres


@pytest.fixture
def hub(pg_url: str) -> Iterator[Hub]:
    _empty_postgres(pg_url)
    h = Hub.start(pg_url)
    yield h
    h.close()


def _till_floor(till: Till, sku: str) -> Decimal:
    with till.factory() as s:
        row = s.get(CentralStock, (sku, "floor"))
        return row.on_hand if row else Decimal(0)


def test_a_count_during_sales_at_two_tills_has_the_exact_variance_at_the_till_and_the_central(
    hub: Hub, tmp_path: Path
) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
    t1.sync()  # the catalog
    t1.receive("A1", 20)
    t1.sync()
    t2.sync()
    assert _till_floor(t1, "A1") == 20

    # The manager sets up a count of A1 on the floor; the associate scans one case of 6 (one unit was stolen:
    # 19 are on the shelf).
    with t1.factory.begin() as s:
        case = s.scalars(select(Barcode.code).where(Barcode.pack_qty == 6)).one()
        count = counts.setup(s, t1.actor, "floor", skus=["A1"])
        counts.scan(s, t1.actor, count.id, case)
    # Sales at both tills while the count goes on; the other till's reaches this one before the count is posted.
    t1.sell("A1", 2)
    t2.sell("A1", 3)
    t2.sync()
    t1.sync()
    with t1.factory.begin() as s:
        unit = s.scalars(
            select(Barcode.code).where(Barcode.pack_qty == 1).join(Product).where(Product.sku == "A1")
        )
        counts.scan(s, t1.actor, count.id, unit.first() or "A1")
        view = counts.set_counted(s, t1.actor, count.id, "A1", Decimal(19))
    (line,) = view.lines
    assert (line.counted, line.expected, line.variance) == (19, 20, -1)  # not 19 against 15

    with t1.factory.begin() as s:
        counts.post(s, t1.actor, count.id, "cycle count: shrink")
    t1.sync()
    t2.sync()
    assert t1.refused() == [] and t1.outbox_pending() == 0

    # The shelf: 19 counted, 5 sold since. The central store, and both tills through its feed, say 14.
    assert central_counts(hub, "S1")[("A1", "floor")] == -1
    assert central_ledger(hub, "S1")[("A1", "floor")] == 14
    assert _till_floor(t1, "A1") == 14
    assert _till_floor(t2, "A1") == 14


def test_a_count_set_up_at_the_central_reaches_the_store_tills_and_is_posted_there(
    hub: Hub, pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t1.sync()
    t1.receive("C3", 5)
    t1.sync()
    assert (
        central_cli(["--database-url", pg_url, "count-setup", "S1", "--sku", "C3", "--title", "Coffee"]) == 0
    )
    assert "sent to store S1" in capsys.readouterr().out
    assert central_cli(["--database-url", pg_url, "count-setup", "S1", "--location", "attic"]) != 0
    t1.sync()
    t1.sync()  # pulled twice: still one count
    with t1.factory() as s:
        (open_count,) = counts.open_counts(s)
        assert (open_count.title, open_count.lines) == ("Coffee", 1)
    with t1.factory.begin() as s:
        counts.scan(s, t1.actor, open_count.id, "5012345678900")
        counts.scan(s, t1.actor, open_count.id, "5012345678900")
        counts.post(s, t1.actor, open_count.id, "central count")
    t1.sync()
    t1.sync()
    assert central_counts(hub, "S1")[("C3", "floor")] == -3
    assert central_ledger(hub, "S1")[("C3", "floor")] == 2
    assert _till_floor(t1, "C3") == 2

    # A price change from the central reaches the till; its shelf label is printed from the changes since then.
    since = utcnow()
    with hub.sessions.begin() as s:
        service.import_catalog(
            s, "sku,name,price,tax_class,department,barcodes,weighed\nA1,Apple juice 1l,2.75,std,drinks,,no\n"
        )
    t1.sync()
    with t1.factory.begin() as s:
        assert [(i.sku, i.price_text) for i in shelf_labels.changed_since(s, since)] == [("A1", "€2.75")]
        printed = shelf_labels.print_changed_since(s, t1.actor, since)
        assert printed.skus == ["A1"] and len(printed.jobs) == 1
