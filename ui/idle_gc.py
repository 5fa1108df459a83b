"""Keep Python's garbage collector out of the cashier's way.

A full collection (generation 2) walks every object the process holds. With the window built that is some 150,000
objects and 40-60 ms on a till, and it starts whenever allocations cross a threshold: in the middle of a scan as
easily as anywhere, on the GUI thread or on a worker holding the interpreter lock. So, once the window is up:

- the objects made at start-up (Qt wrappers, SQLAlchemy mappers, modules) are frozen: no collection walks them
  again;
- automatic full collections are put off (a till that never rests still gets one after some million
  allocations);
- `IdleCollector` runs the full collection itself when the till has been idle for a moment: no call running in the
  op helper and none finished for `idle_s`.

Young generations are left alone: they hold only what was just made, and collect in well under a millisecond.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

from ui.ops import Ops

# Full collections left to the interpreter: one per this many young (generation 1) collections, which is some
# 7,000,000 allocations at the default thresholds, against 70,000 by default.
DEFERRED_FULL_COLLECTION = 1000


def freeze_startup_objects() -> None:
    """Collect once, then move everything alive to the permanent generation, out of every later collection."""
    gc.collect()
    gc.freeze()


class IdleCollector(QObject):
    def __init__(self, ops: Ops, idle_s: float = 1.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.idle_s = idle_s
        self.collections = 0  # how many full collections ran here (for tests and the status of a till)
        self._last_busy = time.monotonic()
        ops.busy_changed.connect(self._busy)
        young, middle, _old = gc.get_threshold()
        gc.set_threshold(young, middle, DEFERRED_FULL_COLLECTION)
        self._timer = QTimer(self)
        self._timer.setInterval(max(100, int(idle_s * 500)))
        self._timer.timeout.connect(self.collect_if_idle)
        self._timer.start()

    def _busy(self, busy: bool) -> None:
        self._last_busy = time.monotonic()

    def collect_if_idle(self) -> bool:
        """A full collection if something is there to collect and the till has been idle long enough."""
        if not self.ops.is_idle() or time.monotonic() - self._last_busy < self.idle_s:
            return False
        if gc.get_count()[2] == 0:  # no young collection since the last full one: nothing new got old
            return False
        gc.collect()
        self.collections += 1
        return True

    def stop(self) -> None:
        self._timer.stop()
