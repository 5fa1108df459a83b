"""The main window: the scan field and title on top, one workstation at a time, the status bar below.

Workstations: Sell, Pickup, Pack, Returns (Ctrl+1..4), Lookup (Ctrl+5), Office (Ctrl+6), Journal (Ctrl+7) and
Reports (Ctrl+8), Stock (Ctrl+9). F12 signs out or switches user: an open sale is parked for its owner and comes
back when they sign in again. After the idle minutes set in settings the screen locks to sign-in the same way.

The status bar keeps each part short enough to be read whole (the sync part says its state and how many events
wait; the full sentence is its tooltip), with times in the store's zone and locale. A print job that did not print
(printer out of paper or off, or perhaps cut off by a crash) is said once in the message bar, so the cashier hears
of it and knows where to reprint, not only as a number in the status bar.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain import barcodes
from app.services import outbox, settings, staff
from app.services.base import Actor, Changes
from app.services.staff import StaffView
from ui.context import AppContext
from ui.feedback import MessageSlot
from ui.main_window_screens import Screens, build_screen
from ui.scan_router import ScanField
from ui.screens.signin import SignInScreen

if TYPE_CHECKING:
    from app.services import printing

WORKSTATIONS = [
    ("sell", "Sell"),
    ("pickup", "Pickup"),
    ("pack", "Pack"),
    ("returns", "Returns"),
    ("lookup", "Lookup"),
    ("office", "Office"),
    ("journal", "Journal"),
    ("reports", "Reports"),
    ("stock", "Stock"),
]
# The workstation buttons are styled by one rule of ui/theme.py (QPushButton#navButton, narrow side padding: nine
# of them leave the scan field room at 1024 wide only so); the current one has the property current=true, marked by
# colour and not by bold type, which would widen it and move the row at every switch.


class MainWindow(QMainWindow):
    # The sync agent applied changes of the central's feed (emitted on its thread, delivered on this one).
    feed_applied = Signal(object)

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.feed_applied.connect(self._feed_applied)
        self.setWindowTitle(self.tr("Counterline"))
        self.resize(1280, 800)
        self.setMinimumSize(1000, 700)
        root = QWidget()
        root.setObjectName("root")
        self.setCentralWidget(root)
        lay = QVBoxLayout(root)
        lay.setContentsMargins(10, 8, 10, 4)

        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("screenTitle")
        # Room for the longest title (Returns, Reports: 106 px at 24 px bold), so the scan field keeps its place; no
        # more, as at 1024 wide every pixel left goes to the scan field.
        self.title.setMinimumWidth(116)
        top.addWidget(self.title)
        self.scan = ScanField(ctx.router)
        self._scan_hints = (self.scan.placeholderText(), self.tr("Scan, or type a code"))
        top.addWidget(self.scan, 1)
        self.nav: dict[str, QPushButton] = {}
        for i, (key, label) in enumerate(WORKSTATIONS):
            b = QPushButton(f"{self.tr(label)}\nCtrl+{i + 1}")
            b.setObjectName("navButton")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _c=False, k=key: self.show_screen(k))
            top.addWidget(b)
            self.nav[key] = b
        lay.addLayout(top)
        lay.addWidget(MessageSlot(ctx.messages))

        self.stack = QStackedWidget()
        lay.addWidget(self.stack, 1)
        self.signin = SignInScreen(ctx)
        self.signin.signed_in.connect(self.on_signed_in)
        self.screens = Screens(self._build)
        self.screens.add("signin", self.signin)
        self.stack.addWidget(self.signin)

        sb = self.statusBar()
        sb.setSizeGripEnabled(False)  # its room goes to the status text at 1024 wide
        self.st_store = QLabel(f"{ctx.here.store_code} · {self.tr('terminal')} {ctx.here.terminal_code}")
        self.st_user = QLabel()
        self.st_shift = QLabel()
        self.st_sync = QLabel()
        self.st_printer = QLabel()
        for w in (self.st_store, self.st_user, self.st_shift, self.st_sync, self.st_printer):
            sb.addWidget(w)

        for i, (key, _label) in enumerate(WORKSTATIONS):
            act = QAction(self)
            act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            act.triggered.connect(lambda _c=False, k=key: self.show_screen(k))
            self.addAction(act)
        switch = QAction(self)
        switch.setShortcut(QKeySequence(Qt.Key.Key_F12))
        switch.triggered.connect(self.sign_out)
        self.addAction(switch)

        ctx.ops.failed.connect(self._failed)
        ctx.ops.changed.connect(self.on_changed)
        ctx.ops.ask_approval = self._ask_approval
        ctx.router.refused.connect(self._refused)
        ctx.router.accepted.connect(lambda _e: ctx.sounds.good())
        ctx.messages.acknowledged.connect(self.focus_scan)

        self._last_input = time.monotonic()
        self._idle_minutes = 0.0
        self._watching = False
        self._watch_input()
        self.scan.resized.connect(self._fit_scan_hint)
        self._idle = QTimer(self)
        self._idle.setInterval(15_000)
        self._idle.timeout.connect(self._check_idle)
        self._idle.start()
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(5_000)
        self._status_timer.timeout.connect(self.refresh_status)
        self._status_timer.start()
        self._announced: set[tuple[str, str]] = set()  # print problems already told: (job id, status)
        self.current = "signin"
        self._painted_then: Callable[[], None] | None = None
        self._painted = False
        # The status bar's first read waits for the first paint: it imports the shift service on the op helper's
        # thread, which would share the interpreter with the window's start.
        self.show_screen("signin", read_status=False)

    def when_painted(self, then: Callable[[], None]) -> None:
        """Call `then` once, just after the window's first paint (the start's "window ready")."""
        self._painted_then = then

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if self._painted:
            return
        self._painted = True
        # After this paint pass (the window's children paint after it): what the start left for later.
        then, self._painted_then = self._painted_then, None
        if then is not None:
            QTimer.singleShot(0, then)
        QTimer.singleShot(0, self.refresh_status)

    def _ask_approval(self, permission: str, reason: str, then: Callable[[str | None], None]) -> None:
        """The op helper's hook (ui/approval.py): the dialog's module is imported the first time it is needed."""
        from ui.approval import ask_approval

        ask_approval(self.ctx, self)(permission, reason, then)

    # -- the workstations, built when first needed --------------------------------------------------------
    def _build(self, key: str) -> QWidget:
        w = build_screen(key, self.ctx)
        if key == "lookup":
            w.open_sale.connect(self.open_sale)  # type: ignore[attr-defined]
        self.stack.addWidget(w)
        return w

    def build_rest_when_idle(self, then: Callable[[], None] | None = None) -> None:
        """Build the workstations not built yet, one per turn of the event loop (after the window is shown, while
        someone signs in), so that the first Ctrl+N does not wait for one; then import the GS1 library (the first
        GS1 or scale-label scan does not wait for it either) and the approval dialog; then `then()`."""
        todo: list[str | Callable[[], object]] = [
            key for key, _label in WORKSTATIONS if key not in self.screens
        ]
        todo += [barcodes.load_gs1, _import_approval]

        def next_one() -> None:
            while todo:
                step = todo.pop(0)
                if callable(step):
                    step()
                    break
                if step not in self.screens:
                    self.screens[step]  # noqa: B018 - built on first use
                    break
            if todo:
                QTimer.singleShot(0, next_one)
            elif then is not None:
                then()

        QTimer.singleShot(0, next_one)

    # -- navigation ------------------------------------------------------------------------------------------
    def show_screen(self, key: str, *, read_status: bool = True) -> None:
        if self.ctx.user is None and key != "signin":
            self.ctx.messages.show_error(self.tr("Sign in first."))
            return
        w = self.screens[key]
        self.current = key
        self.stack.setCurrentWidget(w)
        self.title.setText(self.tr(getattr(w, "title", key.title())))
        signed = self.ctx.user is not None
        self.scan.setVisible(signed)
        for b in self.nav.values():
            b.setVisible(signed)
        for k, b in self.nav.items():
            if b.property("current") != (k == key):
                b.setProperty("current", k == key)
                _repolish(b)
        if hasattr(w, "activate"):
            w.activate()
        self.focus_scan()
        if read_status:
            self.refresh_status()

    def open_sale(self, order_id: str) -> None:
        """Show one sale in the Journal (Lookup's "Open in the Journal")."""
        self.show_screen("journal")
        self.screens["journal"].show_sale(order_id)

    def focus_scan(self) -> None:
        if self.ctx.user is not None and self.current != "signin":
            if QApplication.activeWindow() is None and self.isVisible():
                # A dialog just closed and nothing took the keyboard back (no window manager on a kiosk
                # session, or one that does not reactivate the parent): the scanner's keys would go nowhere.
                self.activateWindow()
            self.scan.setFocus(Qt.FocusReason.OtherFocusReason)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.ctx.messages.isVisible():
            self.ctx.messages.clear()
            return
        super().keyPressEvent(event)

    # -- users -----------------------------------------------------------------------------------------------
    def on_signed_in(self, user: StaffView) -> None:
        self.ctx.user = user
        self.ctx.ops.actor = Actor(user.id, key=user.key)
        self._last_input = time.monotonic()
        self.ctx.messages.clear()
        self.st_user.setText(f"{user.display_name} ({user.role.replace('_', ' ')})")
        self.ctx.ops.read(lambda s: settings.get(s, "staff.idle_lock_minutes"), self._set_idle_minutes)
        first = {"packer": "pack", "associate": "pickup", "returns_clerk": "returns"}.get(user.role, "sell")
        self.show_screen(first)

    def sign_out(self) -> None:
        user = self.ctx.user
        if user is None:
            return
        if "sell" in self.screens:  # a Sell screen never built holds no sale
            self.screens["sell"].park_for_switch()
        self.ctx.ops.run(lambda s, a: staff.sign_out(s, a.user_id))
        self.ctx.user = None
        self.ctx.ops.actor = None
        self.st_user.setText(self.tr("signed out"))
        self.show_screen("signin")

    def _set_idle_minutes(self, minutes: object) -> None:
        # Read once per sign-in (off the GUI thread), not on every idle check.
        self._idle_minutes = float(minutes) if minutes else 0.0  # type: ignore[arg-type]

    def _watch_input(self) -> None:
        """Note the next key or tap anywhere (for the idle lock). The watch ends at the first one and the idle check
        starts it again, so the time of the last input is known to within the check's interval, and the events
        in between (every paint of every widget among them) do not each pass through Python: an application-wide
        filter waits for the interpreter's lock while the op helper's thread holds it, a few ms of each repaint."""
        if not self._watching:
            self._watching = True
            QApplication.instance().installEventFilter(self)  # type: ignore[union-attr]

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress):
            self._last_input = time.monotonic()
            self._watching = False
            QApplication.instance().removeEventFilter(self)  # type: ignore[union-attr]  # safe from here (Qt)
        return False

    def _fit_scan_hint(self) -> None:
        """The scan field's hint whole: at 1024 wide the nine workstation buttons leave it too little room for
        "Scan, or type a code + Enter", which would show cut off ("Scan, or type a co..."); the short form then."""
        full, short = self._scan_hints
        room = (
            self.scan.width() - 32
        )  # its border, padding and text margins (ui/theme.py: 3 px and 8 px a side)
        hint = full if self.scan.fontMetrics().horizontalAdvance(full) <= room else short
        if self.scan.placeholderText() != hint:
            self.scan.setPlaceholderText(hint)

    def _check_idle(self) -> None:
        self._watch_input()
        if self.ctx.user is None:
            return
        minutes = self._idle_minutes
        if minutes and time.monotonic() - self._last_input > float(minutes) * 60:
            self.sign_out()
            self.signin.status.setText(
                self.tr("Locked after {0} idle minutes: sign in again.").format(minutes)
            )

    # -- feedback ------------------------------------------------------------------------------------------
    def _failed(self, message: str) -> None:
        self.ctx.messages.show_error(message)  # red, with the low tone

    def _refused(self, message: str) -> None:
        self.ctx.messages.show_error(message)

    def watch_sync(self, agent: Any) -> None:
        """Redraw what the sync agent's pulls change, as they are applied (`Agent.on_applied`)."""
        agent.on_applied = self.feed_applied.emit

    def _feed_applied(self, _report: object) -> None:
        # The feed brings orders (cancellations, arrivals, new web orders) and stock; screens redraw what is theirs.
        self.on_changed(Changes(orders=True, stock=True))

    def on_changed(self, changes: Changes) -> None:
        for w in self.screens.built():  # one built later reads everything when it is first shown
            if hasattr(w, "on_changed"):
                w.on_changed(changes)
        for note in changes.notes:
            self.ctx.messages.show_notice(note)
        # Every op that writes reports what it wrote (ui/ops.py): the status bar reads again only when it shows
        # something that changed (a scan writes the sale alone, and a read here would queue before the next scan).
        if changes.shift or changes.outbox or changes.print_queue or changes.staff:
            self.refresh_status()

    def refresh_status(self) -> None:
        def read(s: Any) -> tuple[Any, dict[str, int], int, list[printing.JobView]]:
            # Imported here, on the op helper's thread: the shift service (and the reports it builds) and the print
            # queue's (and the documents it prints) are no part of the window's start.
            from app.services import printing, shifts

            return shifts.current_shift(s), outbox.counts(s), printing.waiting(s), printing.problems(s)

        def show(res: tuple[Any, dict[str, int], int, list[printing.JobView]]) -> None:
            shift, counts, jobs, problems = res
            self.st_shift.setText(
                self.tr("shift {0}").format(shift.number) if shift else self.tr("no shift open")
            )
            short, full = self.sync_texts(counts)
            self.st_sync.setText(short)
            self.st_sync.setToolTip(full)
            worker = self.ctx.services.get("printer")
            p = worker.status_text() if worker is not None else self.tr("printer: not started")
            self.st_printer.setText(p + (f" · {jobs} {self.tr('in queue')}" if jobs else ""))
            self.st_printer.setToolTip(p)
            self._tell_print_problems(problems)

        self.ctx.ops.read(read, show)

    def _clock(self, moment: datetime | None) -> str:
        if moment is None:
            return "?"
        from babel.dates import format_time  # here: babel's dates are no part of the start

        here = self.ctx.here
        return format_time(moment, "short", tzinfo=ZoneInfo(here.timezone), locale=here.locale)

    def sync_texts(self, counts: dict[str, int]) -> tuple[str, str]:
        """The sync part of the status bar: a short form that always fits (state and events waiting) and the
        full sentence for its tooltip."""
        waiting = counts.get("pending", 0)
        rejected = counts.get("rejected", 0)
        tail = f" · {waiting} {self.tr('waiting')}" + (
            f" · {rejected} {self.tr('refused')}" if rejected else ""
        )
        agent = self.ctx.services.get("sync")
        if agent is None:
            state = self.tr("sync: not enrolled")
            return state + tail, state + tail
        st = agent.status()
        if st.progress is not None and st.busy:
            state = self.tr("sync: receiving")
        elif st.last_error:
            state = self.tr("sync: offline since {0}").format(self._clock(st.error_since))
        elif st.busy:
            state = self.tr("sync: working")
        elif st.last_ok:
            state = self.tr("sync: ok {0}").format(self._clock(st.last_ok))
        else:
            state = self.tr("sync: starting")
        full = state  # agent.status_text() writes times in the machine's zone; these are the store's
        if st.progress is not None and st.busy:
            done, total = st.progress
            full = self.tr("sync: receiving {0} of {1}").format(done, total) if total else state
        if st.last_error:
            last = self.tr(", last sync {0}").format(self._clock(st.last_ok)) if st.last_ok else ""
            full = self.tr("sync: offline since {0}{1} ({2})").format(
                self._clock(st.error_since), last, st.last_error
            )
        return state + tail, full + "\n" + self.tr("{0} events waiting to be sent").format(waiting) + (
            "\n" + self.tr("{0} refused by the central store (Office > Sync)").format(rejected)
            if rejected
            else ""
        )

    def _tell_print_problems(self, problems: list[printing.JobView]) -> None:
        """Say once, in the message bar, each job that did not print and what to do about it."""
        if self.ctx.user is None:
            return  # told after sign-in: the sign-in clears the bar
        new = [j for j in problems if (j.id, j.status) not in self._announced]
        if not new:
            return
        self._announced.update((j.id, j.status) for j in new)
        failed = [j for j in new if j.status == "failed"]
        waiting = [j for j in new if j.status != "failed"]
        sentences = []
        if failed:
            where = (
                self.tr("Reprint a copy from the Journal (Ctrl+7).")
                if all(j.kind == "receipt" for j in failed)
                else self.tr("Reprint from Office > Print queue.")
            )
            reason = _reason(failed[-1].last_error) or self.tr("check the paper, reprint if missing")
            sentences.append(
                self.tr("{0} may not have printed ({1}). {2}").format(_titles(failed), reason, where)
            )
        if waiting:
            sentences.append(
                self.tr(
                    "{0} has not printed yet ({1}): it is saved and prints when the printer is back."
                ).format(_titles(waiting), _reason(waiting[-1].last_error) or self.tr("printer trouble"))
            )
        self.ctx.messages.show_error(" ".join(sentences))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        for svc in self.ctx.services.values():
            if hasattr(svc, "stop"):
                svc.stop()
        super().closeEvent(event)


def _repolish(w: QWidget) -> None:
    """Apply the style sheet again after a dynamic property its rules select on changed."""
    w.style().unpolish(w)
    w.style().polish(w)


def _import_approval() -> None:
    import ui.approval  # noqa: F401 - imported ahead, so the first approval asked for does not wait for it


def _titles(jobs: list[printing.JobView]) -> str:
    names = [j.title for j in jobs[:3]]
    more = len(jobs) - len(names)
    return ", ".join(names) + (f" and {more} more" if more else "")


def _reason(error: str | None) -> str:
    """A job's error as a clause inside a sentence: no closing full stop, first letter small."""
    text = (error or "").strip().rstrip(".")
    return text[:1].lower() + text[1:]
