"""Connectors: the only code that moves print-job bytes to a printer. They know nothing of documents.

`make_connector(config)` picks one from a config dict {"type": ..., ...}:
  network  host, port=9100, timeout=5, status_query="escpos"|"none"   raw TCP (ESC/POS or ZPL printers)
  file     path (e.g. /dev/usb/lp0)                                    a device node or plain file
  serial   port (a device or a pyserial URL such as socket://host:port), baudrate=9600, timeout=5
  usb      vendor_id, product_id, timeout=5000 (ms), chunk_size=4096, in_ep, out_ep
  cups     printer (queue name), command="lp", timeout=30
  folder   path, extension="bin"                                       one file per job (demo, no printer)
  fake     online=True, paper="ok"|"low"|"out"                         bytes kept in memory (tests, demo)
  none     (or an empty config)                                        status "not_configured"

Failures are split by what a caller may safely do next:
- `NotSent`: nothing reached the printer (refused connection, printer reported offline or out of paper
  before the job, missing device). Retrying is safe.
- `MaybeSent`: some or all bytes may have gone out (error or silence after writing began). Never resend
  automatically (a receipt or a drawer kick printed twice is worse than a "reprint?" question): ask a human.
A network printer switched off mid-job raises nothing on the sending side (python-escpos issue 253), so after
the job the network connector asks the printer for its status (DLE EOT) and treats silence as a fault.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from devices.printers.escpos_env import prepare_escpos_environment

prepare_escpos_environment()

from escpos.constants import (  # noqa: E402
    RT_MASK_LOWPAPER,
    RT_MASK_NOPAPER,
    RT_MASK_ONLINE,
    RT_STATUS_ONLINE,
    RT_STATUS_PAPER,
)

log = logging.getLogger(__name__)

StatusState = Literal["ready", "offline", "paper_out", "paper_low", "not_configured"]

# In every DLE EOT answer bit 1 and bit 4 are 1, bits 0 and 7 are 0: anything else is not a status byte.
_STATUS_FIXED_MASK = 0x93
_STATUS_FIXED_BITS = 0x12


class PrinterError(Exception):
    """A print job did not complete. `reason` is a sentence a cashier can read."""

    def __init__(self, reason: str, state: StatusState | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.state = state  # what the printer reported, where it answered (paper_out, offline, ...)


class NotSent(PrinterError):
    """Nothing reached the printer: the job can be retried safely."""


class MaybeSent(PrinterError):
    """Bytes may have reached the printer: do not resend automatically; ask whether it printed."""


@dataclass(frozen=True)
class PrinterStatus:
    state: StatusState
    message: str = ""

    @property
    def ready(self) -> bool:
        return self.state in ("ready", "paper_low")


class Connector(Protocol):
    """Moves bytes to one printer."""

    def send(self, data: bytes) -> None: ...

    def status(self) -> PrinterStatus: ...


def decode_status(online_byte: int | None, paper_byte: int | None) -> PrinterStatus:
    """PrinterStatus from the answers to DLE EOT 1 (printer) and DLE EOT 4 (paper roll sensor)."""
    if online_byte is None:
        return PrinterStatus("offline", "The printer did not answer.")
    if online_byte & _STATUS_FIXED_MASK != _STATUS_FIXED_BITS:
        return PrinterStatus("offline", f"The printer gave an unexpected status ({online_byte:#04x}).")
    if online_byte & RT_MASK_ONLINE:
        return PrinterStatus("offline", "The printer is offline (cover open or error).")
    if paper_byte is not None and paper_byte & _STATUS_FIXED_MASK == _STATUS_FIXED_BITS:
        if paper_byte & RT_MASK_NOPAPER == RT_MASK_NOPAPER:
            return PrinterStatus("paper_out", "The printer is out of paper.")
        if paper_byte & RT_MASK_LOWPAPER == RT_MASK_LOWPAPER:
            return PrinterStatus("paper_low", "The paper roll is nearly empty.")
    return PrinterStatus("ready", "Ready.")


class _Deadline:
    """One time budget for a whole job, so several socket steps cannot add up past the configured timeout."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left


def _query_status(sock: socket.socket, deadline: _Deadline) -> PrinterStatus:
    answers: list[int | None] = []
    for query in (RT_STATUS_ONLINE, RT_STATUS_PAPER):
        sock.settimeout(deadline.remaining())
        sock.sendall(query)
        sock.settimeout(deadline.remaining())
        answer = sock.recv(1)
        if not answer:
            raise ConnectionError("connection closed by the printer")
        answers.append(answer[0])
    return decode_status(answers[0], answers[1])


