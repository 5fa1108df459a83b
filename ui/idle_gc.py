"""Keep Python's garbage collector on the GUI thread and out of the cashier's way.

The interpreter starts a collection wherever allocations cross a threshold: on the GUI thread, or on a worker (the
op helper, the sync agent, the print worker) as easily. A collection on a worker that frees a Qt widget left in a
reference cycle destroys the widget there; Qt then waits for the GUI thread to flush window events, and if the GUI
thread is waiting on that worker, the till hangs for good (Qt widgets belong to the GUI thread alone). And a full
collection (generation 2) walks every object the process holds: with the window built that is some 150,000 objects
and 40-60 ms on a till, in the middle of a scan as easily as anywhere. So, once the window is up:

- the objects made at start-up (Qt wrappers, SQLAlchemy mappers, modules) are frozen: no collection walks them
  again;
- automatic collection is off: `IdleCollector`'s timer on the GUI thread runs the collections the
  interpreter would have run (by the same thresholds, so no garbage piles up), whatever thread allocated;
- a full collection is put off until the till has been idle for a moment (no call running in the op helper and none
  finished for `idle_s`); a till that never rests still gets one after `DEFERRED_FULL_COLLECTION` young ones.

Young generations hold only what was just made, and collect in well under a millisecond. This is the pattern Qt
applications in Python use (collect on the GUI thread from a timer) for the same reason.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

from ui.ops import Ops

# Full collections put off: one per this many young (generation 1) collections, which is some 7,000,000
# allocations at the default thresholds, against 70,000 by default.
DEFERRED_FULL_COLLECTION = 1000
CHECK_MS = 250  # how often the GUI thread looks at the generations' counts and whether the till rests


def freeze_startup_objects() -> None:
    """Collect once, then move everything alive to the permanent generation, out of every later collection."""
    gc.collect()
    gc.freeze()


def collect_due() -> int:
    """The collection the interpreter would have run by now, run on the calling thread, by its own rule: when the
    youngest generation is over its threshold, the oldest generation over its own is collected (with those
    younger). Returns the generation collected, -1 for none."""
    thresholds, counts = gc.get_threshold(), gc.get_count()
    if counts[0] <= thresholds[0]:
        return -1
    generation = next(g for g in (2, 1, 0) if g == 0 or counts[g] > thresholds[g])
    gc.collect(generation)
    return generation


class IdleCollector(QObject):
    def __init__(self, ops: Ops, idle_s: float = 1.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.idle_s = idle_s
        self.collections = 0  # how many full collections ran here (for tests and the status of a till)
        self._last_busy = time.monotonic()
        self._was_enabled = gc.isenabled()
        self._threshold = gc.get_threshold()
        ops.busy_changed.connect(self._busy)
        young, middle, _old = self._threshold
        gc.set_threshold(young, middle, DEFERRED_FULL_COLLECTION)
        gc.disable()  # every collection from here on runs on this (the GUI) thread
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _busy(self, busy: bool) -> None:
        self._last_busy = time.monotonic()

    def _tick(self) -> None:
        if not self.collect_if_idle():
            self.collect_young()

    def collect_young(self) -> int:
        """`collect_due` on the GUI thread's timer; a full collection it ran counts among `collections`."""
        generation = collect_due()
        if generation == 2:
            self.collections += 1
        return generation

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
        """Timer off; the interpreter collects by itself again, as before this collector."""
        self._timer.stop()
        gc.set_threshold(*self._threshold)
        if self._was_enabled:
            gc.enable()
