"""What a piece of work leaves for Python's cyclic collector: the objects only a collection can free, by type."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable


def left_for_the_collector(work: Callable[[], object]) -> Counter[str]:
    """Run `work` with the collector off, then count by type what a full collection finds unreachable."""
    gc.collect()
    gc.disable()
    try:
        work()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        return Counter(type(o).__name__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
