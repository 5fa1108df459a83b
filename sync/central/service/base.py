"""What every part of the central service shares: its limits and constants, its errors, and small checks."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

STOREFRONT_KEY_ENV = "COUNTERLINE_STOREFRONT_KEY"
ENROL_CODE_TTL = timedelta(hours=24)
DEFAULT_LOCATIONS = (
    ("floor", "Sales floor", True),
    ("backroom", "Backroom", True),
    ("quarantine", "Quarantine", False),
)
PULL_MAX_LIMIT = 1000
# How long the token a new enrolment replaced keeps working, so the old till's unsent work can still be delivered.
REPLACED_TOKEN_GRACE = timedelta(hours=72)
# The kinds of number a till allocates (app.services.numbers), each STORE-TERMINAL-SEQUENCE.
NUMBER_KINDS = ("receipt", "return", "parked", "shift")
# A replacement till starts each kind at the next thousand after the last number seen, leaving room for what the
# old till numbered and has not sent yet.
NUMBER_STEP = 1000
_CODE_RE = re.compile(r"^[A-Z0-9]{1,16}$")
# Enrolment codes are typed at a till: no 0/O or 1/I to confuse.
_ENROL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class CentralError(ValueError):
    """Bad input from an operator or a client; the message is fit to show as it is."""


class NotFound(CentralError):
    pass


class Conflict(CentralError):
    pass


class Forbidden(CentralError):
    pass


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _printable(text: str, what: str) -> str:
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise CentralError(f"{what} contains a control character")
    return text
