"""Enrolling a till with the central store: the one path of `counterline enrol` and of the first-run wizard.

`enrol` spends the one-time code, makes this database the store and terminal the central names
(`replica.setup_store`), keeps the token (0600), and adds the first admin where a PIN is given and the database has no
staff. `first_sync` then brings the store's catalog and staff (one sync round). Every failure is an `EnrolError`
whose message says what to do; `code` is the exit code the command line gives it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import StaffUser
from app.services import settings, staff
from app.services.base import UserError
from sync import replica
from sync.client import Client, Retryable, SyncError, load_token, save_token


class EnrolError(Exception):
    """Enrolment did not happen (or did not finish); the message is fit to show to the person enrolling."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Enrolled:
    terminal_code: str
    store_code: str
    notes: list[str] = field(default_factory=list)


def _has_staff(session: Session) -> bool:
    return session.scalar(select(StaffUser.id).limit(1)) is not None


def check_first_admin_pin(factory: sessionmaker[Session], pin: str | None) -> bool:
    """Where the database has no staff yet, the first admin's PIN is checked (before the code is spent: a refused
    PIN must not cost the store a new code). Returns whether a first admin is to be made."""
    with factory() as s:
        if _has_staff(s):
            return False
        if pin is None:
            return True
        try:
            staff.check_pin(s, "admin", pin)
        except UserError as e:
            raise EnrolError(f"cannot enrol: {e}") from e
    return True


def enrol(
    factory: sessionmaker[Session],
    token_file: Path,
    url: str,
    code: str,
    name: str = "",
    insecure: bool = False,
    admin_pin: str | None = None,
) -> Enrolled:
    """Join the central store at `url` with the one-time `code`; see the module docstring."""
    if admin_pin is not None:
        check_first_admin_pin(factory, admin_pin)
    url, code = url.strip(), code.strip()
    if not url or not code:
        raise EnrolError("Give the central store's address and the enrolment code.")
    try:
        client = Client(url, allow_insecure=insecure)
        with client:
            answer = client.enroll(code, name.strip() or socket.gethostname())
    except ValueError as e:
        raise EnrolError(f"cannot enrol: {e}") from e
    except Retryable as e:
        raise EnrolError(
            f"cannot enrol: {e}. Check the address, that the central store is running, and that this till's "
            "network reaches it; the code is not spent.",
            code=1,
        ) from e
    except SyncError as e:
        raise EnrolError(f"cannot enrol: {e}", code=1) from e
    try:
        with factory.begin() as s:
            notes = replica.setup_store(s, answer, client.base_url)
            settings.put(s, "sync.allow_insecure", bool(insecure))
            if admin_pin is not None and staff.create_first_admin(s, admin_pin):
                notes.append("created user 'admin' with the PIN given; add the other staff in Office")
    except (replica.ApplyError, UserError) as e:
        raise EnrolError(f"enrolled at the central store, but this database cannot take it: {e}") from e
    save_token(token_file, answer.token)
    return Enrolled(answer.terminal_code, answer.store_code, notes)


def first_sync(
    factory: sessionmaker[Session],
    token_file: Path,
    progress: Callable[[int, int | None], None] | None = None,
) -> bool:
    """One sync round just after enrolling (the catalog, the store's staff); returns whether staff came with it."""
    from sync.agent import Syncer

    token = load_token(token_file)
    with factory() as s:
        url = settings.get(s, "sync.central_url")
        insecure = bool(settings.get(s, "sync.allow_insecure"))
    if not token or not url:
        raise EnrolError("This till is not enrolled: enrol it first.")
    try:
        with Client(url, token, allow_insecure=insecure) as client:
            Syncer(factory, client).sync_once(progress)
    except (SyncError, replica.ApplyError) as e:
        raise EnrolError(f"enrolled, but the first sync stopped: {e} (nothing is lost; try again)", 1) from e
    with factory() as s:
        return _has_staff(s)
