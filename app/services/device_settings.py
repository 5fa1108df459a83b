"""Office > Devices: saving the device settings is one call that checks the permission and leaves an audit entry.

Each device reads its settings when it next works (printers and the drawer per job); the scanners are started again
from theirs by the screen once this has committed (see ui/screens/office/devices.py, save_devices).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.domain.permissions import Permission
from app.services import audit, settings, staff
from app.services.base import Actor, Changes


def save(session: Session, actor: Actor, values: dict[str, Any]) -> Changes:
    """Store each `devices.*` (and `barcodes`) setting given, for a person allowed to change device settings."""
    approval = staff.require(session, actor, Permission.DEVICE_SETTINGS)
    for key, value in values.items():
        settings.put(session, key, value)
    audit.record(
        session,
        actor.user_id,
        "settings.devices_saved",
        "settings",
        "devices",
        {**values, "approval": approval} if approval else values,
    )
    return Changes(settings=True)
