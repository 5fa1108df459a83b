"""The print worker against a printer that reports paper out: the job waits in the queue (never lost, never sent
twice), the status bar says "out of paper", and once paper is back the job prints once and the status says ready.
And against a database another process keeps locked: the worker waits, and records every outcome."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import engine as engine_module
from app.db.engine import make_engine, make_read_sessionmaker, make_sessionmaker
from app.db.models import PrintJob
from app.documents.model import Document, Text
from app.services import printing, settings
from devices.printers.connectors import FakeConnector
from tests.waiting import wait_for
from ui import print_worker
from ui.print_worker import PrintWorker


def test_paper_out_keeps_the_job_and_says_so_then_prints_it_once(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        settings.put(s, "devices.receipt_printer", {"type": "fake", "paper": "out"})
        job_id = printing.enqueue(s, "receipt", Document("receipt", 42, [Text("hello")]).to_json(), "Test")
    seen: list[str] = []
    worker = PrintWorker(db, on_status=seen.append)
    worker.start()
    try:
        wait_for(lambda: any(x.startswith("printer: out of paper") for x in seen))
        with db() as s:
            job = s.scalars(select(PrintJob).where(PrintJob.id == job_id)).one()
            assert job.status == "pending" and "out of paper" in (job.last_error or "")
        with db.begin() as s:
            settings.put(s, "devices.receipt_printer", {"type": "fake", "paper": "ok"})
            s.execute(PrintJob.__table__.update().where(PrintJob.id == job_id).values(next_attempt_at=None))
        worker.wake()

        def printed() -> bool:
            with db() as s:
                return s.scalars(select(PrintJob.status).where(PrintJob.id == job_id)).one() == "printed"

        wait_for(printed)
        assert worker.status_text() == "printer: ready"
    finally:
        worker.stop()
    with db() as s:
        assert s.scalars(select(PrintJob.attempts).where(PrintJob.id == job_id)).one() >= 2


def test_a_busy_database_pauses_the_queue_and_loses_no_outcome(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the write lock longer than the busy timeout: once as the worker starts, once just
    after the printer took the bytes. The worker waits and says so instead of dying, the job prints
    once, and its outcome is recorded when the lock goes."""
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 200)
    engine = make_engine(f"sqlite:///{db_path}")
    factory = make_sessionmaker(engine)
    with factory.begin() as s:
        settings.put(s, "devices.receipt_printer", {"type": "fake"})
        job_id = printing.enqueue(s, "receipt", Document("receipt", 42, [Text("hello")]).to_json(), "Test")
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)

    def hold_lock_for(seconds: float) -> None:
        other.execute("BEGIN IMMEDIATE")
        threading.Timer(seconds, lambda: other.execute("COMMIT")).start()

    printer = FakeConnector()

    def connector(config: Any) -> FakeConnector:
        def send(data: bytes) -> None:
            FakeConnector.send(printer, data)
            hold_lock_for(1.0)  # the bytes are out; now the outcome cannot be written for a second

        printer.send = send  # type: ignore[method-assign]
        return printer

    monkeypatch.setattr(print_worker, "make_connector", connector)
    seen: list[str] = []
    worker = print_worker.PrintWorker(factory, on_status=seen.append)
    hold_lock_for(
        1.0
    )  # the worker's first writes (recovering interrupted jobs, then the claim) meet the lock
    worker.start()  # and the window that starts it does not wait
    try:
        reads = make_read_sessionmaker(engine)  # a reader never waits for the lock (WAL)

        def printed() -> bool:
            with reads() as s:
                return s.scalars(select(PrintJob.status).where(PrintJob.id == job_id)).one() == "printed"

        wait_for(printed, timeout_s=15)
        assert "printer: waiting for the database" in seen
        assert len(printer.jobs) == 1  # printed once, though its outcome waited
        assert worker.status_text() == "printer: ready"
        assert worker._thread.is_alive()
    finally:
        worker.stop()
        other.close()
        engine.dispose()


def test_the_drawer_kick_goes_through_the_worker_before_the_receipt(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kick and the receipt go to one printer: one after the other from one thread, the drawer first."""
    printer = FakeConnector()
    monkeypatch.setattr(print_worker, "make_connector", lambda config: printer)
    monkeypatch.setattr(print_worker, "kick", lambda connector, pin: connector.send(b"\x1bp\x00\x19\xfa"))
    with db.begin() as s:
        settings.put(s, "devices.receipt_printer", {"type": "fake"})
        printing.enqueue(s, "receipt", Document("receipt", 42, [Text("hello")]).to_json(), "Test")
    worker = PrintWorker(db)
    worker.open_drawer()  # as a cash sale completes: before the worker is woken for the receipt
    worker.start()
    try:
        wait_for(lambda: len(printer.jobs) == 2)
    finally:
        worker.stop()
    assert printer.jobs[0].startswith(b"\x1bp") and b"hello" in printer.jobs[1]
