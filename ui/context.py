"""What every screen is given: the op helper, the scan router, the message bar, the store and the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Paths
from app.services.base import Here
from app.services.staff import StaffView
from ui.feedback import MessageBar, Sounds
from ui.ops import Ops
from ui.scan_router import ScanRouter


@dataclass
class AppContext:
    factory: sessionmaker[Session]
    ops: Ops
    router: ScanRouter
    messages: MessageBar
    sounds: Sounds
    here: Here
    paths: Paths | None = None
    user: StaffView | None = None
    services: dict[str, Any] = field(
        default_factory=dict
    )  # print worker, sync agent: started after the window

    def __post_init__(self) -> None:
        # The message bar plays the tone that goes with what it shows (low for a refusal, high for good news),
        # so no caller can show a red message silently or beep twice.
        if self.messages.sounds is None:
            self.messages.sounds = self.sounds
