"""Reports workstation (Ctrl+8): one store report at a time over a period, its table with a bar chart beside it,
exported to CSV and PDF exactly as shown.

The figures come from `app.services.reports` as plain rows; this screen only formats them (money in the store's
locale and currency) and draws them. Charts are drawn here with QPainter rather than QtCharts: QtCharts needs
PySide6-Addons, a 175 MB wheel for a handful of bar charts that a hundred lines draw just as well, and the same
widget's `grab()` is the picture the PDF carries.
"""

from __future__ import annotations

import csv
import io
import re
import textwrap
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import UnknownLocaleError
from babel.dates import format_date, get_date_format
from babel.numbers import format_currency, format_decimal
from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain import figures
from app.services import report_days, reports
from app.services.base import Changes
from ui import threads
from ui.context import AppContext
from ui.screens.report_chart import BarChart


def qt_date_format(locale: str) -> str:
    """The locale's short date pattern (CLDR, as babel's `format_date(..., "short")` writes a day) as a Qt display
    format: day and month letters are the same in both; the year always has four digits (a two-digit year typed
    into a date box would be read in the wrong century)."""
    try:
        pattern = get_date_format("short", locale=locale).pattern
    except (ValueError, UnknownLocaleError):
        return "yyyy-MM-dd"
    out = []
    for run in re.findall(r"(y+|d+|M+|'[^']*'|[^ydM']+)", pattern):
        if run.startswith("y"):
            out.append("yyyy")
        elif run[0] in "dM" or run.startswith("'"):
            out.append(run)
        elif not any(ch.isalpha() for ch in run):
            out.append(run)
    return "".join(out) or "yyyy-MM-dd"


