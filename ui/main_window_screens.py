"""The main window's workstations, each built the first time it is needed.

A workstation's module is imported and its screen built on first use (shown, or handed to a test), not when the
window is made: the window shows with its sign-in page alone, and what only the other workstations import (the
packing, returns, stock and report services, their dialogs) is no part of the start. `MainWindow` then builds the
rest while the event loop is idle (`build_rest_when_idle`), so the first Ctrl+N after sign-in finds them built.

Each builder imports its screen inside the function: the import graph (lint-imports) still sees every edge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtWidgets import QWidget

from ui.context import AppContext


def _sell(ctx: AppContext) -> QWidget:
    from ui.screens.sell import SellScreen

    return SellScreen(ctx)


def _pickup(ctx: AppContext) -> QWidget:
    from ui.screens.pickup import PickupScreen

    return PickupScreen(ctx)


def _pack(ctx: AppContext) -> QWidget:
    from ui.screens.pack import PackScreen

    return PackScreen(ctx)


def _returns(ctx: AppContext) -> QWidget:
    from ui.screens.returns import ReturnsScreen

    return ReturnsScreen(ctx)


def _lookup(ctx: AppContext) -> QWidget:
    from ui.screens.lookup import LookupScreen

    return LookupScreen(ctx)


def _office(ctx: AppContext) -> QWidget:
    from ui.screens.office import OfficeScreen

    return OfficeScreen(ctx)


def _journal(ctx: AppContext) -> QWidget:
    from ui.screens.journal import JournalScreen

    return JournalScreen(ctx)


def _reports(ctx: AppContext) -> QWidget:
    from ui.screens.reports import ReportsScreen

    return ReportsScreen(ctx)


def _stock(ctx: AppContext) -> QWidget:
    from ui.screens.stock import StockScreen

    return StockScreen(ctx)


BUILDERS: dict[str, Callable[[AppContext], QWidget]] = {
    "sell": _sell,
    "pickup": _pickup,
    "pack": _pack,
    "returns": _returns,
    "lookup": _lookup,
    "office": _office,
    "journal": _journal,
    "reports": _reports,
    "stock": _stock,
}


def build_screen(key: str, ctx: AppContext) -> QWidget:
    return BUILDERS[key](ctx)


class Screens:
    """The window's screens by key: `screens[key]` builds one on first use (through `build`, which also puts it
    in the window); `key in screens` and `built()` see only those built so far."""

    def __init__(self, build: Callable[[str], QWidget]) -> None:
        self._build = build
        self._built: dict[str, QWidget] = {}

    def add(self, key: str, widget: QWidget) -> None:
        self._built[key] = widget

    def __getitem__(self, key: str) -> Any:  # noqa: ANN401 - each screen has its own calls
        w = self._built.get(key)
        if w is None:
            if key not in BUILDERS:
                raise KeyError(key)
            w = self._built[key] = self._build(key)
        return w

    def __contains__(self, key: object) -> bool:
        return key in self._built

    def built(self) -> Iterator[QWidget]:
        return iter(list(self._built.values()))
