"""A till process killed (SIGKILL) between the sale's commit and its receipt: the sale is kept, and the receipt is
never lost nor printed twice by itself.

The till runs in a child process on a real SQLite file: it completes a cash sale (one transaction) and then either
dies before its print worker takes the job, or dies while the worker is sending it (the receipt printer is a named
pipe nobody reads, so the send hangs the way a jammed printer does). The next start of the worker then prints a job
that was never sent, and reports a job that may have been half sent for a person to check; the receipt of that
sale is reprinted, marked COPY.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import make_engine, make_read_sessionmaker, make_sessionmaker
from app.db.models import Order, OutboxEvent, PrintJob, StaffUser, StockMovement
from app.services import receipts, settings
from app.services.base import Actor
from tests.waiting import wait_for
from ui.print_worker import PrintWorker

ROOT = Path(__file__).resolve().parents[2]

TILL = textwrap.dedent(
    """
    import sys, time
    from decimal import Decimal
    from sqlalchemy import select
    from app.db.engine import make_engine, make_sessionmaker
    from app.db.models import Barcode, Product, StaffUser
    from app.services import sales, shifts
    from app.services.base import Actor
    from ui.print_worker import PrintWorker

    db_path, with_worker = sys.argv[1], sys.argv[2] == "worker"
    factory = make_sessionmaker(make_engine(f"sqlite:///{db_path}"))
    with factory.begin() as s:
        who = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == "cashier")))
        shifts.open_shift(s, who, Decimal("100.00"))
        code = s.scalar(
            select(Barcode.code).join(Product).where(Barcode.pack_qty == 1, Product.weighed.is_(False)).limit(1)
        )
    with factory.begin() as s:
        sale = sales.start_sale(s, who)
        view = sales.add_scan(s, who, sale.id, code).sale
        sales.add_tender(s, who, sale.id, "cash", view.remaining_in_cash)
        done = sales.complete_sale(s, who, sale.id)
    print(done.sale.number, flush=True)  # committed
    if with_worker:
        PrintWorker(factory).start()
    time.sleep(120)  # the parent kills this process long before
    """
)


def _till(db_path: Path, mode: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", TILL, str(db_path), mode], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    number = proc.stdout.readline().strip()
    assert number, f"the till process ended before completing its sale (exit {proc.poll()})"
    return proc, number


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


def _sale_is_kept(factory: sessionmaker[Session], number: str) -> str:
    with factory() as s:
        order = s.scalar(select(Order).where(Order.number == number))
        assert order is not None and order.status == "completed"
        assert s.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.cause_id == order.id)
        )
        assert s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "sale.completed")
        )
        return str(order.id)


@pytest.mark.parametrize("moment", ["before the worker took the job", "while the job was being sent"])
def test_a_kill_between_commit_and_print_keeps_the_sale_and_its_receipt(
    db_path: Path, tmp_path: Path, moment: str
) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    factory = make_sessionmaker(engine)
    reads = make_read_sessionmaker(engine)
    paper = tmp_path / "receipts.bin"
    jammed = tmp_path / "jammed-printer"
    os.mkfifo(jammed)  # opening it for writing blocks: nobody reads
    with factory.begin() as s:
        settings.put(s, "devices.receipt_printer", {"type": "file", "path": str(jammed)})

    sending = moment == "while the job was being sent"
    proc, number = _till(db_path, "worker" if sending else "no-worker")
    try:
        if sending:

            def stuck_in_send() -> bool:
                with reads() as s:
                    return s.scalar(select(PrintJob.status).where(PrintJob.kind == "receipt")) == "sending"

            wait_for(stuck_in_send, timeout_s=30)
    finally:
        _kill(proc)

    order_id = _sale_is_kept(reads, number)
    with factory.begin() as s:
        settings.put(s, "devices.receipt_printer", {"type": "file", "path": str(paper)})
    worker = PrintWorker(factory)
    worker.start()  # the next start of the till
    try:
        if not sending:
            # Never sent: it prints now, once.
            def printed() -> bool:
                with reads() as s:
                    return s.scalar(select(PrintJob.status).where(PrintJob.cause_id == order_id)) == "printed"

            wait_for(printed, timeout_s=15)
            assert paper.read_bytes().count(number.encode()) >= 1
            assert b"COPY" not in paper.read_bytes()
            return

        # Perhaps half sent: not printed again by itself; it waits for a person, with the reason.
        def reported() -> bool:
            with reads() as s:
                return s.scalar(select(PrintJob.status).where(PrintJob.cause_id == order_id)) == "failed"

        wait_for(reported, timeout_s=15)
        with reads() as s:
            job = s.scalars(select(PrintJob).where(PrintJob.cause_id == order_id)).one()
            assert "reprint if missing" in (job.last_error or "")
        with factory.begin() as s:
            manager = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == "manager")))
            copy_id = receipts.reprint_receipt(s, manager, f"R-{number}")
        worker.wake()

        def copy_printed() -> bool:
            with reads() as s:
                return s.scalar(select(PrintJob.status).where(PrintJob.id == copy_id)) == "printed"

        wait_for(copy_printed, timeout_s=15)
        data = paper.read_bytes()
        assert b"COPY" in data and number.encode() in data
        with reads() as s:  # the first job stays as it was: only the copy went out
            assert s.scalar(select(PrintJob.status).where(PrintJob.id == job.id)) == "failed"
    finally:
        worker.stop()
        engine.dispose()
