"""The chain office's access to the central store's reports: office keys, and short-lived signed links to the page.

An office key is neither a till's token nor the storefront's API key: it only reads reports, for the whole chain
(`*`) or for some stores. Keys are kept hashed in `central_settings` ("office_keys"), made and revoked from the
command line. The API takes the key in `X-Office-Key`; a person opens the HTML page with a link the command line
signs with the key for some hours (`office-link`), so no key sits in a browser's history. Revoking the key ends
its links.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.central.models import CentralSetting, Store, utcnow
from sync.central.service.base import CentralError, NotFound, sha256

SETTING = "office_keys"
MAX_LINK_HOURS = 24 * 7


@dataclass(frozen=True)
class OfficeKey:
    ident: str
    label: str
    stores: frozenset[str]  # {"*"} for the chain

    def allows(self, store: str) -> bool:
        return "*" in self.stores or store in self.stores


def _keys(session: Session) -> dict[str, dict[str, Any]]:
    row = session.get(CentralSetting, SETTING)
    value = row.value if row is not None else {}
    return dict(value) if isinstance(value, dict) else {}


def _save(session: Session, keys: dict[str, dict[str, Any]]) -> None:
    row = session.get(CentralSetting, SETTING)
    if row is None:
        session.add(CentralSetting(key=SETTING, value=keys, updated_at=utcnow()))
    else:
        row.value = keys
        row.updated_at = utcnow()


def create_key(session: Session, label: str, stores: list[str] | None = None) -> tuple[str, str]:
    """A new office key for `stores` (the whole chain when None); returns (its id, the key, shown once)."""
    label = " ".join(label.split())[:100]
    if not label:
        raise CentralError("give the office key a label (who or what it is for)")
    scope = sorted({s.strip().upper() for s in stores}) if stores else ["*"]
    if scope != ["*"]:
        known = set(session.scalars(select(Store.code).where(Store.code.in_(scope))))
        missing = sorted(set(scope) - known)
        if missing:
            raise NotFound(f"no store {', '.join(missing)}")
    ident = secrets.token_hex(4)
    key = f"ofc_{ident}_{secrets.token_urlsafe(24)}"
    keys = _keys(session)
    keys[ident] = {
        "hash": sha256(key),
        "label": label,
        "stores": scope,
        "created_at": utcnow().isoformat(),
        "revoked_at": None,
    }
    _save(session, keys)
    return ident, key


def revoke_key(session: Session, ident: str) -> None:
    keys = _keys(session)
    if ident not in keys:
        raise NotFound(f"no office key {ident!r}")
    keys[ident] = {**keys[ident], "revoked_at": utcnow().isoformat()}
    _save(session, keys)


def _live(session: Session, ident: str) -> dict[str, Any] | None:
    entry = _keys(session).get(ident)
    if not isinstance(entry, dict) or entry.get("revoked_at"):
        return None
    return entry


def _office(ident: str, entry: dict[str, Any]) -> OfficeKey:
    return OfficeKey(ident, str(entry.get("label") or ""), frozenset(entry.get("stores") or ["*"]))


def check_key(session: Session, key: str) -> OfficeKey | None:
    """The office key `key` is, or None for anything else (a till's token, the storefront's key, a revoked key)."""
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != "ofc":
        return None
    entry = _live(session, parts[1])
    if entry is None or not hmac.compare_digest(str(entry.get("hash")), sha256(key)):
        return None
    return _office(parts[1], entry)


def _signature(entry: dict[str, Any], ident: str, until: int) -> str:
    return hmac.new(str(entry["hash"]).encode(), f"{ident}.{until}".encode(), hashlib.sha256).hexdigest()[:32]


def sign_link(session: Session, ident: str, hours: int, at: datetime | None = None) -> str:
    """A token for the office page, good for `hours` hours, signed with the key (its revocation ends it)."""
    if not 1 <= hours <= MAX_LINK_HOURS:
        raise CentralError(f"a link lasts between 1 and {MAX_LINK_HOURS} hours")
    entry = _live(session, ident)
    if entry is None:
        raise NotFound(f"no office key {ident!r} (or it was revoked)")
    until = int(((at or utcnow()) + timedelta(hours=hours)).timestamp())
    return f"{ident}.{until}.{_signature(entry, ident, until)}"


def check_link(session: Session, token: str, at: datetime | None = None) -> OfficeKey | None:
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(token) > 80:
        return None
    ident, until, sig = parts[0], int(parts[1]), parts[2]
    entry = _live(session, ident)
    if entry is None or until < (at or utcnow()).timestamp():
        return None
    if not hmac.compare_digest(_signature(entry, ident, until), sig):
        return None
    return _office(ident, entry)
