"""The Reports workstation through the real window: Ctrl+8, the report and period boxes, the table with its chart,
exports to CSV and PDF by the buttons (the save dialog answered), a range given the wrong way round refused with a
message; screenshots at 1280x800 and 1024x768 and the PDF rendered to PNG under $SHOTS (default: counterline-shots in the temp folder) for a person to look at."""

from __future__ import annotations

import csv
import dataclasses
import random
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QFileDialog, QHeaderView
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Product, ReportDay
from app.services import report_days, reports, shifts, staff
from app.services.base import Actor, Changes, here
from app.services.sales import cart as sale_cart
from app.services.sales import completion as sale_completion
from app.services.sales import payments as sale_payments
from tests.db.test_reports import _ring
from tests.ui.contexts import signed_in
from tests.ui.shots import shots_dir
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.screens.report_chart import BarChart
from ui.screens.reports import ReportsScreen

Factory = sessionmaker[Session]
D = Decimal
SHOTS = shots_dir()


def shoot(widget: object, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    widget.grab().save(str(path))  # type: ignore[attr-defined]
    return path


@pytest.fixture
def context(db: Factory, qtbot: QtBot) -> Iterator[AppContext]:
    with signed_in(db, qtbot, "manager", "6666") as ctx:
        yield ctx


def busy_days(db: Factory, monkeypatch: pytest.MonkeyPatch, who: Actor) -> date:
    """Sales through today from 08:00 and on the same weekday a week before; returns today (store time)."""
    rng = random.Random(11)
    clock = [datetime.now(UTC)]
    # The steps of a sale that stamp a time (start, tender, completion) read the clock in their own modules.
    for module in (sale_cart, sale_payments, sale_completion, shifts, staff):
        monkeypatch.setattr(module, "now", lambda: clock[0])
    with db() as s:
        tz = ZoneInfo(here(s).timezone)
        products = list(
            s.scalars(
                select(Product)
                .where(
                    Product.weighed.is_(False), Product.priced_by_barcode.is_(False), Product.active.is_(True)
                )
                .order_by(Product.sku)
            )
        )
        s.expunge_all()
    today = datetime.now(tz).date()
    for day, count in ((today - timedelta(days=7), 18), (today, 26)):
        start = datetime.combine(day, time(8, 0), tz)
        clock[0] = start.astimezone(UTC)
        with db.begin() as s:
            shifts.open_shift(s, who, D("100.00"))
        for seconds in sorted(rng.uniform(0, 11 * 3600) for _ in range(count)):
            clock[0] = (start + timedelta(seconds=seconds)).astimezone(UTC)
            _ring(db, rng, who, who, rng.sample(products, 10))
        clock[0] = (start + timedelta(hours=11, minutes=30)).astimezone(UTC)
        with db.begin() as s:
            expected = shifts.x_report(s).expected_cash
            shifts.close_shift(s, who, {D("0.01"): int((expected - D("1.50")) / D("0.01"))}, {})
    monkeypatch.undo()
    return today


def settle(qtbot: QtBot, ctx: AppContext) -> None:
    # A loaded machine may take seconds; the speed is benchmarks/reports.py's figure.
    qtbot.waitUntil(ctx.ops.is_idle, timeout=30_000)


def reports_window(
    context: AppContext, qtbot: QtBot, size: tuple[int, int] = (1280, 800)
) -> tuple[MainWindow, ReportsScreen]:
    """The main window, signed in, shown at `size` and on the Reports screen by its key (Ctrl+8)."""
    assert context.user is not None
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    window.on_signed_in(context.user)
    settle(qtbot, context)
    qtbot.keyClick(window, Qt.Key.Key_8, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, context)
    screen = window.screens["reports"]
    assert isinstance(screen, ReportsScreen)
    return window, screen


def test_reports_workstation_shows_charts_and_exports_what_is_shown(
    db: Factory, context: AppContext, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert context.user is not None
    today = busy_days(db, monkeypatch, Actor(context.user.id))
    window, screen = reports_window(context, qtbot)
    assert window.current == "reports"
    assert window.title.text() == "Reports"
    screen.choose("hour", "today")
    settle(qtbot, context)
    assert screen.report is not None and screen.report.key == "hour"
    rows = screen.shown_rows()
    assert sum(int(r[1]) for r in rows) == 26 and sum(int(r[3]) for r in rows) == 18
    assert screen.chart.labels == [r[0] for r in rows] and len(screen.chart.series) == 2
    assert not screen.busy.isVisible()
    shoot(window, "reports-hour-1280x800")

    # Exports by the buttons: the dialog is answered with a file name; the files hold the rows on screen.
    target = {"name": ""}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (target["name"], ""))
    for key in ("department", "tenders", "cash_shift", "top_items", "discounts", "discount_reasons", "stock"):
        screen.choose(key, "today")
        settle(qtbot, context)
        assert screen.report is not None and screen.report.key == key
        shown = screen.shown_rows()
        target["name"] = str(tmp_path / f"{key}.csv")
        qtbot.mouseClick(screen.csv_btn, Qt.MouseButton.LeftButton)
        with open(target["name"], newline="", encoding="utf-8") as f:
            lines = list(csv.reader(f))
        assert lines[0] == [c.title for c in screen.report.columns]
        assert lines[1:] == [[str(v) for v in r] for r in screen.report.rows]
        assert len(lines) - 1 == len(shown)
        target["name"] = str(tmp_path / f"{key}.pdf")
        qtbot.mouseClick(screen.pdf_btn, Qt.MouseButton.LeftButton)
        assert not screen.pdf_btn.isEnabled()  # drawn and written off the GUI thread
        qtbot.waitUntil(screen.pdf_btn.isEnabled)
        text = subprocess.run(
            ["pdftotext", "-layout", target["name"], "-"], capture_output=True, check=True
        ).stdout.decode()
        assert screen.report.title in text
        for row in shown[:10]:
            assert all(cell in text for cell in row), (key, row)
        assert "saved to" in context.messages.text()
    assert screen.report is not None and screen.report.rows  # stock: the demo has items below their minimum
    shoot(window, "reports-stock-1280x800")
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "90",
            "-f",
            "1",
            "-l",
            "1",
            target["name"],
            str(SHOTS / "reports-stock-pdf"),
        ],
        check=True,
    )

    # The discounts summed by reason over both days, kept and open: a bar per reason, the rows' sums.
    screen.choose("discount_reasons", "range", today - timedelta(days=7), today)
    settle(qtbot, context)
    summed = screen.report
    assert summed is not None and summed.key == "discount_reasons" and summed.rows
    screen.choose("discounts", "range", today - timedelta(days=7), today)
    settle(qtbot, context)
    assert screen.report is not None and sum(int(r[3]) for r in summed.rows) == len(screen.report.rows)
    shoot(window, "reports-discounts-1280x800")
    screen.choose("discount_reasons", "range", today - timedelta(days=7), today)
    settle(qtbot, context)
    labels = screen.chart.labels
    assert len(labels) == len(set(labels)) and set(labels) == {str(r[1]) for r in summed.rows}
    shoot(window, "reports-discount-reasons-1280x800")

    screen.choose("department", "today")
    settle(qtbot, context)
    shoot(window, "reports-department-1280x800")
    # The spare width goes to the names: each figure stays beside its header, not pushed to the far edge.
    header = screen.table.horizontalHeader()
    assert header.sectionResizeMode(0) == QHeaderView.ResizeMode.Stretch and not header.stretchLastSection()
    last = screen.rows.columnCount() - 1
    assert header.sectionSize(last) < header.sectionSize(0)
    target["name"] = str(tmp_path / "department.pdf")
    qtbot.mouseClick(screen.pdf_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(screen.pdf_btn.isEnabled)
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", target["name"], str(SHOTS / "reports-pdf")],
        check=True,
    )
    window.resize(1024, 768)
    screen.choose("tenders", "week")
    settle(qtbot, context)
    qtbot.wait(10)
    shoot(window, "reports-tenders-1024x768")
    screen.choose("cash_shift", "range", today - timedelta(days=7), today)
    settle(qtbot, context)
    assert [r[5] for r in screen.report.rows] == [D("-1.50"), D("-1.50")]  # type: ignore[union-attr]
    shoot(window, "reports-cash-1024x768")
    # A wide table keeps its names whole and scrolls: its shift numbers are not squeezed to nothing.
    assert screen.table.horizontalHeader().stretchLastSection()
    assert screen.table.columnWidth(0) >= screen.table.fontMetrics().horizontalAdvance("S001-01-0000")

    # A range the wrong way round: said in the message bar, nothing else changes.
    before = screen.report
    screen.choose("hour", "range", today, today - timedelta(days=3))
    settle(qtbot, context)
    assert "before the first" in context.messages.text()
    assert screen.report is before and not screen.busy.isVisible()


