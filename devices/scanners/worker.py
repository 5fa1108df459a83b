"""The one background-thread lifecycle every non-keyboard scanner shares: start, stop, wait, running.

A subclass sets `thread_name` and implements `_run()`, which loops until `self._stop` is set.
"""

from __future__ import annotations

import threading


class ScannerThread:
    thread_name = "scanner"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Ask the worker to end and wait for it (it notices within one read or frame)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the worker to end by itself (end of a video file, all fake codes sent); True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError
