"""The parts every workstation shares (../shared/UI.md, "Layout of a workstation"): Sell, Pickup, Pack, Returns.

A workstation is a `Workstation` subclass that names its columns, its action keys and its scan routes, and shows
its work as `Row`s; the base does the rest the same way on every screen:

- the scan field (in the window's top bar) gets the focus back after every action (`focus_scan`), and the scan
  router feeds the screen's routes while it is showing;
- the work list: a table with large rows that redraws only the rows whose text or look changed (a long sale
  stays fast), one **current line** drawn in bold on its own colour, moved by Up/Down from the scan field or by a
  tap, and the line a scan just counted lit green for 0.7 s;
- the figure that matters (total due, items left) in large type, under its caption, with smaller figures below;
- the action buttons, three across, each showing its key; they never take the focus, so a scanner's trailing
  Enter never presses one; each key works window-wide while the screen shows (Qt ignores a hidden screen's);
- messages go to the window's message bar (`ctx.messages`), which keeps a refusal until it is acknowledged.

A base class rather than loose parts: the keys, the router registration and Up/Down all belong to the screen
(their shortcuts live and die with it, and are off while another workstation shows), so a new screen inherits
them by declaring three lists instead of wiring each one. The work list itself (`WorkList`) is a plain widget and
can be used alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.documents.model import format_money
from app.services.base import Changes
from ui.context import AppContext
from ui.theme import CURRENT_LINE, FLASH_GREEN

HIGHLIGHT = FLASH_GREEN  # the line a scan just added or changed, for FLASH_MS
FLASH_MS = 700
MUTED = "#9ca3af"  # a line no key acts on any more (a voided line): grey and struck through


@dataclass(frozen=True)
class Action:
    """A button and its key: `name` is the screen's method both call; `style` is its look ("danger", "primary")."""

    key: str
    label: str
    name: str
    style: str = ""


@dataclass(frozen=True)
class Row:
    """One line of the work list. `key` identifies it across redraws (the current line is kept by key); a line
    that is not `live` (a voided one) is shown struck through and grey, and Up/Down and taps skip it."""

    key: str
    cells: tuple[str, ...]
    live: bool = True


class WorkList(QTableWidget):
    """A table with large rows that draws only what changed since the last call.

    Column `stretch` takes the spare width; the others are fitted to their texts, measuring only the texts that
    changed (ResizeToContents measured every cell again on each change: about 1 ms per line on a long sale, after
    every scan) and only ever widening, up to `caps`. There is no Qt selection: the current line is drawn here (a
    Qt selection stayed on a tapped row after later scans, and a key acted on that row)."""

    def __init__(
        self,
        columns: Sequence[str],
        numeric: Sequence[int] = (),
        stretch: int = 0,
        caps: Mapping[int, int] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(0, len(columns), parent)
        self.setHorizontalHeaderLabels(list(columns))
        self.numeric = set(numeric)
        self.fitted = [c for c in range(len(columns)) if c != stretch]
        self.caps = dict(caps or {})
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        for c in self.fitted:
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.Fixed)
        self._shown: list[tuple[object, ...] | None] = []  # what each row shows, to redraw only changes
        self.verticalHeader().setDefaultSectionSize(44)
        self.verticalHeader().hide()
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        """Shown empty (no order or sale yet): fit the columns to their headers, in the style sheet's font, so no
        header is cut before the first line arrives."""
        super().showEvent(event)
        if not self._shown:
            self._fit_columns([0] * self.columnCount(), True)

    def draw(self, rows: Sequence[Row], current: str | None, lit: str | None) -> None:
        """Show `rows`, the one keyed `current` in bold on its colour and the one keyed `lit` green, touching only
        the rows whose text or look changed since the last call."""
        fresh = not self._shown
        if len(self._shown) != len(rows):
            self.setRowCount(len(rows))
            self._shown = (self._shown + [None] * len(rows))[: len(rows)]
        widths = [0] * self.columnCount()
        metrics = self.fontMetrics()
        bold = QFont(self.font())
        bold.setBold(True)
        bold_metrics = QFontMetrics(bold)  # the current line is in bold: its figures are a little wider
        for r, row in enumerate(rows):
            is_lit = row.key == lit
            is_current = row.key == current
            shown = (*row.cells, not row.live, is_lit, is_current)
            if self._shown[r] == shown:
                continue
            for c, text in enumerate(row.cells):
                item = self.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    if c in self.numeric:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self.setItem(r, c, item)
                item.setText(text)
                # From the table's own font (its style sheet's size): an item's default font is the application's.
                font = QFont(self.font())
                font.setStrikeOut(not row.live)
                font.setBold(is_current)
                if item.font() != font:
                    item.setFont(font)
                # None takes the role back to the table's own colours (an empty QBrush would paint nothing).
                item.setData(Qt.ItemDataRole.ForegroundRole, None if row.live else QBrush(QColor(MUTED)))
                back = HIGHLIGHT if is_lit else CURRENT_LINE if is_current else None
                item.setData(Qt.ItemDataRole.BackgroundRole, QBrush(QColor(back)) if back else None)
                widths[c] = max(widths[c], (bold_metrics if is_current else metrics).horizontalAdvance(text))
            self._shown[r] = shown
            first = self.item(r, 0)
            if (is_lit or is_current) and first is not None:
                self.scrollToItem(first)
        self._fit_columns(widths, fresh)

    def _fit_columns(self, widths: list[int], fresh: bool) -> None:
        """Fit the fitted columns to their texts: from their headers up when the table was empty (`fresh`), else
        only wider, for the texts that changed."""
        hh = self.horizontalHeader()
        pad = 2 * self.fontMetrics().averageCharWidth() + 8
        for c in self.fitted:
            label = self.horizontalHeaderItem(c)
            floor = hh.fontMetrics().horizontalAdvance(label.text() if label else "") + pad
            now = hh.sectionSize(c)
            want = max(floor, widths[c] + pad) if fresh else max(now, widths[c] + pad)
            if c in self.caps:
                want = min(want, self.caps[c])  # a long note is cut rather than squeeze the names
            if want != now:
                hh.resizeSection(c, want)