def test_a_cashier_is_not_shown_the_store_reports(db: Factory, qtbot: QtBot) -> None:
    """Cash over and short per cashier is not for every role: a cashier's request is refused (or sent for a
    supervisor's approval where the window asks for one), and nothing is shown."""
    with signed_in(db, qtbot, "cashier", "1111") as ctx:
        screen = ReportsScreen(ctx)
        qtbot.addWidget(screen)
        with qtbot.waitSignal(ctx.ops.failed, timeout=5000) as refused:
            screen.choose("cash_cashier", "today")
        assert "view the store's reports" in str(refused.args[0])
        settle(qtbot, ctx)
        assert screen.report is None


def test_fulfilment_reports_in_the_main_window(
    db: Factory, context: AppContext, qtbot: QtBot, tmp_path: Path
) -> None:
    """Returns, pickups and the pack bench on the Reports screen of the real main window, at both sizes, and the
    pickups' PDF as a picture (tests/db/test_reports_fulfilment.py checks every figure)."""
    from tests.db.test_reports_fulfilment import fulfilment_days

    days = fulfilment_days(db, 5)
    window, screen = reports_window(context, qtbot)
    span = (days.first, days.second + timedelta(days=1))
    shots = [("pickups", (1280, 800)), ("pack", (1280, 800)), ("returns_disposition", (1024, 768))]
    for key, size in [*shots, ("pickups", (1024, 768))]:
        window.resize(*size)
        screen.choose(key, "range", *span)
        settle(qtbot, context)
        qtbot.wait(10)
        assert screen.report is not None and screen.report.key == key and screen.report.rows
        assert screen.chart.labels == [r[screen.report.chart_label] for r in screen.shown_rows()]
        shoot(window, f"reports-{key}-{size[0]}x{size[1]}")
    screen.choose("pickups", "range", *span)
    settle(qtbot, context)
    pdf = tmp_path / "pickups.pdf"
    screen.save_pdf(pdf)
    qtbot.waitUntil(screen.pdf_btn.isEnabled)
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", str(pdf), str(SHOTS / "reports-pickups-pdf")],
        check=True,
    )