@dataclass
class NetworkConnector:
    """Raw TCP (port 9100). With status_query="escpos" the printer is asked before and after each job."""

    host: str
    port: int = 9100
    timeout: float = 5.0
    status_query: Literal["escpos", "none"] = "escpos"

    def _connect(self, deadline: _Deadline) -> socket.socket:
        try:
            return socket.create_connection((self.host, self.port), timeout=deadline.remaining())
        except (OSError, TimeoutError) as err:
            raise NotSent(f"Printer at {self.host}:{self.port} is not reachable ({err}).") from err

    def send(self, data: bytes) -> None:
        deadline = _Deadline(self.timeout)
        sock = self._connect(deadline)
        with sock:
            if self.status_query == "escpos":
                try:
                    before = _query_status(sock, deadline)
                except (OSError, TimeoutError) as err:
                    raise NotSent(f"Printer at {self.host}:{self.port} did not answer ({err}).") from err
                if not before.ready:
                    raise NotSent(before.message, before.state)
            try:
                sock.settimeout(deadline.remaining())
                sock.sendall(data)
            except (OSError, TimeoutError) as err:
                raise MaybeSent(f"Sending to the printer stopped part way ({err}).") from err
            if self.status_query == "none":
                return
            try:
                after = _query_status(sock, deadline)
            except (OSError, TimeoutError) as err:
                # Silence after the job: the printer may have been switched off mid-job.
                raise MaybeSent(f"The printer stopped answering after the job ({err}).") from err
            if not after.ready:
                raise MaybeSent(after.message)

    def status(self) -> PrinterStatus:
        if self.status_query == "none":
            return PrinterStatus("ready", "Status not available for this printer.")
        deadline = _Deadline(self.timeout)
        try:
            with socket.create_connection((self.host, self.port), timeout=deadline.remaining()) as sock:
                return _query_status(sock, deadline)
        except (OSError, TimeoutError) as err:
            return PrinterStatus("offline", f"Printer at {self.host}:{self.port} is not reachable ({err}).")


@dataclass
class FileConnector:
    """Writes to a device node (/dev/usb/lp0) or a file."""

    path: str

    def send(self, data: bytes) -> None:
        try:
            handle = open(self.path, "ab" if Path(self.path).is_file() else "wb")  # noqa: SIM115
        except OSError as err:
            raise NotSent(f"Cannot open printer device {self.path} ({err.strerror}).") from err
        try:
            with handle:
                handle.write(data)
                handle.flush()
        except OSError as err:
            raise MaybeSent(f"Writing to {self.path} failed part way ({err.strerror}).") from err

    def status(self) -> PrinterStatus:
        path = Path(self.path)
        if path.exists() and os.access(path, os.W_OK):
            return PrinterStatus("ready", "Ready.")
        if not path.exists() and os.access(path.parent, os.W_OK) and not str(path).startswith("/dev/"):
            return PrinterStatus("ready", "Ready.")
        return PrinterStatus("offline", f"Printer device {self.path} is not available.")


@dataclass
class SerialConnector:
    """A serial printer through pyserial; `port` may also be a pyserial URL (socket://, loop://)."""

    port: str
    baudrate: int = 9600
    timeout: float = 5.0
    status_query: Literal["escpos", "none"] = "escpos"

    def _open(self) -> Any:
        import serial  # imported here so an install without pyserial can still use other connectors

        try:
            return serial.serial_for_url(
                self.port, baudrate=self.baudrate, timeout=self.timeout, write_timeout=self.timeout
            )
        except (serial.SerialException, OSError, ValueError) as err:
            raise NotSent(f"Cannot open serial printer {self.port} ({err}).") from err

    def _read_status(self, port: Any) -> PrinterStatus:
        answers: list[int | None] = []
        for query in (RT_STATUS_ONLINE, RT_STATUS_PAPER):
            port.write(query)
            port.flush()
            answer = port.read(1)
            answers.append(answer[0] if answer else None)
            if not answer:
                break
        return decode_status(answers[0], answers[1] if len(answers) > 1 else None)

    def send(self, data: bytes) -> None:
        port = self._open()
        try:
            if self.status_query == "escpos":
                try:
                    before = self._read_status(port)
                except OSError as err:
                    raise NotSent(f"Serial printer {self.port} did not answer ({err}).") from err
                if not before.ready:
                    raise NotSent(before.message, before.state)
            try:
                port.write(data)
                port.flush()
            except OSError as err:  # serial.SerialTimeoutException is an OSError subclass
                raise MaybeSent(f"Sending to serial printer {self.port} stopped part way ({err}).") from err
            if self.status_query == "escpos":
                try:
                    after = self._read_status(port)
                except OSError as err:
                    raise MaybeSent(f"Serial printer {self.port} stopped answering ({err}).") from err
                if not after.ready:
                    raise MaybeSent(after.message)
        finally:
            port.close()

    def status(self) -> PrinterStatus:
        if self.status_query == "none":
            return PrinterStatus("ready", "Status not available for this printer.")
        try:
            port = self._open()
        except NotSent as err:
            return PrinterStatus("offline", err.reason)
        try:
            return self._read_status(port)
        except OSError as err:
            return PrinterStatus("offline", str(err))
        finally:
            port.close()


