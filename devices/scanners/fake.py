"""A scanner that replays a list of codes: the demo's scanner and a stand-in for hardware in tests.

It has the same shape as the real ones (`start()`, `stop()`, `on_read` called on a worker thread), so the UI
code that wraps a camera or a serial scanner runs unchanged against it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

__all__ = ["FakeScanner"]


class FakeScanner:
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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fake-scanner", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until every code has been sent (never, with `repeat`); True if done."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

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
