"""Logs and support: the till's log rotates at its size limit, and Office > Support > Copy diagnostics zips the logs,
the settings without secrets and the versions (through the real button on a copy of the demo store)."""

from __future__ import annotations

import json
import logging
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from app.config import Paths
from app.diagnostics import LOG_NAME, TillLogHandler, setup_logging, without_secrets
from app.services import settings, staff
from app.services.base import Actor, here
from ui.context import AppContext
from ui.feedback import MessageBar, Sounds
from ui.ops import Ops
from ui.scan_router import ScanRouter
from ui.screens.office import OfficeScreen


@pytest.fixture
def till_log() -> Iterator[list[TillLogHandler]]:
    made: list[TillLogHandler] = []
    yield made
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, TillLogHandler):
            root.removeHandler(h)
            h.close()


def test_the_log_rotates_at_its_size_limit_and_keeps_its_backups(
    tmp_path: Path, till_log: list[TillLogHandler]
) -> None:
    handler = setup_logging(tmp_path, max_bytes=2000, backups=2)
    till_log.append(handler)
    assert setup_logging(tmp_path, max_bytes=2000, backups=2) is handler  # once per file
    log = logging.getLogger("counterline.test")
    for i in range(60):
        log.info("line %03d of a long day at the counter, customer jo@example.com", i)
    handler.flush()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [LOG_NAME, f"{LOG_NAME}.1", f"{LOG_NAME}.2"]
    assert all((tmp_path / f).stat().st_size <= 2000 for f in files)
    newest = (tmp_path / LOG_NAME).read_text()
    assert "line 059" in newest and "[email]" in newest and "jo@example.com" not in newest


def test_secrets_are_withheld_at_any_depth() -> None:
    found = without_secrets(
        {
            "sync.token": "abc",
            "sync.central_url": "https://till:hunter2@hq.example:8443",
            "devices.receipt_printer": {"type": "network", "host": "10.0.0.5", "api_key": "k-1"},
            "devices.drawer": {"pin": 2},
        }
    )
    assert found["sync.token"] == "[withheld]"
    assert found["sync.central_url"] == "https://till:[withheld]@hq.example:8443"
    assert found["devices.receipt_printer"] == {
        "type": "network",
        "host": "10.0.0.5",
        "api_key": "[withheld]",
    }
    assert found["devices.drawer"] == {"pin": 2}  # the drawer's kick pin is no secret


@pytest.fixture
def office_with_paths(
    db: sessionmaker[Session], qtbot: QtBot, tmp_path: Path
) -> Iterator[tuple[OfficeScreen, AppContext]]:
    with db.begin() as s:
        user = staff.sign_in(s, "cashier", "1111")
        where = here(s)
        settings.put(s, "sync.central_url", "https://hq.example")
        settings.put(s, "sync.api_key", "very-secret-key")
        settings.put(
            s, "devices.receipt_printer", {"type": "network", "host": "10.0.0.5", "token": "tok-123"}
        )
    logs = tmp_path / "logs"
    paths = Paths(tmp_path, "sqlite://", logs, tmp_path / "terminal-token", tmp_path / "printed")
    (tmp_path / "terminal-token").write_text("the-terminal-token")
    ops = Ops(db)
    ops.actor = Actor(user.id)
    ctx = AppContext(db, ops, ScanRouter(), MessageBar(), Sounds(), where, paths=paths, user=user)
    screen = OfficeScreen(ctx)
    qtbot.addWidget(screen)
    qtbot.addWidget(ctx.messages)
    screen.resize(1280, 800)
    screen.show()
    screen.activate()
    yield screen, ctx
    ops.shutdown()


def test_copy_diagnostics_zips_logs_settings_without_secrets_and_versions(
    office_with_paths: tuple[OfficeScreen, AppContext], qtbot: QtBot, till_log: list[TillLogHandler]
) -> None:
    screen, ctx = office_with_paths
    assert ctx.paths is not None
    till_log.append(setup_logging(ctx.paths.log_dir))
    logging.getLogger("counterline").info("window ready in 812 ms")
    screen.tabs.setCurrentWidget(screen.support)
    qtbot.mouseClick(screen.support.copy_button, Qt.MouseButton.LeftButton)
    target = screen.support.last
    assert target is not None and target.parent == ctx.paths.data_dir / "diagnostics"
    clipboard = QApplication.clipboard()
    assert clipboard.text() == str(target)
    assert target.name in ctx.messages.text()
    with zipfile.ZipFile(target) as z:
        names = set(z.namelist())
        assert {f"logs/{LOG_NAME}", "settings.json", "versions.json"} <= names
        assert "window ready in 812 ms" in z.read(f"logs/{LOG_NAME}").decode()
        found = json.loads(z.read("settings.json"))
        versions = json.loads(z.read("versions.json"))
        everything = b"".join(z.read(n) for n in names).decode()
    assert found["sync.central_url"] == "https://hq.example"
    assert found["sync.api_key"] == "[withheld]"
    assert found["devices.receipt_printer"]["token"] == "[withheld]"
    for secret in ("very-secret-key", "tok-123", "the-terminal-token", "$argon2"):
        assert secret not in everything
    assert versions["migration_revision"] == versions["migration_head"] is not None
    assert versions["qt_runtime"] and versions["sqlite"] and versions["python"]
    shots = Path(tempfile.gettempdir()) / "shots"
    shots.mkdir(exist_ok=True)
    screen.grab().save(str(shots / "office-support.png"))