def _default_usb_factory(**kwargs: Any) -> Any:
    from escpos.printer import Usb

    return Usb(**kwargs)


@dataclass
class UsbConnector:
    """A USB printer through python-escpos' Usb (pyusb). Jobs go out in chunks: one big bulk write of a long
    job (images) runs past the USB timeout and fails, chunks of a few KB each finish in time."""

    vendor_id: int
    product_id: int
    timeout: int = 5000
    chunk_size: int = 4096
    in_ep: int | None = None
    out_ep: int | None = None
    factory: Callable[..., Any] = field(default=_default_usb_factory, repr=False)

    def _open(self) -> Any:
        kwargs: dict[str, Any] = {
            "idVendor": self.vendor_id,
            "idProduct": self.product_id,
            "timeout": self.timeout,
        }
        if self.in_ep is not None:
            kwargs["in_ep"] = self.in_ep
        if self.out_ep is not None:
            kwargs["out_ep"] = self.out_ep
        try:
            printer = self.factory(**kwargs)
            printer.open()
        except Exception as err:  # pyusb and python-escpos raise several unrelated types here
            raise NotSent(
                f"USB printer {self.vendor_id:04x}:{self.product_id:04x} not found ({err})."
            ) from err
        return printer

    def send(self, data: bytes) -> None:
        printer = self._open()
        try:
            for start in range(0, len(data), self.chunk_size):
                try:
                    printer._raw(data[start : start + self.chunk_size])
                except Exception as err:  # usb.core.USBError / USBTimeoutError
                    if start == 0:
                        # Even a failed first write may have moved part of the chunk: still not safe to resend.
                        raise MaybeSent(f"USB write failed at the start of the job ({err}).") from err
                    raise MaybeSent(f"USB write failed after {start} bytes ({err}).") from err
        finally:
            printer.close()

    def status(self) -> PrinterStatus:
        try:
            printer = self._open()
        except NotSent as err:
            return PrinterStatus("offline", err.reason)
        try:
            if not printer.is_online():
                return PrinterStatus("offline", "The printer is offline.")
            paper = printer.paper_status()
            if paper == 0:
                return PrinterStatus("paper_out", "The printer is out of paper.")
            if paper == 1:
                return PrinterStatus("paper_low", "The paper roll is nearly empty.")
            return PrinterStatus("ready", "Ready.")
        except Exception as err:
            return PrinterStatus("offline", f"The printer did not answer ({err}).")
        finally:
            printer.close()


