"""Proof that a staff change was made by the manager it names: a till cannot make one up.

A till's token carries no authority over people, so a staff change names its actor (the manager or admin who made
it) and the central store checks that actor's role against its own view of the store's staff. Naming someone is
not proof of being them: a hostile till could name a real admin. So the change also carries a **proof**: an
HMAC-SHA256, over the change and its event id, keyed with the actor's **PIN key**.

- A user's PIN key is PBKDF2-SHA256 of their PIN, salted with their user id. It is derived on the till where the
  PIN is typed (at sign-in, held in memory for the session; never stored on the till) and sent to the central store
  once, in the staff change that sets the PIN. The central keeps it and never puts it in any feed; the tills get the
  argon2 hash they need to sign people in offline, nothing else.
- The central recomputes the proof with the key it holds for the named actor. A till that never saw the actor type
  their PIN cannot make the proof; the event id in it means a proof cannot be replayed under another event.
- What is left: a till holds the argon2 hash of each PIN (to sign people in offline), so a PIN short enough to guess
  from its hash is a PIN short enough to guess the key from. The per-role minimum PIN lengths (6 digits for the
  roles that manage staff) are what keep that slow.

Pure standard library: the wire (`sync.protocol`) re-exports it for the central store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

ITERATIONS = 60_000
_SALT = b"counterline-staff-pin-key\x00"


def pin_key(user_id: str, pin: str) -> str:
    """The user's PIN key (hex): what the central store keeps to check the proofs of their changes."""
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), _SALT + str(user_id).encode(), ITERATIONS).hex()


def _message(event_id: str, change: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in change.items() if k != "proof"}
    return json.dumps([str(event_id), body], sort_keys=True, separators=(",", ":"), default=str).encode()


def prove(key: str, event_id: str, change: Mapping[str, Any]) -> str:
    """The proof of `change` (the staff change as sent, without its proof) under event `event_id`."""
    return hmac.new(bytes.fromhex(key), _message(event_id, change), hashlib.sha256).hexdigest()


def check(key: str, event_id: str, change: Mapping[str, Any], proof: str | None) -> bool:
    """Whether `proof` is the proof of `change` under `key`; False for anything malformed."""
    if not isinstance(proof, str) or not proof:
        return False
    try:
        expected = prove(key, event_id, change)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, proof)
