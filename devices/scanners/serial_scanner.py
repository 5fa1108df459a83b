"""Serial (RS-232, USB-CDC, virtual COM) barcode scanners read with pyserial on a worker thread.

This module owns reading a scanner that sends each code as ASCII followed by a terminator, and staying
connected to it: a scanner that is unplugged raises `serial.SerialException`; the worker reports
"disconnected", drops the half-received code, and opens the port again every `reconnect_s` until it is back
("connected"). Ports are opened through `serial.serial_for_url`, so the same code runs on a COM port, a
`/dev/ttyACM0`, pyserial's `loop://` and a `socket://host:port` (scanners behind a serial-to-Ethernet box).
No Qt: the UI forwards the callbacks (called on the worker thread) with signals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import serial

from devices.scanners.worker import ScannerThread

__all__ = ["SerialScanner", "Status"]

Status = Literal["connected", "disconnected"]

# CR, LF and CRLF all end a code: scanners ship with either and people reconfigure them.
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_MAX_LINE = 4096  # no barcode is this long; a port that sends endless bytes must not grow memory


class SerialScanner(ScannerThread):
    """A thread reading terminated ASCII codes from a serial port, reconnecting when it goes away."""

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        terminator: bytes = b"\r",
        on_read: Callable[[str], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        reconnect_s: float = 2.0,
        opener: Callable[..., Any] = serial.serial_for_url,
        on_status: Callable[[Status], None] | None = None,
        read_timeout_s: float = 0.1,
    ) -> None:
        if not terminator:
            raise ValueError("terminator must not be empty")
        self.port = port
        self.baudrate = baudrate
        self.terminator = terminator
        self._on_read = on_read
        self._on_error = on_error
        self._on_status = on_status
        self._reconnect_s = reconnect_s
        self._opener = opener
        self._read_timeout_s = read_timeout_s
        super().__init__()
        self.thread_name = f"serial-scanner-{port}"
        self._status: Status = "disconnected"
        self._buffer = b""

    @property
    def status(self) -> Status:
        return self._status

    def feed(self, data: bytes) -> list[str]:
        """Add received bytes; report and return every code they complete (the rest waits for more)."""
        self._buffer += data
        if self.terminator in (b"\r", b"\n", b"\r\n"):
            *lines, self._buffer = _LINE_ENDS.split(self._buffer)
        else:
            *lines, self._buffer = self._buffer.split(self.terminator)
        if len(self._buffer) > _MAX_LINE:
            self._buffer = b""
            self._error(
                f"Scanner on {self.port}: no terminator in {_MAX_LINE} bytes, check its suffix setting"
            )
        codes: list[str] = []
        for line in lines:
            if not line:
                continue  # the LF of a CRLF split across two reads, or a bare terminator
            try:
                code = line.decode("ascii")
            except UnicodeDecodeError:
                self._error(f"Scanner on {self.port} sent non-ASCII bytes {line!r}: check its baud rate")
                continue
            codes.append(code)
            if self._on_read is not None:
                self._on_read(code)
        return codes

    def _error(self, message: str) -> None:
        if self._on_error is not None:
            self._on_error(message)

    def _set_status(self, status: Status) -> None:
        if status != self._status:
            self._status = status
            if self._on_status is not None:
                self._on_status(status)

    def _run(self) -> None:
        reported_open_failure = False
        while not self._stop.is_set():
            try:
                port = self._opener(self.port, baudrate=self.baudrate, timeout=self._read_timeout_s)
            except (serial.SerialException, OSError, ValueError) as exc:
                # Said once per outage, not every retry, so the log is not flooded while it stays unplugged.
                if not reported_open_failure:
                    self._error(f"Scanner on {self.port} is not available: {exc}")
                    reported_open_failure = True
                self._stop.wait(self._reconnect_s)
                continue
            reported_open_failure = False
            self._buffer = b""
            self._set_status("connected")
            try:
                while not self._stop.is_set():
                    data = port.read(port.in_waiting or 1)
                    if data:
                        self.feed(data)
            except (serial.SerialException, OSError) as exc:
                self._error(f"Scanner on {self.port} was disconnected: {exc}")
            finally:
                try:
                    port.close()
                except (serial.SerialException, OSError):
                    pass  # already gone with the device
                self._buffer = b""  # half a code is not a code
                self._set_status("disconnected")
            if not self._stop.is_set():
                self._stop.wait(self._reconnect_s)
