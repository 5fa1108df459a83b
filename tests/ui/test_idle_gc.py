"""The garbage collector waits for the till to rest: start-up objects frozen, full collections only when idle."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from ui.idle_gc import DEFERRED_FULL_COLLECTION, IdleCollector, freeze_startup_objects
from ui.ops import Ops


class Node:
    def __init__(self) -> None:
        self.other: Any = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture
def gc_state() -> Iterator[None]:
    """Whatever a test does to the collector, the next test gets it back as it was."""
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()
    gc.unfreeze()


@pytest.fixture
def ops(db: sessionmaker[Session]) -> Iterator[Ops]:
    o = Ops(db)
    yield o
    o.shutdown()


def test_startup_objects_are_frozen_out_of_later_collections(gc_state: None) -> None:
    kept = Node()
    freeze_startup_objects()
    assert gc.get_freeze_count() > 1000
    # A frozen object is never examined again: not even a full collection lists it among the tracked objects.
    assert not any(o is kept for o in gc.get_objects())


def test_full_collection_waits_for_the_till_to_rest(qtbot: QtBot, ops: Ops, gc_state: None) -> None:
    collector = IdleCollector(ops, idle_s=0.3)
    try:
        assert gc.get_threshold()[2] == DEFERRED_FULL_COLLECTION
        garbage = Node()
        gone = weakref.ref(garbage)
        gc.collect(1)  # a young collection: the cycle, still in use, moves to the old generation...
        del garbage  # ...and becomes garbage there, where only a full collection looks
        gc.collect(1)
        assert gone() is not None

        # A call running in the op helper: the till is busy, nothing is collected, however long it takes.
        release = threading.Event()
        ops.read(lambda s: release.wait(5), lambda _r: None)
        qtbot.wait(450)
        assert not collector.collect_if_idle()
        assert gone() is not None

        # The call ends; just after it the till is not yet at rest either.
        release.set()
        qtbot.waitUntil(ops.is_idle, timeout=5000)
        assert not collector.collect_if_idle()

        # At rest: the collector's own timer runs the full collection, and the cycle is freed.
        qtbot.waitUntil(lambda: gone() is None, timeout=3000)
        assert collector.collections >= 1
        # Nothing new grew old since: no second collection for nothing.
        qtbot.wait(50)
        assert not collector.collect_if_idle()
    finally:
        collector.stop()


def test_collections_run_on_the_gui_thread_whatever_thread_allocates(
    qtbot: QtBot, ops: Ops, gc_state: None
) -> None:
    """A worker that makes garbage never collects it itself: a Qt widget freed there would be destroyed off the GUI
    thread (the hang this guards against: a worker's collection destroyed a widget and Qt waited for the GUI thread,
    which was waiting for that worker). The GUI thread's timer collects instead, so nothing piles up."""
    threads: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            threads.append(threading.get_ident())

    gc.enable()  # as in a till before its window is up
    collector = IdleCollector(ops, idle_s=60)  # no full collection for rest in this test: young ones only
    gc.callbacks.append(seen)
    try:
        assert not gc.isenabled()
        made = threading.Event()
        cycles: list[weakref.ref[Node]] = []

        def allocate() -> None:
            for _ in range(20_000):  # far over the youngest generation's threshold
                cycles.append(weakref.ref(Node()))
            made.set()

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join(10)
        assert made.is_set()
        assert (
            gc.get_count()[0] > gc.get_threshold()[0]
        )  # the worker crossed the threshold and did not collect
        assert threads == []
        # The GUI thread's timer collects them: every collection ran here, and the cycles are gone.
        qtbot.waitUntil(lambda: all(ref() is None for ref in cycles), timeout=5000)
        assert threads and set(threads) == {threading.get_ident()}
    finally:
        gc.callbacks.remove(seen)
        collector.stop()
    assert gc.isenabled()  # stopped: the interpreter collects by itself again
