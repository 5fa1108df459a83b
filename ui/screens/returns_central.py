"""The Returns desk asks the central store (the authority over returns) what is left of a sale, off the GUI thread.

When this till is connected (the sync agent's client), the answer (`sync.client.Client.returnable`, checked by
`app.services.returns.central_answer`) comes back as `answered(order_id, Central)`: the desk then shows and decides
on it, other tills' returns counted. Out of reach, not synced there yet, or an answer that cannot be read:
`answered(order_id, None)`, and the desk decides on what this till knows (the central store parks a conflict).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.services import returns
from app.services.base import UserError
from ui import threads

log = logging.getLogger(__name__)


class CentralWord(QObject):
    answered = Signal(str, object)  # order id, returns.Central or None

    def ask(self, make_client: Callable[[], Any] | None, order_id: str, web_order: bool) -> None:
        if make_client is None:
            self.answered.emit(order_id, None)
            return

        def work() -> None:
            # Here, not at the top: the HTTP client is no part of the app's start (a client exists by now).
            from sync.client import SyncError

            word: returns.Central | None = None
            try:
                with make_client() as client:
                    word = returns.central_answer(client.returnable(order_id, web_order=web_order))
            except (SyncError, UserError) as exc:
                log.info("returns desk: deciding on this till's records (%s)", exc)
            except Exception:  # noqa: BLE001 - the desk still works on its own records
                log.exception("asking the central store about a return failed")
            self.answered.emit(order_id, word)

        threads.start(work, "counterline-returnable")
