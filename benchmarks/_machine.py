"""How fast this machine is today, printed beside a benchmark's figures.

The same code on this (shared, virtual) machine has measured up to twice as slow from one session to the next, and
by 15% from one minute to the next. A figure alone cannot say whether code or machine changed: `speed_line` times a
fixed piece of pure Python (best of three, CPU time) and gives the load average, so two runs' figures can be
compared once divided by their reference times.
"""

from __future__ import annotations

import os
import time

LOOP = 5_000_000


def reference_seconds() -> float:
    """CPU seconds of a fixed loop of integer additions (best of three)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        total = 0
        for i in range(LOOP):
            total += i
        best = min(best, time.process_time() - start)
    return best


def speed_line() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"machine: reference loop ({LOOP:,} additions) {reference_seconds() * 1000:.0f} ms CPU, "
        f"load average {load:.1f} (divide figures by the reference to compare runs)"
    )