def _two_lines(title: str) -> str:
    """A long column title on two lines ("Sales a week" over "before"); a short one as it is."""
    if len(title) <= 12:
        return title
    return textwrap.fill(title, -(-len(title) * 3 // 5), break_long_words=False)


class ReportModel(QAbstractTableModel):
    """A report's rows as its table shows them, each row formatted when it is first drawn or read: a year's
    discounts are ~57,000 rows, and formatting them all (items made for every cell) took the screen seconds."""

    def __init__(self, text: Callable[[str, reports.Cell], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = text
        self.report: reports.Report | None = None
        self.titles: list[str] = []
        self._texts: dict[int, list[str]] = {}

    def set_report(self, report: reports.Report, titles: list[str]) -> None:
        self.beginResetModel()
        self.report, self.titles, self._texts = report, titles, {}
        self.endResetModel()

    def set_titles(self, titles: list[str]) -> None:
        """The same columns' titles laid out again (on one line or two): the rows stay as they are."""
        if titles != self.titles and len(titles) == len(self.titles):
            self.titles = titles
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(titles) - 1)

    def row_texts(self, row: int) -> list[str]:
        assert self.report is not None
        texts = self._texts.get(row)
        if texts is None:
            cells = zip(self.report.columns, self.report.rows[row], strict=True)
            texts = self._texts[row] = [self.text(c.kind, v) for c, v in cells]
        return texts

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() or self.report is None else len(self.report.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() or self.report is None else len(self.report.columns)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if self.report is None or not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.row_texts(index.row())[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and self.report.columns[index.column()].kind != "text":
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def headerData(  # noqa: N802 - Qt's name
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.titles[section] if section < len(self.titles) else None
        return None


class ReportsScreen(QWidget):
    title = "Reports"
    pdf_saved = Signal(str, str)  # the file's name, and why it could not be saved ('' when it was)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.report: reports.Report | None = None
        self._keeping = False  # a step of keeping the ended days is queued (_keep_days)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)

        bar = QHBoxLayout()
        self.which = QComboBox()
        for key, (title, _fn) in reports.REPORTS.items():
            self.which.addItem(self.tr(title), key)
        self.when = QComboBox()
        for kind in reports.PERIOD_KINDS:
            self.when.addItem(self.tr(reports.PERIOD_WORDS[kind]), kind)
        today = QDate.currentDate()
        self.first = QDateEdit(today)
        self.last = QDateEdit(today)
        for edit in (self.first, self.last):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat(qt_date_format(ctx.here.locale))  # the store's short date, as the Journal
        self.show_btn = QPushButton(self.tr("Show"))
        self.show_btn.setObjectName("primary")
        self.csv_btn = QPushButton(self.tr("Export CSV"))
        self.pdf_btn = QPushButton(self.tr("Export PDF"))
        for w in (self.which, self.when, self.first, self.last, self.show_btn, self.csv_btn, self.pdf_btn):
            w.setMinimumHeight(48)
        for b in (self.show_btn, self.csv_btn, self.pdf_btn):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bar.addWidget(self.which, 3)
        bar.addWidget(self.when, 2)
        bar.addWidget(self.first, 2)
        bar.addWidget(self.last, 2)
        bar.addWidget(self.show_btn, 1)
        bar.addWidget(self.csv_btn, 1)
        bar.addWidget(self.pdf_btn, 1)
        lay.addLayout(bar)

        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 18px; font-weight: 600;")
        # A long range over a busy year takes seconds: say it is being worked out; the counter does not wait.
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(200)
        self.busy.setFormat(self.tr("Working it out"))
        self.busy.hide()
        ctx.ops.busy_changed.connect(lambda busy: None if busy else self.busy.hide())
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.busy)
        lay.addLayout(top)
        self.body = body = QHBoxLayout()
        self.rows = ReportModel(self.cell_text, self)
        self.table = QTableView()
        self.table.setModel(self.rows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(32)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Columns sized to the rows drawn and the first 200 (Qt measures 1,000: a fifth of a year's discounts' opening).
        self.table.horizontalHeader().setResizeContentsPrecision(200)
        # The titles as they fit one line, and on two lines for a table without the room (`_fit_columns`).
        self._titles: tuple[list[str], list[str]] = ([], [])
        self._stretch: int | None = None
        self.table.viewport().installEventFilter(self)
        self.chart = BarChart()
        body.addWidget(self.table, 3)
        body.addWidget(self.chart, 2)
        lay.addLayout(body, 1)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #4b5563;")
        lay.addWidget(self.note)

        self.which.currentIndexChanged.connect(lambda _i: self.refresh())
        self.when.currentIndexChanged.connect(lambda _i: self._period_changed())
        self.show_btn.clicked.connect(lambda _c=False: self.refresh())
        self.csv_btn.clicked.connect(lambda _c=False: self._ask_export("csv"))
        self.pdf_btn.clicked.connect(lambda _c=False: self._ask_export("pdf"))
        self.pdf_saved.connect(self._saved)
        self._period_changed(load=False)

    # -- choosing ---------------------------------------------------------------------------------------------
    def activate(self) -> None:
        self.refresh()
        if not self._keeping:
            self._keep_days()

    def _keep_days(self) -> None:
        """The ended days a report may ask for are summed and kept in steps of a month while the screen is shown
        (app.services.report_days), each its own short transaction after what was asked: a year's first opening
        then finds them kept instead of summing a year while the person waits."""
        self._keeping = True

        def done(left: int) -> None:
            self._keeping = False
            if left and self.isVisible():
                self._keep_days()

        def failed(message: str) -> None:  # the reports sum the days themselves when they need them
            self._keeping = False

        self.ctx.ops.run(lambda s, _a: report_days.keep_recent(s), done, failed)

    def on_changed(self, changes: Changes) -> None:
        # What the reports count changed: not a write that concerns no screen (the kept days themselves).
        touched = changes.sale or changes.orders or changes.stock or changes.shift or changes.catalog
        if self.isVisible() and (touched or changes.staff or changes.settings):
            self.refresh()

    def _period_changed(self, load: bool = True) -> None:
        ranged = self.when.currentData() == "range"
        self.first.setVisible(ranged)
        self.last.setVisible(ranged)
        if load:
            self.refresh()

    def choose(self, key: str, kind: str, first: date | None = None, last: date | None = None) -> None:
        """Pick a report and a period as a person would with the boxes (tests and the Office's links use it)."""
        self.which.blockSignals(True)
        self.when.blockSignals(True)
        self.which.setCurrentIndex(self.which.findData(key))
        self.when.setCurrentIndex(self.when.findData(kind))
        if first is not None:
            self.first.setDate(QDate(first.year, first.month, first.day))
        if last is not None:
            self.last.setDate(QDate(last.year, last.month, last.day))
        self.which.blockSignals(False)
        self.when.blockSignals(False)
        self._period_changed()

    def refresh(self) -> None:
        key = str(self.which.currentData())
        kind = str(self.when.currentData())
        first = self.first.date().toPython() if kind == "range" else None
        last = self.last.date().toPython() if kind == "range" else None
        assert (first is None or isinstance(first, date)) and (last is None or isinstance(last, date))
        self.busy.show()
        self.ctx.ops.run(lambda s, a: reports.open_report(s, a, key, kind, first, last), self._show)

    # -- showing ----------------------------------------------------------------------------------------------
    def cell_text(self, kind: str, value: reports.Cell) -> str:
        if kind == "money":
            return format_currency(Decimal(value), self.ctx.here.currency, locale=self.ctx.here.locale)
        if kind == "qty":
            return str(format_decimal(Decimal(value), locale=self.ctx.here.locale))
        if kind in ("minutes", "percent") and value != "":  # one decimal place, as the figure is kept
            return str(format_decimal(Decimal(value), "#,##0.0", locale=self.ctx.here.locale))
        return str(value)

    def period_text(self, p: reports.Period) -> str:
        loc = self.ctx.here.locale
        first = format_date(p.first, "medium", locale=loc)
        if p.first == p.last:
            return first
        return f"{first} – {format_date(p.last, 'medium', locale=loc)}"

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize and watched is self.table.viewport():
            self._fit_columns()
        return False

    def _fit_columns(self) -> None:
        """Lay the columns out for the table's width: the titles on one line where they fit, on two where they do
        not (at 1024 px the hour report's "a week before" columns pushed the last one off the edge), and the
        column that takes the spare width never narrower than its title and cells: when nothing is spare it is
        sized to them and the table scrolls (stretched, it was squeezed to a cut "Hou")."""
        report = self.report
        if report is None or not report.columns:
            return
        header = self.table.horizontalHeader()
        metrics = header.fontMetrics()

        def text_width(title: str) -> int:
            return max(metrics.horizontalAdvance(line) for line in title.splitlines() or [""])

        # What a section needs besides its title's text (margins, padding), from the titles shown now, so each
        # layout of the titles is measured without being put in the header first.
        shown = self.rows.titles
        columns = range(len(report.columns))
        pads = [header.sectionSizeHint(c) - text_width(shown[c]) for c in columns]
        cells = [self.table.sizeHintForColumn(c) for c in columns]

        def wanted(titles: list[str]) -> int:
            return sum(max(pads[c] + text_width(titles[c]), cells[c]) for c in columns)

        room = self.table.viewport().width()
        one_line, two_lines = self._titles
        titles = one_line if wanted(one_line) <= room else two_lines
        self.rows.set_titles(titles)
        if self._stretch is not None:
            fits = wanted(titles) <= room
            mode = QHeaderView.ResizeMode.Stretch if fits else QHeaderView.ResizeMode.ResizeToContents
            if header.sectionResizeMode(self._stretch) != mode:
                header.setSectionResizeMode(self._stretch, mode)

    def _show(self, report: reports.Report) -> None:
        self.report = report
        self.busy.hide()  # shown; what the op helper runs after it (days being kept) is not this report
        self.heading.setText(f"{self.tr(report.title)} · {self.period_text(report.period)}")
        self.note.setText(self.tr(report.note))
        titles = [self.tr(c.title) for c in report.columns]
        widest = len(titles) > 8  # pickups' ten columns fit at 1024 px with titles on two or three lines
        if widest:
            titles = [textwrap.fill(t, 6, break_long_words=False) for t in titles]
        self.chart.setMinimumWidth(160 if widest else 280)
        self._titles = (titles, titles if widest else [_two_lines(t) for t in titles])
        self.rows.set_report(report, titles)
        # Wide tables (shifts, discounts) take more of the width from the chart so their columns fit at 1024 px;
        # a list charted by its labels' sums (the discounts by reason: three columns of names, a few bars) some.
        wide = len(report.columns) > 5
        self.body.setStretch(0, 6 if widest else 4 if wide else 2 if report.chart_sums else 3)
        self.body.setStretch(1, 1 if wide or report.chart_sums else 2)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # In a narrow table the spare width goes to the names (the chart's labels), so each figure stays under its
        # header. A wide one (it may scroll at 1024 px) and a table of figures alone stretch their last column: a
        # stretched name would be squeezed to nothing there.
        texts = [i for i, col in enumerate(report.columns) if col.kind == "text"]
        stretch = (
            None
            if wide
            else report.chart_label
            if report.chart_label in texts
            else texts[0]
            if texts
            else None
        )
        header.setStretchLastSection(stretch is None and bool(report.columns))
        self._stretch = stretch
        self._fit_columns()
        money = report.columns[report.chart_values[0]].kind if report.chart_values else "money"
        at = report.chart_label
        if report.chart_sums:  # a list (a year's discounts: ~57,000 rows): a bar per label, its rows summed
            bars = figures.summed_by_label(report.rows, at, report.chart_values)
            labels = [label for label, _sums in bars]
            values = [[sums[k] for _label, sums in bars] for k in range(len(report.chart_values))]
        else:
            labels = [str(row[at]) for row in report.rows]
            values = [[Decimal(row[i]) for row in report.rows] for i in report.chart_values]
        self.chart.set_data(
            labels,
            [(self.tr(report.columns[i].title), v) for i, v in zip(report.chart_values, values, strict=True)],
            lambda v: self.cell_text(money, v),
        )

    def shown_rows(self) -> list[list[str]]:
        """The table as it is on screen: what the exports carry."""
        return [list(self.rows.row_texts(r)) for r in range(self.rows.rowCount())]

    # -- exports ----------------------------------------------------------------------------------------------
    def _ask_export(self, kind: str) -> None:
        if self.report is None:
            self.ctx.messages.show_error(self.tr("Show a report first, then export it."))
            return
        suggested = f"{self.report.key}-{self.report.period.first}-{self.report.period.last}.{kind}"
        name, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export the report"), suggested, "CSV (*.csv)" if kind == "csv" else "PDF (*.pdf)"
        )
        if not name:
            return
        if kind == "pdf":
            self.save_pdf(Path(name))
            return
        try:
            self.export_csv(Path(name))
        except OSError as exc:
            self._saved(name, exc.strerror or str(exc))
            return
        self._saved(name, "")

    def _saved(self, name: str, error: str) -> None:
        self.pdf_btn.setEnabled(True)
        if error:
            msg = self.tr("The report could not be saved ({0}): choose another folder.").format(error)
            self.ctx.messages.show_error(msg)
        else:
            self.ctx.messages.show_notice(self.tr("Report saved to {0}.").format(name))

    def save_pdf(self, path: Path) -> None:
        """Export the PDF off the GUI thread: a year's discounts are ~1,500 pages (seconds of drawing); what is on
        screen (the chart's picture among it) is taken here, the rest drawn and written by the job."""
        make = self._pdf_maker()
        self.pdf_btn.setEnabled(False)
        self.ctx.messages.show_notice(self.tr("Saving the report to {0}…").format(path))

        def work() -> None:
            try:
                path.write_bytes(make())
                error = ""
            except OSError as exc:
                error = exc.strerror or str(exc)
            self.pdf_saved.emit(str(path), error)

        threads.start(work, "counterline-report-pdf")

    def csv_text(self) -> str:
        """The rows on screen, one per line, with plain numbers (money as 1234.50) so a spreadsheet can add them."""
        assert self.report is not None
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow([c.title for c in self.report.columns])
        for row in self.report.rows:
            w.writerow([str(v) for v in row])
        return out.getvalue()

    def export_csv(self, path: Path) -> None:
        path.write_text(self.csv_text(), encoding="utf-8", newline="")

    def pdf_bytes(self) -> bytes:
        """The report on A4 landscape: heading, the chart as shown (its grab), then the table's rows as on screen."""
        return self._pdf_maker()()

    def _pdf_maker(self) -> Callable[[], bytes]:
        """What the PDF shows, taken from the screen here (on the GUI thread), and the drawing of it, which may run
        on any thread."""
        # Imported here: reportlab and the PDF fonts take a tenth of the till's start, and few open a report.
        from reportlab.lib.pagesizes import A4, landscape
        from reportlab.lib.units import mm
        from reportlab.lib.utils import ImageReader, simpleSplit
        from reportlab.pdfgen.canvas import Canvas

        from devices.printers.pdf_render import document_fonts

        report = self.report
        assert report is not None
        heading = f"{report.title} · {self.period_text(report.period)}"
        chart = self.chart.png()
        text = self.cell_text

        def make() -> bytes:
            fonts = document_fonts()
            out = io.BytesIO()
            page_w, page_h = landscape(A4)
            c = Canvas(out, pagesize=(page_w, page_h))
            c.setTitle(f"{report.title} {report.period.first} {report.period.last}")
            margin = 15 * mm
            c.setFont(fonts.bold, 14)
            c.drawString(margin, page_h - margin, heading)
            c.setFont(fonts.regular, 9)
            # The note wrapped to the page (a long one ran off its edge), the chart under its last line.
            y = page_h - margin - 14
            for line in simpleSplit(report.note, fonts.regular, 9, page_w - 2 * margin):
                c.drawString(margin, y, line)
                y -= 11
            image = ImageReader(io.BytesIO(chart))
            iw, ih = image.getSize()
            chart_h = 70 * mm
            chart_w = min(page_w - 2 * margin, chart_h * iw / max(1, ih))
            y -= chart_h
            c.drawImage(image, margin, y, chart_w, chart_h)
            y -= 10 * mm
            headers = [col.title for col in report.columns]
            rows = [
                [text(col.kind, v) for col, v in zip(report.columns, row, strict=True)] for row in report.rows
            ]
            widths = [
                max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
            ]
            total = sum(widths) or 1
            xs = [margin]
            for wdt in widths[:-1]:
                xs.append(xs[-1] + (page_w - 2 * margin) * wdt / total)

            # Figures end at their column's right edge (as on screen), so their digits line up; names at its left.
            ends = [*xs[1:], page_w - margin]
            numeric = [col.kind != "text" for col in report.columns]

            def draw_row(cells: list[str], font: str) -> None:
                nonlocal y
                if y < margin:
                    c.showPage()
                    y = page_h - margin
                c.setFont(font, 9)
                for x, end, figure, cell in zip(xs, ends, numeric, cells, strict=True):
                    if figure:
                        c.drawRightString(end - 3 * mm, y, cell)
                    else:
                        c.drawString(x, y, cell)
                y -= 13

            draw_row(headers, fonts.bold)
            for row in rows:
                draw_row(row, fonts.regular)
            if not rows:
                draw_row(["Nothing in this period.", *[""] * (len(headers) - 1)], fonts.regular)
            c.save()
            return out.getvalue()

        return make
