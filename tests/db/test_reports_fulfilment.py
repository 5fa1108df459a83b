"""The fulfilment reports (returns by reason and by disposition, pickups, the pack bench), figure by figure, against
the raw rows over randomized store days.

Returns of one to three lines with a reason, condition and disposition each (and one synced from another till with
none recorded); pickup and curbside orders made ready before or after their promise, some with the customer
waiting at the curb, collected, expired or still waiting; orders packed at the bench with wrong scans refused and
approvals used, some across local midnight. tests/db/test_reports.py works each figure out again from the rows
with code of its own; here it is compared with the service, the Reports screen's table, its CSV and its PDF.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Order, OrderLine, PackFigures, PickupRecord, ReturnLine
from app.ids import new_id
from app.services import reports
from app.services.base import here
from tests.db.test_reports import Days, context, expected, pdf_text, row_in_text
from ui.context import AppContext
from ui.screens.reports import ReportsScreen

__all__ = ["context"]  # the signed-in manager's context, a fixture of tests/db/test_reports.py

Factory = sessionmaker[Session]
D = Decimal
KEYS = ("returns", "returns_disposition", "pickups", "pack")
REASONS = ("faulty", "changed_mind", "wrong_size", "damaged")
CONDITIONS = ("new", "opened", "damaged", "defective")
DISPOSITIONS = ("floor", "quarantine", "vendor")


def _line(n: int, rng: random.Random) -> OrderLine:
    qty = D(rng.randint(1, 3))
    price = D(rng.randint(100, 5000)) / 100
    return OrderLine(
        id=new_id(),
        line_no=n,
        sku=f"R{n}",
        name=f"Item {n}",
        qty=qty,
        unit_price=price,
        tax_class="std",
        tax_rate=D(0),
        amount=(price * qty).quantize(D("0.01")),
    )


def fulfilment_days(db: Factory, seed: int) -> Days:
    rng = random.Random(seed)
    with db() as s:
        tz = ZoneInfo(here(s).timezone)
    today = datetime.now(tz).date()
    second = today - timedelta(days=2)
    first = second - timedelta(days=7)
    with db.begin() as s:
        for day in (first, second, second + timedelta(days=1)):
            evening = datetime.combine(day, time(17, 0), tz).astimezone(UTC)
            for n in range(rng.randint(3, 7)):  # returns, some after midnight
                when = evening + timedelta(minutes=rng.randint(0, 8 * 60))
                ret = Order(
                    id=new_id(),
                    number=f"RET-{seed}-{day.isoformat()}-{n}",
                    channel="return",
                    status="completed",
                    terminal_code="1",
                    created_at=when,
                    completed_at=when,
                    lines=[_line(i, rng) for i in range(1, rng.randint(2, 4))],
                )
                ret.total = sum((ln.amount for ln in ret.lines), D(0))
                s.add(ret)
                s.flush()
                synced = n == 0 and day == first  # from another till: nothing recorded here
                for ln in ret.lines:
                    if not synced:
                        s.add(
                            ReturnLine(
                                order_line_id=ln.id,
                                reason=rng.choice(REASONS),
                                condition=rng.choice(CONDITIONS),
                                disposition=rng.choice(DISPOSITIONS),
                            )
                        )
            for n in range(rng.randint(4, 9)):  # pickup and curbside orders made ready
                placed = evening + timedelta(minutes=rng.randint(-300, 300))
                ready = placed + timedelta(minutes=rng.randint(10, 240))  # the promise is two hours
                curbside = rng.random() < 0.6
                status = rng.choice(["collected", "collected", "collected", "expired", "ready"])
                arrived = ready + timedelta(minutes=rng.randint(-20, 90)) if curbside else None
                handed = None
                if status == "collected":
                    handed = (arrived or ready) + timedelta(seconds=rng.randint(30, 1800))
                external = {"arrived_at": arrived.isoformat()} if arrived is not None else {}
                if rng.random() < 0.2:  # the storefront's own promise
                    external["promised_at"] = (placed + timedelta(minutes=45)).isoformat()
                oid = new_id()
                s.add(
                    Order(
                        id=oid,
                        number=f"W-{seed}-{day.isoformat()}-{n}",
                        channel="web",
                        fulfilment="curbside" if curbside else "pickup",
                        status=status,
                        created_at=placed,
                        external=external,
                    )
                )
                s.flush()
                s.add(PickupRecord(order_id=oid, ready_at=ready, handed_at=handed))
            for n in range(rng.randint(3, 8)):  # the pack bench
                started = evening + timedelta(minutes=rng.randint(0, 7 * 60))
                oid = new_id()
                s.add(
                    Order(
                        id=oid,
                        number=f"P-{seed}-{day.isoformat()}-{n}",
                        channel="web",
                        fulfilment="ship",
                        status="packed",
                        created_at=started,
                    )
                )
                s.flush()
                s.add(
                    PackFigures(
                        order_id=oid,
                        started_at=started,
                        packed_at=started + timedelta(seconds=rng.randint(40, 1500)),
                        scans=rng.randint(1, 30),
                        errors=rng.choice([0, 0, 1, 2]),
                        approvals=rng.choice([0, 0, 0, 1]),
                    )
                )
    return Days(first, second, [], tz)


@pytest.mark.parametrize("seed", [3, 2026])
def test_fulfilment_figures_agree_with_the_raw_rows_the_screen_and_the_exports(
    db: Factory, qtbot: QtBot, context: AppContext, seed: int
) -> None:
    days = fulfilment_days(db, seed)
    screen = ReportsScreen(context)
    qtbot.addWidget(screen)
    screen.resize(1280, 700)
    screen.show()
    mismatches: list[str] = []
    periods: list[tuple[date, date]] = [
        (days.first, days.first),
        (days.first, days.first + timedelta(days=1)),
        (days.second, days.second + timedelta(days=1)),
        (days.first, days.second + timedelta(days=1)),
    ]
    for first, last in periods:
        for key in KEYS:
            with db() as s:
                got = reports.run(s, key, "range", first, last)
                want = expected(s, days, key, first, last)
            if [tuple(r) for r in got.rows] != want:
                mismatches.append(f"{key} {first}..{last}: service {got.rows} != raw rows {want}")
            screen.choose(key, "range", first, last)
            qtbot.waitUntil(context.ops.is_idle)
            assert screen.report is not None and screen.report.key == key
            shown = screen.shown_rows()
            formatted = [
                [screen.cell_text(c.kind, v) for c, v in zip(got.columns, r, strict=True)] for r in want
            ]
            if shown != formatted:
                mismatches.append(f"{key} {first}..{last}: screen {shown} != {formatted}")
            rows = list(csv.reader(io.StringIO(screen.csv_text())))
            if rows[1:] != [[str(v) for v in r] for r in want]:
                mismatches.append(f"{key} {first}..{last}: CSV {rows[1:]}")
            text = pdf_text(screen.pdf_bytes())
            missing = [r for r in shown if not row_in_text(r, text)]
            if missing:
                mismatches.append(f"{key} {first}..{last}: not in the PDF {missing}")
    assert mismatches == []

    # What the days held, so that the comparison meant something.
    with db() as s:
        span = (days.first, days.second + timedelta(days=1))
        every = {k: reports.run(s, k, "range", *span).rows for k in KEYS}
        n_ready = len(list(s.scalars(select(PickupRecord))))
    assert any(r[0] == "not recorded" for r in every["returns"])
    assert {str(r[0]) for r in every["returns_disposition"]} >= {"floor", "quarantine", "vendor"}
    (everything,) = [[int(c) for c in r[1:8]] for r in every["pickups"] if r[0] == "All"]
    made, on_time, late, _pct, _collected, no_shows, waits = everything
    assert made <= n_ready and on_time > 0 and late > 0
    assert no_shows > 0 and waits > 0
    assert sum(int(r[3]) for r in every["pack"]) > 0 and len(every["pack"]) >= 3
