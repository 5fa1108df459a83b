"""The print-queue worker: sends print jobs off the GUI thread, retries while a printer is off, never twice.

Jobs are rows written in the same transaction as the sale that caused them (app.services.printing). This worker
takes the oldest due job, renders it for the configured printer (ESC/POS for a receipt printer, ZPL or PDF for
labels) and sends it through the connector. `NotSent` (nothing reached the printer) puts the job back with
backoff; `MaybeSent` (bytes may be out) marks it failed for a person to check and reprint. A printer that is off
never blocks or loses a sale.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.documents.model import Document, Text
from app.services import printing, settings
from devices.drawer import drawer_pin
from devices.drawer import open_drawer as kick
from devices.printers import MaybeSent, NotSent, PrinterError, make_connector, render

log = logging.getLogger(__name__)


def _target(config: dict[str, Any], role: str) -> str:
    if config.get("language"):
        return str(config["language"])
    if config.get("type") == "folder":
        return "pdf"
    return "escpos" if role == "receipt" else "zpl"


# What the status bar says when a job could not be sent, by what the printer reported.
_STATE_LABEL = {"paper_out": "out of paper", "offline": "offline", "not_configured": "not configured"}


class PrintWorker:
    def __init__(
        self,
        factory: sessionmaker[Session],
        on_status: Callable[[str], None] | None = None,
        default_folder: str | None = None,
    ) -> None:
        self.factory = factory
        self.on_status = on_status or (lambda _s: None)
        self.default_folder = default_folder
        self._wake = threading.Event()
        self._kick = threading.Event()  # a drawer kick waiting for the worker's thread
        self._stop = threading.Event()
        self._status = "printer: starting"
        self._thread = threading.Thread(target=self._loop, name="counterline-print", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _recover(self) -> None:
        """Jobs a stop caught mid-send may or may not be on paper: they wait for a person (on this thread, so a
        busy database delays the queue, not the window)."""
        found: list[int] = []
        self._record(lambda s: found.append(printing.recover_interrupted(s)))
        if found and found[0]:
            log.warning("%d print job(s) were interrupted by a stop", found[0])

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def wake(self) -> None:
        self._wake.set()

    def status_text(self) -> str:
        return self._status

    def _config(self, role: str) -> dict[str, Any]:
        with self.factory() as s:
            cfg = dict(settings.get(s, f"devices.{role}_printer") or {})
        if cfg.get("type") == "folder" and not cfg.get("path") and self.default_folder:
            cfg["path"] = self.default_folder
            cfg.setdefault("extension", "pdf")
        return cfg

    def _set_status(self, text: str) -> None:
        self._status = text
        self.on_status(text)

    def _loop(self) -> None:
        self._recover()
        try:
            kind = self._config("receipt").get("type", "none")
        except Exception:  # noqa: BLE001 - the database may be busy at start; the status follows the jobs
            kind = "?"
        self._set_status(f"printer: ready ({kind})")
        while not self._stop.is_set():
            if self._kick.is_set():
                self._kick_drawer()
            try:
                with self.factory.begin() as s:
                    job = printing.claim_next(s)
            except Exception as e:  # noqa: BLE001 - a busy or unreachable database must not end the queue
                self._database_trouble(e)
                self._stop.wait(2.0)
                continue
            if job is None:
                self._wake.wait(2.0)
                self._wake.clear()
                continue
            self._print(job)

    def _database_trouble(self, error: Exception) -> None:
        log.warning("print queue: the database did not answer (%s); trying again", error)
        self._set_status("printer: waiting for the database")

    def _record(self, write: Callable[[Session], None]) -> None:
        """Write a job's outcome, trying again while the database is busy (another process writing, a network
        database reconnecting). It must land: a receipt that printed but still reads `sending` would be
        reported as perhaps printed at the next start, and a person would check the paper for nothing."""
        delay = 0.5
        while True:
            try:
                with self.factory.begin() as s:
                    write(s)
                return
            except Exception as e:  # noqa: BLE001 - see above
                self._database_trouble(e)
                if self._stop.wait(delay):
                    return  # stopping: the start-up recovery reports the job
                delay = min(delay * 2, 10.0)

    def _print(self, job: printing.JobView) -> None:
        try:
            cfg = self._config(job.role)
        except Exception as e:  # noqa: BLE001 - nothing was sent: the job waits for its next turn
            self._database_trouble(e)
            self._record(
                lambda s: printing.mark_not_sent(s, job.id, "The printer settings could not be read.")
            )
            return
        try:
            doc = Document.from_json(job.document)
            if job.document.get("copy"):
                doc.blocks.insert(0, Text("*** COPY ***", align="center", bold=True))
            target = _target(cfg, job.role)
            opts: dict[str, Any] = {}
            data = render(doc, target, **opts)  # type: ignore[arg-type]
            make_connector(cfg).send(data)
        except NotSent as e:
            reason, label = str(e), _STATE_LABEL.get(e.state or "offline", "offline")
            self._record(lambda s: printing.mark_not_sent(s, job.id, reason))
            self._set_status(f"printer: {label} ({reason})")
            return
        except (MaybeSent, PrinterError) as e:
            reason = str(e)
            self._record(lambda s: printing.mark_maybe_sent(s, job.id, reason))
            self._set_status("printer: check the last job")
            return
        except Exception as e:  # noqa: BLE001 - a broken document must not stop the queue
            log.exception("print job %s could not be rendered", job.id)
            reason = f"could not be printed: {e}"
            self._record(lambda s: printing.mark_maybe_sent(s, job.id, reason))
            return
        self._record(lambda s: printing.mark_printed(s, job.id))
        self._set_status("printer: ready")

    def open_drawer(self) -> None:
        """Kick the drawer through the receipt printer. The worker's thread does it before its next job, so the
        kick and a receipt never write to the printer at once, and the drawer opens as the receipt starts."""
        self._kick.set()
        self._wake.set()

    def _kick_drawer(self) -> None:
        self._kick.clear()
        try:
            cfg = self._config("receipt")
            with self.factory() as s:
                drawer = settings.get(s, "devices.drawer")
        except Exception as e:  # noqa: BLE001 - a busy database: no kick rather than no queue
            self._database_trouble(e)
            return
        if cfg.get("type") in ("folder", None):
            return  # no drawer behind a print folder
        try:
            kick(make_connector(cfg), drawer_pin(drawer, cfg))  # the drawer's own pin setting
        except ValueError as e:
            self._set_status(str(e))
        except PrinterError as e:
            self._set_status(f"drawer: {e}")

    def test_page(self) -> None:
        with self.factory.begin() as s:
            doc = Document(
                "receipt",
                48,
                [
                    Text("Counterline test page", align="center", bold=True, size=2),
                    Text("If you can read this, the printer works."),
                ],
            )
            printing.enqueue(s, "test", doc.to_json(), "Test page")
        self.wake()
