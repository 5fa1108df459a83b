"""The first-run wizard: the store (the demo store, or a central store's address and enrolment code), the devices
(each with its Test button) and, where no staff came with the store, the first manager. The pages are in
first_run_pages.py; what each answer does (no Qt) is app.services.first_run and sync.enrol.

ui/main.py runs it when the app starts on a database with no store and without --demo (`run_first_run`), before any
window exists: there is nobody to sign in yet, so its changes are the first run's (`Host` with no op helper).
Office > Devices runs it again (`rerun`): the till is set up, so it asks for the devices only, and saves and tests
them as the signed-in person through the op helper (the usual permission check and audit entry). Enrolling again or
adding a first manager to a till that has staff is never offered: that needs a new data folder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QWidget, QWizard

from app.config import Paths
from app.services import first_run
from app.services.base import Actor, UserError
from ui import threads
from ui.first_run_pages import DEVICES, MANAGER, STORE, DevicesPage, ManagerPage, StorePage

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker  # the factory's type; ui/main.py opened it

    from ui.ops import Ops


class Background(QObject):
    """One call on a plain thread (enrolling, a first sync, reading the scale); its outcome back on the GUI thread."""

    _finished = Signal(object, object)  # the result, or None; the error message, or None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._finished.connect(self._deliver)
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[str], None]]] = {}
        self._next = 0
        self.busy = 0

    def start(
        self, work: Callable[[], Any], done: Callable[[Any], None], fail: Callable[[str], None]
    ) -> None:
        self._next += 1
        ticket = self._next
        self._callbacks[ticket] = (done, fail)
        self.busy += 1

        def job() -> None:
            try:
                result = work()
            except Exception as e:  # noqa: BLE001 - every failure becomes a message on the page, never a traceback
                self._finished.emit(ticket, ("error", str(e) or type(e).__name__))
                return
            self._finished.emit(ticket, ("ok", result))

        threads.start(job, "counterline-first-run")

    def _deliver(self, ticket: Any, outcome: Any) -> None:
        self.busy -= 1
        done, fail = self._callbacks.pop(ticket)
        kind, value = outcome
        if kind == "ok":
            done(value)
        else:
            fail(value)


class Host:
    """Where the wizard's changes go: straight into the database on the first run (`ops` None: no actor yet), or
    through the op helper as the signed-in person when run again from Office."""

    def __init__(
        self, factory: sessionmaker[Session], paths: Paths, printer: Any, ops: Ops | None = None
    ) -> None:
        self.factory = factory
        self.paths = paths
        self.printer = printer  # a ui.print_worker.PrintWorker: the real test page, label and drawer pulse
        self.ops = ops

    @property
    def first_run(self) -> bool:
        return self.ops is None

    def run(
        self,
        work: Callable[[Session, Actor | None], Any],
        done: Callable[[Any], None],
        fail: Callable[[str], None],
    ) -> None:
        if self.ops is not None:
            self.ops.run(work, done, fail)
            return
        try:
            with self.factory.begin() as s:
                result = work(s, None)
        except UserError as e:
            fail(str(e))
            return
        done(result)

    def read(self, work: Callable[[Session], Any]) -> Any:
        with self.factory() as s:
            return work(s)


class FirstRunWizard(QWizard):
    """See the module docstring; `state` says where the till stands as the wizard opens."""

    def __init__(self, host: Host, state: first_run.State, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.state = state
        self.background = Background(self)
        self.setObjectName("firstRunWizard")
        self.setWindowTitle(
            self.tr("Set up Counterline") if host.first_run else self.tr("Set up the devices")
        )
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, False)
        self.store_page = StorePage(self)
        self.devices_page = DevicesPage(self)
        self.manager_page = ManagerPage(self)
        self.setPage(STORE, self.store_page)
        self.setPage(DEVICES, self.devices_page)
        self.setPage(MANAGER, self.manager_page)
        # Set up already (run again from Office): the devices only.
        self.setStartId(DEVICES if state.set_up else STORE)
        self.resize(960, 700)

    def refresh_state(self) -> first_run.State:
        self.state = self.host.read(first_run.state)
        return self.state

    def reject(self) -> None:
        if self.background.busy:
            return  # an enrolment under way cannot be taken back halfway: its page says so when it ends
        super().reject()


def run_first_run(factory: sessionmaker[Session], paths: Paths) -> bool:
    """On a database with no store: the wizard, with its own print worker for the Test buttons; True once the till
    is set up (the demo store or enrolled), False where the person closed it first."""
    from ui.print_worker import PrintWorker
    from ui.theme import STYLE

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([])
    app.setApplicationName("Counterline")
    app.setStyleSheet(STYLE)
    worker = PrintWorker(factory, default_folder=str(paths.print_dir))
    worker.start()
    try:
        with factory() as s:
            state = first_run.state(s)
        wizard = FirstRunWizard(Host(factory, paths, worker), state)
        wizard.setWindowModality(Qt.WindowModality.ApplicationModal)
        wizard.exec()
        with factory() as s:
            return first_run.state(s).set_up
    finally:
        worker.stop()


def rerun(
    ops: Ops, factory: sessionmaker[Session], paths: Paths, printer: Any, parent: QWidget
) -> FirstRunWizard:
    """Office > Devices' "Run set-up again": the wizard on a set-up till (devices only), as the signed-in person."""
    with factory() as s:
        state = first_run.state(s)
    wizard = FirstRunWizard(Host(factory, paths, printer, ops), state, parent)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.open()
    return wizard
