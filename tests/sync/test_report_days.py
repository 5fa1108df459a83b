"""The closed days' sales rolled up for the reports (app.services.report_days), on SQLite and on a till database on
PostgreSQL: the reports give what the orders give whether a day is kept or not, a write to an order or a line of a
kept day makes the day forgotten (the triggers of till migration 0019), an open day is never kept, and a sale made
now forgets nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import alembic_config, make_engine, make_read_sessionmaker, make_sessionmaker, migrate
from app.db.models import Order, OrderLine, Product, ReportDay, ReportDayItem
from app.ids import new_id
from app.services import report_days, reports
from app.services.base import here

D = Decimal
REPORTS = ("hour", "department", "top_items", "discount_reasons")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def till(request: pytest.FixtureRequest, db_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{db_path}" if request.param == "sqlite" else request.getfixturevalue("till_pg_url")
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    if request.param == "postgres":  # the session's one database: emptied of what a test before wrote
        with factory.begin() as s:
            s.execute(delete(ReportDayItem))
            s.execute(delete(ReportDay))
            s.execute(delete(OrderLine))
            s.execute(delete(Order))
    yield factory
    engine.dispose()


def _sale(s: Session, at: datetime, picks: list[tuple[Product, int]], status: str = "completed") -> Order:
    order = Order(
        number=f"T-{new_id()}",
        channel="counter",
        status=status,
        terminal_code="01",
        created_at=at,
        completed_at=at if status == "completed" else None,
    )
    total = D(0)
    for n, (product, qty) in enumerate(picks, 1):
        amount = product.price * qty
        total += amount
        order.lines.append(
            OrderLine(
                line_no=n,
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                qty=D(qty),
                unit_price=product.price,
                tax_class=product.tax_class,
                tax_rate=D("0.2"),
                amount=amount,
            )
        )
    order.total = total
    s.add(order)
    s.flush()
    return order


def _rows(factory: sessionmaker[Session], first: date, last: date) -> dict[str, list[tuple[object, ...]]]:
    with factory.begin() as s:
        return {key: [tuple(r) for r in reports.run(s, key, "range", first, last).rows] for key in REPORTS}


def _live(factory: sessionmaker[Session], first: date, last: date) -> dict[str, list[tuple[object, ...]]]:
    """The reports with nothing kept: what the orders give."""
    with factory.begin() as s:
        s.execute(delete(ReportDay))
    got = _rows(factory, first, last)
    return got


def _kept_days(factory: sessionmaker[Session]) -> set[date]:
    with factory() as s:
        return set(s.scalars(select(ReportDay.day)))


def test_kept_days_give_what_the_orders_give_and_a_write_forgets_its_day(till: sessionmaker[Session]) -> None:
    with till.begin() as s:
        zone = ZoneInfo(here(s).timezone)
        today = datetime.now(zone).date()
        products = list(s.scalars(select(Product).order_by(Product.sku).limit(6)))
        days = [today - timedelta(days=n) for n in (12, 11, 10, 5)]
        # The sales' hours, none of them the hour of the sale made now (which counts in its own row).
        now_hour = datetime.now(zone).hour
        morning, noon, evening = (h + 1 if h == now_hour else h for h in (9, 13, 18))

        def at(day: date, hour: int) -> datetime:
            return datetime.combine(day, time(hour, 15), zone)

        sales = {}
        for i, day in enumerate(days):
            for hour in (morning, noon, evening):
                sales[day, hour] = _sale(
                    s, at(day, hour), [(products[i], 1 + hour % 3), (products[i + 1], 2)]
                )
        # A sale voided, a line voided and a parked sale: none counts.
        _sale(s, at(days[0], 10), [(products[5], 9)], status="voided")
        _sale(s, at(days[0], 11), [(products[5], 9)], status="parked")
        sales[days[0], noon].lines[1].voided = True
        sales[days[0], noon].total -= sales[days[0], noon].lines[1].amount
        # Discounts and an override, summed by reason (twice the same one, on two days) and by who approved.
        damaged = {"kind": "amount", "value": "0.50", "amount": "0.50", "reason": "damaged box"}
        sales[days[0], morning].lines[0].discount = damaged
        sales[days[3], noon].lines[1].discount = damaged
        line = sales[days[1], noon].lines[0]
        line.price_override = {"price": str(line.unit_price - D("0.25")), "reason": "price match"}
        sales[days[2], evening].order_discount = {"amount": "1.00", "reason": "regular customer"}
        _sale(s, datetime.now(zone), [(products[0], 1)])  # today: open, never kept
    first, last = days[0] - timedelta(days=1), today

    want = _live(till, first, last)
    assert want["department"] and want["top_items"] and len(want["hour"]) == 4  # the three hours and now's
    assert [r[:4] for r in want["discount_reasons"]] == [
        ("Price override", "price match", "? (own authority)", 1),
        ("Line discount", "damaged box", "? (own authority)", 2),
        ("Sale discount", "regular customer", "? (own authority)", 1),
    ]
    got = _rows(till, first, last)
    assert got == want
    kept = _kept_days(till)
    ended = {first + timedelta(days=n) for n in range((today - first).days)}
    week_before = {d - timedelta(days=7) for d in ended | {today}}
    assert kept == ended | week_before  # every ended day of both windows, today not
    assert _rows(till, first, last) == want  # read from what is kept

    # A line added to a sale of a kept day: that day is forgotten, the others stay, the figures follow.
    with till.begin() as s:
        order = s.get(Order, sales[days[1], morning].id)
        assert order is not None
        order.lines.append(
            OrderLine(
                line_no=9,
                product_id=products[4].id,
                sku=products[4].sku,
                name=products[4].name,
                qty=D(5),
                unit_price=products[4].price,
                tax_class=products[4].tax_class,
                tax_rate=D("0.2"),
                amount=products[4].price * 5,
            )
        )
        order.total += products[4].price * 5
    assert _kept_days(till) == kept - {days[1]}
    got = _rows(till, first, last)
    assert got != want and got == _live(till, first, last)
    want = got

    # A sale moved from one kept day to another (a clock put right): both days are forgotten.
    _rows(till, first, last)
    with till.begin() as s:
        s.execute(
            update(Order)
            .where(Order.id == sales[days[2], evening].id)
            .values(completed_at=at(days[3], evening) + timedelta(minutes=1))
        )
    assert _kept_days(till) == kept - {days[2], days[3]}
    got = _rows(till, first, last)
    assert got == _live(till, first, last)
    evening_row = next(r for r in got["hour"] if r[0] == f"{evening:02d}:00")
    assert evening_row[1] == 4  # the sale still counts, once

    # A line voided after the day was kept, and a sale deleted: each forgets its day.
    _rows(till, first, last)
    with till.begin() as s:
        s.execute(
            update(OrderLine).where(OrderLine.order_id == sales[days[0], morning].id).values(voided=True)
        )
    assert days[0] not in _kept_days(till)
    _rows(till, first, last)
    with till.begin() as s:
        s.execute(delete(OrderLine).where(OrderLine.order_id == sales[days[3], morning].id))
        s.execute(delete(Order).where(Order.id == sales[days[3], morning].id))
    assert days[3] not in _kept_days(till)
    assert _rows(till, first, last) == _live(till, first, last)

    # A sale completed now, and lines scanned into an open one: no kept day is forgotten.
    _rows(till, first, last)
    before = _kept_days(till)
    with till.begin() as s:
        _sale(s, datetime.now(UTC), [(products[2], 1)])
        _sale(s, datetime.now(UTC), [(products[3], 1)], status="open")
    assert _kept_days(till) == before


def test_a_read_only_session_keeps_nothing_and_sums_what_is_not_kept(db_path: Path) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    factory, reader = make_sessionmaker(engine), make_read_sessionmaker(engine)
    with factory.begin() as s:
        zone = ZoneInfo(here(s).timezone)
        today = datetime.now(zone).date()
        product = s.scalars(select(Product).limit(1)).one()
        for n in (3, 2):
            _sale(s, datetime.combine(today - timedelta(days=n), time(12), zone), [(product, n)])
    first = today - timedelta(days=3)
    with reader() as s:
        live = reports.run(s, "top_items", "range", first, today).rows
    assert _kept_days(factory) == set()
    with factory.begin() as s:  # one of the days kept, with a stale row left of another
        report_days.keep(s, str(zone), [first])
        s.add(
            ReportDayItem(
                zone=str(zone),
                day=first + timedelta(days=1),
                product_id="x",
                sku="STALE",
                name="stale",
                lines=1,
                qty=D(1),
                amount=D(1000),
            )
        )
    with reader() as s:
        assert reports.run(s, "top_items", "range", first, today).rows == live
        assert s.scalar(select(func.count()).select_from(ReportDay)) == 1
    assert live == [(product.sku, product.name, D(5), product.price * 5)]
    engine.dispose()


@pytest.mark.parametrize("zone", ["Europe/Warsaw", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe"])
def test_days_kept_across_the_clock_changes_give_what_the_stretch_gives(
    till: sessionmaker[Session], zone: str
) -> None:
    """Across the clock changes of spring and autumn, in zones whole, half and quarter hours from UTC (Lord Howe
    moves by half an hour): a sale every 50 minutes, so some fall just either side of each local midnight, and the
    hours are split where a UTC hour spans two local ones."""
    tz = ZoneInfo(zone)
    stretches = [(first, first + timedelta(days=11)) for first in (date(2026, 3, 25), date(2026, 9, 28))]
    with till.begin() as s:
        products = list(s.scalars(select(Product).order_by(Product.sku).limit(7)))
        for first, last in stretches:
            at = datetime.combine(first - timedelta(days=1), time(), tz).astimezone(UTC)
            end = datetime.combine(last + timedelta(days=2), time(), tz).astimezone(UTC)
            n = 0
            while at < end:
                _sale(s, at, [(products[n % 7], 1 + n % 3)])
                at += timedelta(minutes=50)
                n += 1
    for first, last in stretches:
        p = reports.Period("range", first, last, zone)
        with till.begin() as s:
            days = [first + timedelta(days=n) for n in range(12)]
            assert report_days.keep(s, zone, days) == set(days)
        with till.begin() as s:
            assert len(set(s.scalars(select(ReportDay.day).where(ReportDay.zone == zone)))) >= 12
            whole = report_days.items_between(s, *p.bounds())
            assert report_days.item_sums(s, p) == whole and len(whole) == 7
            per_hour: dict[int, tuple[int, Decimal]] = {}
            for (_, hour), (n, net) in report_days.hours_between(s, *p.bounds(), zone).items():
                n0, net0 = per_hour.get(hour, (0, D(0)))
                per_hour[hour] = (n0 + n, net0 + net)
            assert report_days.hour_sums(s, p) == per_hour and len(per_hour) == 24


def test_days_kept_before_the_discounts_were_kept_are_summed_again(tmp_path: Path) -> None:
    """Till migration 0020 keeps the discounts per day: the days kept before it (without their discounts) are
    forgotten by it, so the next report sums them again, discounts and all."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0019")
        conn.execute(
            text(
                "INSERT INTO report_days (zone, day, start_at, end_at) "
                "VALUES ('Europe/Dublin', '2026-01-05', '2026-01-05 00:00:00', '2026-01-06 00:00:00')"
            )
        )
    migrate(engine)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM report_days")) == 0
    engine.dispose()
