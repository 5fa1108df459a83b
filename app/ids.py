"""Identity of records that leave the terminal.

Every record that goes on the wire gets a time-ordered UUIDv7 when it is created (RFC 9562); that id is its
identity at every terminal and at the central store. Integer keys stay local.
"""

from __future__ import annotations

import uuid

from uuid6 import uuid7


def new_id() -> str:
    """A new UUIDv7 as its canonical 36-character string."""
    return str(uuid7())


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
