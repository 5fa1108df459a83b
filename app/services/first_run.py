"""The first run of a till, without Qt: what the wizard (ui/first_run.py) asks and what each answer does.

A till is set up once it has a terminal row (`base.here`): the demo store (`app.demo.seed`), or the store the central
enrolled it into (`sync.enrol`). Then its devices (the same `devices.*` settings Office > Devices edits) and, where
no staff came with the store, its first manager: the `admin` role, the one who can add the others, with a PIN at least
the store's minimum for it (`staff.pin_min_length`).

`actor` None is the first run itself, composed by ui/main.py before any window or sign-in exists: there is nobody to
check yet, and each change is audited as made by the first run. With an actor (the wizard run again from Office) the
usual permission checks apply (`device_settings.save`, `printing.test_label`, `drawer.open_drawer`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import demo
from app.db.models import StaffUser, Store
from app.documents.model import Document, Text
from app.domain.permissions import Role
from app.services import audit, device_settings, drawer, printing, settings, staff
from app.services.base import Actor, UserError, here

# The devices the wizard asks about, in its order: Office > Devices' settings plus the Pack bench's scale.
DEVICE_KEYS = (
    "devices.receipt_printer",
    "devices.label_printer",
    "devices.scanner",
    "devices.drawer",
    "devices.scale",
)
FIRST_MANAGER_ROLE = Role.ADMIN.value  # the central store takes only an admin as a till's first user


@dataclass(frozen=True)
class State:
    """Where the till stands: set up (a store and terminal), which, and whether it has any staff."""

    set_up: bool
    has_staff: bool
    store: str = ""  # "S1 High Street, terminal T1" once set up
    enrolled: bool = False


def state(session: Session) -> State:
    has_staff = session.scalar(select(StaffUser.id).limit(1)) is not None
    try:
        h = here(session)
    except UserError:
        return State(False, has_staff)
    name = session.scalar(select(Store.name).where(Store.id == h.store_id)) or ""
    return State(
        True,
        has_staff,
        f"{h.store_code} {name}, terminal {h.terminal_code}".strip(),
        bool(settings.get(session, "sync.central_url")),
    )


def set_up_demo(session: Session) -> None:
    """The demo store, on a database with no store yet (its staff come with it)."""
    if state(session).set_up:
        raise UserError("This till is set up already: the demo store goes on a new data folder only.")
    demo.seed(session)


def devices(session: Session) -> dict[str, Any]:
    return {key: settings.get(session, key) for key in DEVICE_KEYS}


def save_devices(session: Session, actor: Actor | None, values: dict[str, Any]) -> None:
    """The wizard's device settings: through `device_settings.save` (permission, audit) for a signed-in person; on
    the first run, stored and audited as the first run's."""
    unknown = set(values) - set(DEVICE_KEYS)
    if unknown:
        raise UserError(f"Not a device setting: {', '.join(sorted(unknown))}.")
    for key, value in values.items():
        if not isinstance(value, dict):
            raise UserError(f"{key}: the settings of a device are an object of named values.")
    if actor is not None:
        device_settings.save(session, actor, values)
        return
    for key, value in values.items():
        settings.put(session, key, value)
    audit.record(
        session, None, "settings.devices_saved", "settings", "devices", {**values, "first_run": True}
    )


def test_label(session: Session, actor: Actor | None) -> None:
    """A test label through the print queue (the print worker sends it)."""
    if actor is not None:
        printing.test_label(session, actor)
        return
    doc = Document("label", 32, [Text("Counterline test label", bold=True), Text("The label printer works.")])
    printing.enqueue(session, "test", doc.to_json(), "Test label", role="label")


def test_drawer(session: Session, actor: Actor | None) -> bool:
    """Record a test opening of the drawer; True where the print worker should send the pulse."""
    if actor is not None:
        return drawer.open_drawer(session, actor, "test").open_drawer
    audit.record(session, None, "drawer.no_sale", "drawer", "", {"reason": "test", "first_run": True})
    return True


def pin_length(session: Session) -> int:
    """The shortest PIN the first manager may have here."""
    return staff.min_pin_length(session, FIRST_MANAGER_ROLE)


def username_for(name: str) -> str:
    """A sign-in name from a display name: lower-case letters and digits, e.g. "Morgan Lee" -> "morgan.lee"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()  # Zoë -> Zoe
    words = re.findall(r"[a-z0-9]+", plain.lower())
    return ".".join(words)[:32] or "admin"


def create_first_manager(session: Session, name: str, pin: str, confirm: str) -> str:
    """The till's first manager (role admin) on a database with no staff; returns their sign-in name."""
    name = " ".join(name.split())
    if not name:
        raise UserError("Give the manager's name.")
    if len(name) > 80:
        raise UserError("A name is at most 80 characters.")
    staff.check_pin(session, FIRST_MANAGER_ROLE, pin)
    if pin != confirm:
        raise UserError("The two PINs are not the same: type the PIN again in both boxes.")
    username = username_for(name)
    if not staff.create_first_admin(session, pin, display_name=name, username=username):
        raise UserError("This till has staff already: add more in Office > Staff.")
    return username
