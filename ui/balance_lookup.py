"""The Pay dialog asks the central store for a store credit or gift card balance before spending it.

When this till is connected (the sync agent's client), the balance the central store keeps now
(`sync.client.Client.balance`) becomes this till's view (`app.services.balances.note_central`: that plus this till's
own changes not yet sent) before the tender is taken, so credit spent at another till or store is counted. The call
runs off the GUI thread; out of reach (or not connected) the tender is taken on this till's view within the offline
limit (setting `balances.offline_limit`, the rule of app.services.balances).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.services import balances
from ui import threads
from ui.context import AppContext

log = logging.getLogger(__name__)


class BalanceLookup(QObject):
    """`ask(kind, account, then)`: the central store's balance noted (when it answers), then `then()`."""

    _answered = Signal(object, object)  # (kind, account, balance or None), then

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._answered.connect(self._note)

    def ask(self, kind: str, account: str | None, then: Callable[[], None]) -> None:
        make_client = getattr(self.ctx.services.get("sync"), "make_client", None)
        key = (account or "").strip()
        if kind == "gift_card":
            key = key.upper()
        if make_client is None or kind not in balances.HELD or not key:
            then()
            return

        def work() -> None:
            # Here, not at the top: the HTTP client is no part of the app's start (a client exists by now).
            from sync.client import SyncError

            value: Decimal | None = None
            try:
                with make_client() as client:
                    value = client.balance(kind, key)
                if not value.is_finite():
                    value = None
            except SyncError as exc:
                log.info("balance lookup: spending on this till's view (%s)", exc)
            except Exception:  # noqa: BLE001 - the tender is still taken on this till's view
                log.exception("balance lookup failed")
            self._answered.emit((kind, key, value), then)

        threads.start(work, "counterline-balance")

    def _note(self, said: Any, then: Any) -> None:
        kind, key, value = said
        if value is not None:
            self.ctx.ops.run(lambda s, _a: balances.note_central(s, kind, key, value), None, None)
        then()  # queued after the note: the ops run in order