class Workstation(QWidget):
    """A workstation screen: the work list on the left; on the right a heading, the big figure under its caption,
    smaller figures, the screen's own widgets (`self.extra`), the action buttons and the primary one.

    Subclasses set `title`, `columns` (with `numeric`, `stretch`, `caps`), `action_keys` and `primary`, return their
    scan routes from `routes()`, and call `show_rows()` with their lines. `current` is the key of the line the
    keys act on; `chosen` says it was picked on purpose (Up/Down or a tap) rather than by the last scan; setting
    `highlight` before `show_rows()` lights that line briefly."""

    title = ""
    columns: Sequence[str] = ()
    numeric: Sequence[int] = ()
    stretch = 0
    caps: Mapping[int, int] = {}
    action_keys: Sequence[Action] = ()
    primary: Action | None = None
    extra_keys: Sequence[str] = ()  # further lines of the key map (F1), e.g. window-wide keys

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.current: str | None = None
        self.chosen = False
        self.highlight: str | None = None
        self.rows: list[Row] = []
        lay = QHBoxLayout(self)

        self.table = WorkList(
            [self.tr(c) for c in self.columns], self.numeric, self.stretch, self.caps, parent=self
        )
        self.table.pressed.connect(self._row_pressed)
        lay.addWidget(self.table, 3)

        side = QVBoxLayout()
        self.number = QLabel()  # what the work is: the sale's, order's or box's number
        self.number.setObjectName("hint")
        side.addWidget(self.number)
        self.caption = QLabel()
        self.caption.setObjectName("bigCaption")
        side.addWidget(self.caption)
        self.figure = QLabel()
        self.figure.setObjectName("bigFigure")
        self.figure.setAlignment(Qt.AlignmentFlag.AlignRight)
        side.addWidget(self.figure)
        self.figures = QLabel()
        self.figures.setObjectName("figures")
        self.figures.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.figures.setStyleSheet("font-size: 18px;")
        side.addWidget(self.figures)
        for label in (self.number, self.caption, self.figures):
            # A long hint ("Scan the receipt's barcode, or ...") wraps inside the panel: unwrapped, it widened the
            # panel past the window at 1024 wide and was cut at its start.
            label.setWordWrap(True)
        self.extra = QVBoxLayout()  # the screen's own widgets, between the figures and the buttons
        side.addLayout(self.extra)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, action in enumerate(self.action_keys):
            b = self._button(action, f"{self.tr(action.label)}\n{action.key}")
            b.setMinimumHeight(56)
            b.setStyleSheet("font-size: 15px; padding: 2px 4px;")
            grid.addWidget(
                b, i // 3, i % 3
            )  # three across: the figure and the primary button stay on 1024x768
        side.addLayout(grid)
        self.primary_button: QPushButton | None = None
        if self.primary is not None:
            p = self.primary
            self.primary_button = self._button(
                Action(p.key, p.label, p.name, p.style or "primary"), f"{self.tr(p.label)}  {p.key}"
            )
            self.primary_button.setMinimumHeight(72)
            side.addWidget(self.primary_button)
        for key, step in (("Up", -1), ("Down", 1)):
            # Up/Down move the current line from the scan field, where the keyboard nearly always is.
            self._shortcut(key, partial(self.move_current, step))
        side.addStretch(1)
        panel = QWidget()
        panel.setLayout(side)
        panel.setMinimumWidth(330)
        panel.setMaximumWidth(420)
        lay.addWidget(panel, 0)
        routes = self.routes()
        if routes:
            ctx.router.register(self, routes)
        self._flash = QTimer(self)
        self._flash.setSingleShot(True)
        self._flash.timeout.connect(lambda: self._clear_highlight())

    def _button(self, action: Action, text: str) -> QPushButton:
        b = QPushButton(text)
        if action.style:
            b.setObjectName(action.style)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a scanner's trailing Enter never presses a button
        b.clicked.connect(lambda: self._act(action.name))
        self.buttons[action.name] = b
        self._shortcut(action.key, partial(self._act, action.name))
        return b

    def _act(self, name: str) -> None:
        """A button or its key: the action, then the keyboard back to the scan field, whatever the action did."""
        getattr(self, name)()
        self.focus_scan()

    def _shortcut(self, key: str, slot: Callable[[], Any]) -> None:
        # Window-wide, so the keys work while the scan field (in the window's top bar, outside this screen) has
        # the focus, which is nearly always; Qt ignores a shortcut whose widget is hidden, so they are off while
        # another workstation is showing.
        sc = QShortcut(QKeySequence(key), self)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(slot)

    # -- to override -----------------------------------------------------------------------------------------
    def routes(self) -> dict[str, Callable[[Any], None]]:
        """The scan kinds this screen takes (`ScanRouter.register`), "*" for the rest; none by default."""
        return {}

    def activate(self) -> None:
        """The screen is shown: load its work."""

    def on_changed(self, changes: Changes) -> None:
        """Something changed elsewhere (sync, another screen)."""

    def money(self, amount: Decimal) -> str:
        """An amount in the store's currency and locale."""
        return format_money(amount, self.ctx.here.currency, self.ctx.here.locale)

    # -- the work list and its current line ------------------------------------------------------------------
    def set_figure(self, text: str) -> None:
        """The big figure under its caption; both hidden while there is none (no empty gap where it would be)."""
        self.figure.setText(text)
        self.figure.setVisible(bool(text))
        self.caption.setVisible(bool(text))

    def show_rows(self, rows: Sequence[Row]) -> None:
        """Show the work: the current line stays where it is; when it is gone or no longer live, the last live
        line becomes current. A line set in `highlight` is lit for a moment."""
        self.rows = list(rows)
        if self.current_row() is None:
            live = [r for r in self.rows if r.live]
            self.current = live[-1].key if live else None
            self.chosen = False
        self._draw()
        if self.highlight:
            self._flash.start(FLASH_MS)

    def current_row(self) -> Row | None:
        return next((r for r in self.rows if r.key == self.current and r.live), None)

    def move_current(self, step: int) -> None:
        """Up/Down: the current line moves over the live lines (the others cannot be acted on)."""
        live = [r.key for r in self.rows if r.live]
        if not live:
            return
        at = live.index(self.current) if self.current in live else len(live) - 1
        self.current = live[max(0, min(len(live) - 1, at + step))]
        self.chosen = True
        self._draw()
        self.focus_scan()

    def _row_pressed(self, index: QModelIndex) -> None:
        if not 0 <= index.row() < len(self.rows):
            return
        row = self.rows[index.row()]
        if row.live:
            self.current, self.chosen = row.key, True
            self._draw()
        self.focus_scan()

    def _draw(self) -> None:
        self.table.draw(self.rows, self.current, self.highlight)

    def _clear_highlight(self) -> None:
        self.highlight = None
        self._draw()  # redraws the one row that was lit

    # -- focus and keys --------------------------------------------------------------------------------------
    def focus_scan(self) -> None:
        """Give the keyboard back to the scan field: after every action, so the next scan lands there."""
        win = self.window()
        active = QApplication.activeWindow()
        if active is not None and active is not win and not active.isVisible() and win.isVisible():
            # A dialog just closed but is still the active window (no window manager hands the keyboard back):
            # the scan field would get the focus of a window that has no keyboard.
            win.activateWindow()
        if hasattr(win, "focus_scan"):
            win.focus_scan()

    def help(self) -> None:
        """F1: the key map, in the message bar."""
        keys = [f"{a.key}  {a.label}" for a in self.action_keys]
        if self.primary is not None:
            keys.append(f"{self.primary.key}  {self.primary.label}")
        keys += [*self.extra_keys, self.tr("Up/Down  Current line")]
        self.ctx.messages.show_notice("   ·   ".join(keys), tone=False)
