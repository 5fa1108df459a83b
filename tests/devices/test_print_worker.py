"""The print worker against a printer that reports paper out: the job waits in the queue (never lost, never sent
twice), the status bar says "out of paper", and once paper is back the job prints once and the status says ready."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import PrintJob
from app.documents.model import Document, Text
from app.services import printing, settings
from tests.waiting import wait_for
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
