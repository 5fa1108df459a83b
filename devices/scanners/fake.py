"""A scanner that replays a list of codes: the demo's scanner and a stand-in for hardware in tests.

It has the same shape as the real ones (`start()`, `stop()`, `on_read` called on a worker thread), so the UI
code that wraps a camera or a serial scanner runs unchanged against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["FakeScanner"]

from devices.scanners.worker import ScannerThread


class FakeScanner(ScannerThread):
    """Reports `codes` in order, `interval_s` apart, once (or forever with `repeat=True`)."""

    def __init__(
        self,
        codes: Iterable[str],
        on_read: Callable[[str], None],
        interval_s: float = 0.0,
        repeat: bool = False,
        start_delay_s: float = 0.0,
    ) -> None:
        self.codes = list(codes)
        if repeat and not self.codes:
            raise ValueError("a repeating fake scanner needs at least one code")
        self._on_read = on_read
        self._interval_s = interval_s
        self._repeat = repeat
        self._start_delay_s = start_delay_s
        super().__init__()
        self.thread_name = "fake-scanner"
        self.sent = 0

    def replay(self) -> None:
        """Send every code now on the calling thread, without delays (for synchronous tests)."""
        for code in self.codes:
            self._send(code)

    def _send(self, code: str) -> None:
        self.sent += 1
        self._on_read(code)

    def _run(self) -> None:
        if self._stop.wait(self._start_delay_s):
            return
        while True:
            for index, code in enumerate(self.codes):
                if index and self._stop.wait(self._interval_s):
                    return
                if self._stop.is_set():
                    return
                self._send(code)
            if not self._repeat or self._stop.wait(self._interval_s):
                return