@dataclass
class CupsConnector:
    """A CUPS queue: `lp -d NAME -o raw`, job bytes on stdin."""

    printer: str
    command: str = "lp"
    timeout: float = 30.0

    def send(self, data: bytes) -> None:
        executable = shutil.which(self.command)
        if executable is None:
            raise NotSent(f"The print command {self.command!r} is not installed.")
        try:
            result = subprocess.run(
                [executable, "-d", self.printer, "-o", "raw"],
                input=data,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as err:
            raise MaybeSent(f"The print queue {self.printer} did not confirm the job in time.") from err
        except OSError as err:
            raise NotSent(f"Cannot run {self.command} ({err}).") from err
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip() or f"exit status {result.returncode}"
            raise NotSent(f"The print queue {self.printer} refused the job: {message}")

    def status(self) -> PrinterStatus:
        lpstat = shutil.which("lpstat")
        if lpstat is None:
            return PrinterStatus("not_configured", "CUPS is not installed.")
        try:
            result = subprocess.run(
                [lpstat, "-p", self.printer], capture_output=True, timeout=self.timeout, check=False
            )
        except (subprocess.TimeoutExpired, OSError) as err:
            return PrinterStatus("offline", f"CUPS did not answer ({err}).")
        text = result.stdout.decode(errors="replace")
        if result.returncode != 0:
            return PrinterStatus("not_configured", f"No print queue named {self.printer}.")
        if "disabled" in text:
            return PrinterStatus("offline", f"The print queue {self.printer} is paused.")
        return PrinterStatus("ready", "Ready.")


@dataclass
class FolderConnector:
    """Writes each job as a new file (a counter without a printer, the demo, a print-to-folder integration).
    Files appear complete: written under a temporary name, then renamed."""

    path: str
    extension: str = "bin"

    def send(self, data: bytes) -> None:
        folder = Path(self.path)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            fd, temp_name = tempfile.mkstemp(dir=folder, prefix=".job-", suffix=".part")
        except OSError as err:
            raise NotSent(f"Cannot write to the print folder {self.path} ({err.strerror}).") from err
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            final = folder / f"{stamp}-{Path(temp_name).stem[5:]}.{self.extension}"
            os.replace(temp_name, final)
        except OSError as err:
            Path(temp_name).unlink(missing_ok=True)
            raise NotSent(f"Cannot write to the print folder {self.path} ({err.strerror}).") from err

    def jobs(self) -> list[Path]:
        """The job files written so far, oldest first."""
        return sorted(Path(self.path).glob(f"*.{self.extension}"))

    def status(self) -> PrinterStatus:
        folder = Path(self.path)
        target = folder if folder.exists() else folder.parent
        if os.access(target, os.W_OK):
            return PrinterStatus("ready", "Ready.")
        return PrinterStatus("offline", f"The print folder {self.path} is not writable.")


@dataclass
class FakeConnector:
    """Keeps jobs in memory. Tests and the demo flip `online`, `paper` and `fail_mid_job` to act out faults."""

    online: bool = True
    paper: Literal["ok", "low", "out"] = "ok"
    fail_mid_job: bool = False
    jobs: list[bytes] = field(default_factory=list)

    def send(self, data: bytes) -> None:
        current = self.status()
        if not current.ready:
            raise NotSent(current.message, current.state)
        if self.fail_mid_job:
            self.jobs.append(data[: len(data) // 2])
            raise MaybeSent("The printer stopped in the middle of the job.")
        self.jobs.append(bytes(data))

    def status(self) -> PrinterStatus:
        if not self.online:
            return PrinterStatus("offline", "The printer is offline.")
        if self.paper == "out":
            return PrinterStatus("paper_out", "The printer is out of paper.")
        if self.paper == "low":
            return PrinterStatus("paper_low", "The paper roll is nearly empty.")
        return PrinterStatus("ready", "Ready.")


@dataclass
class NotConfiguredConnector:
    """Stands in when no printer is set up: nothing is ever sent, and status says so."""

    def send(self, data: bytes) -> None:
        raise NotSent("No printer is configured for this terminal.")

    def status(self) -> PrinterStatus:
        return PrinterStatus("not_configured", "No printer is configured for this terminal.")


def _int(value: Any) -> int:
    # USB ids are often written in hex in config files ("0x04b8").
    return int(value, 0) if isinstance(value, str) else int(value)


def make_connector(config: Mapping[str, Any] | None) -> Connector:
    """The connector a printer config describes; see the module docstring for the keys of each type."""
    if not config or config.get("type") in (None, "", "none"):
        return NotConfiguredConnector()
    kind = config["type"]
    options = {key: value for key, value in config.items() if key != "type"}
    try:
        if kind == "network":
            return NetworkConnector(
                host=str(options["host"]),
                port=int(options.get("port", 9100)),
                timeout=float(options.get("timeout", 5.0)),
                status_query=options.get("status_query", "escpos"),
            )
        if kind == "file":
            return FileConnector(path=str(options["path"]))
        if kind == "serial":
            return SerialConnector(
                port=str(options["port"]),
                baudrate=int(options.get("baudrate", 9600)),
                timeout=float(options.get("timeout", 5.0)),
                status_query=options.get("status_query", "escpos"),
            )
        if kind == "usb":
            return UsbConnector(
                vendor_id=_int(options["vendor_id"]),
                product_id=_int(options["product_id"]),
                timeout=int(options.get("timeout", 5000)),
                chunk_size=int(options.get("chunk_size", 4096)),
                in_ep=_int(options["in_ep"]) if "in_ep" in options else None,
                out_ep=_int(options["out_ep"]) if "out_ep" in options else None,
            )
        if kind == "cups":
            return CupsConnector(
                printer=str(options["printer"]),
                command=str(options.get("command", "lp")),
                timeout=float(options.get("timeout", 30.0)),
            )
        if kind == "folder":
            return FolderConnector(path=str(options["path"]), extension=str(options.get("extension", "bin")))
        if kind == "fake":
            return FakeConnector(online=bool(options.get("online", True)), paper=options.get("paper", "ok"))
    except KeyError as err:
        raise ValueError(f"printer config of type {kind!r} needs {err.args[0]!r}") from err
    raise ValueError(f"unknown printer connector type {kind!r}")
