"""The hash chain of the audit trail: each entry's hash covers its content and the previous entry's hash.

A deleted, edited or reordered row breaks the chain at that point. (Entries cut off the end cannot be seen from the
chain alone: the central store keeps the last hash it received for that.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def entry_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    body = json.dumps(dict(fields), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + "|" + body).encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify(entries: Iterable[tuple[int, str, str, Mapping[str, Any]]]) -> ChainBreak | None:
    """Check (seq, prev_hash, hash, fields) rows in seq order; the first break, or None when intact."""
    prev = GENESIS
    for seq, prev_hash, stored_hash, fields in entries:
        if prev_hash != prev:
            return ChainBreak(seq, "entry does not follow the one before it (a row was deleted or moved)")
        if entry_hash(prev_hash, fields) != stored_hash:
            return ChainBreak(seq, "entry was changed after it was written")
        prev = stored_hash
    return None
