"""Till speed (issue 26): the start-up revision check without alembic, the prefix search index, the bulk ledger
write. The speed itself is in benchmarks/ (sell.py, lookup.py); these show the behaviour stayed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.db import backup
from app.db.models import Location, Product, StockMovement
from app.services import catalog, stock


def test_the_head_revision_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from app.db.engine import alembic_config

    assert (
        backup.head_revision() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    )


def test_revision_files_that_are_not_plain_leave_the_answer_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (tmp_path / "0002_b.py").write_text('revision = "0002"\ndown_revision = "0001"\n')
    assert backup._plain_heads(tmp_path) == ["0002"]
    (tmp_path / "0003_c.py").write_text('revision = "0003"\ndown_revision = ("0001", "0002")\n')
    assert backup._plain_heads(tmp_path) is None


def test_the_search_index_keeps_prefix_entries_and_finds_by_every_word(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        sql = str(s.execute(text("SELECT sql FROM sqlite_master WHERE name = 'product_search'")).scalar())
        assert "prefix='2 3 4'" in sql and "detail='none'" in sql
        p = s.scalars(select(Product).where(Product.active.is_(True)).limit(1)).one()
        p.name = "Zyxwv Quokka_Jam Family Pack"  # the update trigger keeps the index current
    with db() as s:
        assert [v.id for v in catalog.search(s, "zyx quok")] == [p.id]
        assert [v.id for v in catalog.search(s, "quokka_jam fam")] == [
            p.id
        ]  # _ splits words, as in the index
        assert catalog.search(s, "zyx nothinglikeit") == []
        assert catalog.search(s, "___") == []


def test_shorter_names_come_first(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        a, b = s.scalars(select(Product).where(Product.active.is_(True)).limit(2)).all()
        a.name, b.name = "Qwzx Long Long Name", "Qwzx Short"
    with db() as s:
        assert [v.name for v in catalog.search(s, "qwzx")] == ["Qwzx Short", "Qwzx Long Long Name"]


def test_movements_written_at_once_are_all_there_with_their_balances(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        loc = s.scalars(select(Location).limit(1)).one()
        ids = list(s.scalars(select(Product.id).limit(3)))
        before = {i: stock.on_hand(s, i, loc.id) for i in ids}
        moves = [stock.MovementIn(i, loc.id, Decimal(-2), "sale") for i in ids]
        moves.append(stock.MovementIn(ids[0], loc.id, Decimal(0), "sale"))  # nothing moved: no row
        moves.append(stock.MovementIn(ids[0], loc.id, Decimal(-1), "sale"))
        rows = stock.record_movements(s, moves, "order", "cause-1", None)
        assert [(r.product_id, r.qty) for r in rows] == [
            (ids[0], -2),
            (ids[1], -2),
            (ids[2], -2),
            (ids[0], -1),
        ]
        payload = stock.movement_payload(s, rows)
        assert {m["id"] for m in payload} == {r.id for r in rows}
    with db() as s:
        assert s.scalar(select(func.count()).where(StockMovement.cause_id == "cause-1")) == 4
        assert stock.on_hand(s, ids[0], loc.id) == before[ids[0]] - 3
        assert stock.on_hand(s, ids[1], loc.id) == before[ids[1]] - 2


def test_a_setting_is_read_once_per_transaction_and_a_put_or_a_rolled_back_savepoint_is_seen(
    db: sessionmaker[Session],
) -> None:
    from sqlalchemy import event

    from app.services import settings

    key = "discount.threshold_percent"
    selects: list[str] = []
    with db.begin() as s:
        assert settings.get(s, key) == settings.DEFAULTS[key]
        event.listen(s.get_bind(), "before_cursor_execute", lambda *a: selects.append(a[2]))
        for _ in range(3):
            settings.get(s, key)
            settings.get(s, "sale.confirm_qty_above")  # another, never read in this transaction before
        # All read at once, however often and whichever is asked.
        assert not [q for q in selects if "settings" in q]
        settings.put(s, key, "15")
        assert settings.get(s, key) == "15"
        with s.begin_nested() as sp:
            settings.put(s, key, "40")
            assert settings.get(s, key) == "40"
            sp.rollback()
        assert settings.get(s, key) == "15"  # the savepoint's value went with it
    with db() as s:
        assert settings.get(s, key) == "15"  # committed, and read again in a new transaction


def test_a_sale_rung_up_leaves_no_session_to_the_cyclic_collector(db: sessionmaker[Session]) -> None:
    """Each step of a sale is a transaction of its own (the op helper's); `here` kept its transaction in the
    session's `info`, and every such session, with the rows it had loaded, waited for the cyclic collector."""
    from app.db.models import Barcode, StaffUser
    from app.services import sales, shifts
    from app.services.base import Actor
    from tests.garbage import left_for_the_collector

    with db.begin() as s:
        who = Actor(s.scalars(select(StaffUser.id).where(StaffUser.username == "cashier")).one())
        codes = list(s.scalars(select(Barcode.code).limit(3)))
        shifts.open_shift(s, who, Decimal("100.00"))

    def ring() -> None:
        with db.begin() as s:
            sale_id = sales.start_sale(s, who).id
        for code in codes:
            with db.begin() as s:
                total = sales.add_scan(s, who, sale_id, code).sale.total
        with db.begin() as s:
            sales.add_tender(s, who, sale_id, "card", total, card_last4="4242", approval_code="A1B2C3")
        with db.begin() as s:
            sales.complete_sale(s, who, sale_id)

    ring()  # the first sale fills the statement caches
    left = left_for_the_collector(ring)
    assert not {"Session", "SessionTransaction", "Connection"} & set(left), left
