"""Pickup codes: random, kept only as a salted slow hash, checkable without the central store.

The central store makes a code when a pickup order becomes ready, puts it in the customer's "ready" notice and
keeps only its verifier (PBKDF2-SHA256 with a random salt). The verifier travels to the store's tills in the
order's feed payload, so a till can check the code the customer shows with the central out of reach; the code
itself never leaves the notice. Pure standard library: the wire (sync.protocol) re-exports it for the central.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

# No 0/O, 1/I/L: a code read aloud or typed from a phone screen is not misread. 8 of 31 symbols is ~40 bits.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 8
ALGORITHM = "pbkdf2-sha256"
ITERATIONS = 100_000
# A verifier from the feed is input: one asking for absurd work is refused rather than hanging the till.
MAX_ITERATIONS = 2_000_000


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(code: str) -> str:
    """The code as typed or scanned: case, spaces and dashes do not matter."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def _digest(code: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", normalize(code).encode(), salt, iterations)


def make_verifier(code: str, iterations: int = ITERATIONS) -> dict[str, Any]:
    """What the central keeps and the tills receive: enough to check `code`, not enough to show it."""
    salt = secrets.token_bytes(16)
    return {
        "algo": ALGORITHM,
        "iterations": iterations,
        "salt": salt.hex(),
        "hash": _digest(code, salt, iterations).hex(),
    }


def verify(code: str, verifier: dict[str, Any] | None) -> bool:
    """Whether `code` is the one `verifier` was made from; False for anything malformed."""
    if not verifier or not isinstance(code, str):
        return False
    try:
        if verifier.get("algo") != ALGORITHM:
            return False
        iterations = int(verifier["iterations"])
        salt = bytes.fromhex(str(verifier["salt"]))
        expected = bytes.fromhex(str(verifier["hash"]))
    except (KeyError, TypeError, ValueError):
        return False
    if not 1 <= iterations <= MAX_ITERATIONS or len(normalize(code)) != LENGTH:
        return False
    return hmac.compare_digest(_digest(code, salt, iterations), expected)
