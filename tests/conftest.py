"""Shared fixtures: Qt offscreen, python-escpos's profile cache in one place, and a seeded SQLite store per test.

The demo store is built once per test session into a template file (migrations and argon2 hashing take seconds);
each test gets its own copy, so tests never share a database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault(
    "ESCPOS_CAPABILITIES_PICKLE_DIR", os.path.join(tempfile.gettempdir(), "counterline-escpos")
)

import pytest  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from app.db.engine import make_engine, make_sessionmaker, migrate  # noqa: E402

DEMO_PRODUCTS = 240


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app import demo

    path = tmp_path_factory.mktemp("template") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with make_sessionmaker(engine).begin() as s:
        demo.seed(s, products=DEMO_PRODUCTS)
    engine.dispose()
    return path


@pytest.fixture
def db_path(demo_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "counterline.db"
    shutil.copy(demo_template, path)
    return path


@pytest.fixture
def db(db_path: Path) -> Iterator[sessionmaker[Session]]:
    """A sessionmaker over this test's own copy of the demo store."""
    engine = make_engine(f"sqlite:///{db_path}")
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def empty_db(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def user_id(factory: sessionmaker[Session], username: str) -> str:
    from sqlalchemy import select

    from app.db.models import StaffUser

    with factory() as s:
        uid = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
        assert uid is not None
        return uid


MODAL_LIMIT_S = 30.0  # no test leaves a dialog up this long on purpose
FULL_COLLECTION_EVERY = 20  # Qt tests between collections of the whole heap
_QT_TESTS = [0, 0]  # Qt tests run in this process; whether one ran since the heap was last collected whole


@pytest.fixture(autouse=True)
def _qt_hygiene(request: pytest.FixtureRequest) -> Iterator[None]:
    """Around every test that uses Qt (set up before its `qtbot`, so torn down after it):

    - a watchdog closes any modal dialog left up for `MODAL_LIMIT_S` and fails the test, naming the dialog. A modal
      nobody answers (a test's timer that looked for it too early, or failed while filling it in) would otherwise
      block the run for ever;
    - the garbage collector runs on the GUI thread only, as in the till (`ui.idle_gc`): automatic collection is
      off and a timer collects what is due. A collection started on a worker thread (the central's test client)
      once freed a widget a UI test had left in a reference cycle; Qt's destructor waited for the GUI thread,
      which was waiting for that worker, and the run hung. What the test left is collected at its end, here;
    - the collector's settings come back as they were (the till's `IdleCollector` changes them too)."""
    import gc

    if not {"qtbot", "qapp"} & set(request.fixturenames):
        if _QT_TESTS[1]:
            # The first test without Qt after Qt tests: what they left anywhere in the heap is collected now, on
            # the GUI thread. Left for later, a full collection that a worker thread of this test started (the
            # central's test client enrolling a till) once freed a Qt object there, whose destructor waited for
            # the GUI thread, itself waiting for that request: a fresh trial hung at 97 %.
            gc.collect()
            _QT_TESTS[1] = 0
        yield
        return
    import time

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

    from ui.idle_gc import collect_due

    request.getfixturevalue("qapp")
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    gc.disable()
    # What is alive now is set aside, so the collection at the end walks only what this test made (a full one
    # over a worker's whole heap took up to a second, after each of some 400 Qt tests); every
    # `FULL_COLLECTION_EVERY`th test walks everything, for garbage older than its test.
    gc.freeze()
    seen: dict[int, float] = {}
    closed: list[str] = []

    def look() -> None:
        modal = QApplication.activeModalWidget()
        if modal is None:
            seen.clear()
            return
        since = seen.setdefault(id(modal), time.monotonic())
        if time.monotonic() - since < MODAL_LIMIT_S:
            return
        text = modal.text() if isinstance(modal, QMessageBox) else ""
        closed.append(f"{type(modal).__name__} {modal.windowTitle()!r} {text!r}".strip())
        seen.pop(id(modal), None)
        if isinstance(modal, QDialog):
            modal.reject()
        else:
            modal.close()

    def tick() -> None:
        collect_due()
        look()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(250)
    yield
    timer.stop()
    gc.collect()
    gc.unfreeze()
    _QT_TESTS[0] += 1
    _QT_TESTS[1] = 1
    if _QT_TESTS[0] % FULL_COLLECTION_EVERY == 0:
        gc.collect()
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()
    if closed:
        pytest.fail(
            f"a modal dialog was left open for {MODAL_LIMIT_S:.0f} s and closed: " + "; ".join(closed)
        )