@pytest.mark.parametrize(
    ("locale", "shown"),
    [("en_IE", "24/11/2026"), ("en_US", "11/24/2026"), ("de_DE", "24.11.2026"), ("ja_JP", "2026/11/24")],
)
def test_the_range_boxes_show_days_in_the_store_format(
    context: AppContext, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, locale: str, shown: str
) -> None:
    """As the Journal writes a day (the locale's short date), with the year in full."""
    monkeypatch.setattr(context, "here", dataclasses.replace(context.here, locale=locale))
    screen = ReportsScreen(context)
    qtbot.addWidget(screen)
    screen.first.setDate(QDate(2026, 11, 24))
    assert screen.first.text() == shown and screen.last.displayFormat() == screen.first.displayFormat()


def test_chart_labels_are_whole_when_they_fit_and_keep_both_ends_when_not(qtbot: QtBot) -> None:
    """The top items' names are read off the chart: whole when half the chart holds them (they were cut at 150 px
    with room to spare), else shortened in the middle so brand and size both stay; the bars keep their room."""
    chart = BarChart()
    qtbot.addWidget(chart)
    labels = ["Northstar Batteries AA Small", "Bluebell Hammer Small"]
    chart.set_data(labels, [("Sold", [D("55.54"), D("89.94")])], str)
    chart.resize(420, 300)
    width, texts = chart.label_texts()
    assert texts == labels and width <= 420 * 0.45
    chart.resize(280, 300)  # the chart's narrowest
    assert chart.width() == 280
    width, texts = chart.label_texts()
    assert texts[0] != labels[0] and "…" in texts[0]
    assert texts[0].startswith("North") and texts[0].endswith("Small")
    # With a negative value, the values need room on both sides of the axis: the bars still keep some between.
    width, _texts = chart.label_texts(negative=True)
    bars = (280 - BarChart.VALUE_W - 8) - (width + 8 + BarChart.VALUE_W)
    assert bars >= 0.1 * 280


def test_the_screen_keeps_the_ended_days_in_steps_while_shown_and_redraws_for_what_it_counts(
    db: Factory, context: AppContext, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert context.user is not None
    today = busy_days(db, monkeypatch, Actor(context.user.id))
    screen = ReportsScreen(context)
    qtbot.addWidget(screen)
    screen.show()
    asked: list[str] = []
    real = reports.open_report
    monkeypatch.setattr(reports, "open_report", lambda *a, **k: asked.append(a[2]) or real(*a, **k))
    screen.activate()
    settle(qtbot, context)
    with db() as s:
        kept = set(s.scalars(select(ReportDay.day)))
    assert len(kept) == reports.MAX_RANGE_DAYS + 7  # every day a range may ask for, in steps
    assert today - timedelta(days=7) in kept and today not in kept
    assert len(asked) == 1 and not screen.busy.isVisible()  # the steps' writes redraw nothing

    screen.on_changed(Changes(print_queue=True))
    screen.on_changed(Changes(sale=True))
    settle(qtbot, context)
    assert len(asked) == 2  # a sale redraws; a print job does not

    steps: list[int] = []
    monkeypatch.setattr(report_days, "keep_recent", lambda _s, most=31: steps.append(most) or 5)
    screen.activate()
    screen.hide()  # before the first step is back: no other one follows
    settle(qtbot, context)
    assert steps == [31]


def test_a_long_list_is_formatted_as_it_is_drawn_and_charted_by_its_labels(
    context: AppContext, qtbot: QtBot
) -> None:
    """A year's discounts are ~57,000 rows: the table formats the rows it draws (the screen took 5 s to make an
    item of every cell, and its chart drew a bar per row), the exports still carry every row."""
    screen = ReportsScreen(context)
    qtbot.addWidget(screen)
    screen.resize(1280, 800)
    screen.show()
    kinds = ("Price override", "Line discount", "Sale discount")
    rows: list[tuple[reports.Cell, ...]] = [
        ("2026-01-01 10:00", f"R-{n}", "Tea", kinds[n % 3], D(n % 7) + D("0.25"), "damaged", "A. Manager")
        for n in range(20_000)
    ]
    with context.factory() as s:  # the real report's columns, its rows made up
        real = reports.run(s, "discounts", "today")
    screen._show(dataclasses.replace(real, rows=rows))
    qtbot.wait(50)
    assert screen.rows.rowCount() == 20_000
    assert (
        0 < len(screen.rows._texts) <= 300
    )  # what was drawn, and the first 200 rows its columns are sized by
    assert screen.chart.labels == list(kinds)
    want = [sum((r[4] for r in rows if r[3] == k), D(0)) for k in kinds]
    assert screen.chart.series[0][1] == want
    shown = screen.shown_rows()
    assert len(shown) == 20_000 and shown[-1][1] == "R-19999" and shown[-1][4].endswith("0.25")


def test_an_export_to_a_folder_that_is_not_there_says_so_and_keeps_the_screen(
    context: AppContext, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = ReportsScreen(context)
    qtbot.addWidget(screen)
    screen.show()
    screen.choose("department", "today")
    settle(qtbot, context)
    for button, kind in ((screen.pdf_btn, "pdf"), (screen.csv_btn, "csv")):
        gone = tmp_path / "gone" / f"department.{kind}"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, _g=gone, **_k: (str(_g), ""))
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "could not be saved" in context.messages.text())
        assert screen.pdf_btn.isEnabled() and not gone.exists(), kind
        context.messages.clear()


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)])
def test_every_report_with_nothing_in_its_period_fits_its_titles_without_scrolling_sideways(
    context: AppContext, qtbot: QtBot, size: tuple[int, int]
) -> None:
    """A new store, or a quiet morning: each report of an empty day shows its whole column titles, and a table
    of a few columns does not scroll sideways (a column sized wider than its title pushed the last off the edge)."""
    window, screen = reports_window(context, qtbot, size)
    for key in ("hour", "department", "tenders", "top_items"):
        screen.choose(key, "today")
        settle(qtbot, context)
        qtbot.wait(10)
        assert screen.report is not None and screen.report.key == key and not screen.report.rows
        shoot(window, f"reports-{key}-empty-{size[0]}x{size[1]}")
        header = screen.table.horizontalHeader()
        metrics = header.fontMetrics()
        for c in range(screen.rows.columnCount()):
            title = str(screen.rows.headerData(c, Qt.Orientation.Horizontal))
            widest = max(metrics.horizontalAdvance(line) for line in title.splitlines())
            assert header.sectionSize(c) >= widest + 8, (key, title, header.sectionSize(c), widest)
        assert screen.table.horizontalScrollBar().maximum() == 0, key
    # A resize that changes nothing of the layout leaves the header alone (the titles are measured, not tried).
    screen.choose("hour", "today")
    settle(qtbot, context)
    titles = list(screen.rows.titles)
    changed: list[object] = []
    screen.rows.headerDataChanged.connect(lambda *args: changed.append(args))
    window.resize(size[0] + 8, size[1])
    qtbot.wait(20)
    assert screen.rows.titles == titles and not changed
