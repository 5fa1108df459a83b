"""The sync envelopes between a terminal and the central store (version 1): push (events and the answers to
them), pull (changes and the snapshot format), enrolment, the audit head and status. `sync.protocol` re-exports every
name; the event payloads themselves are there."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from sync.protocol_types import MAX_EVENTS_PER_PUSH, MAX_SEQ, JsonObject, Time, _clean

PROTOCOL_VERSION = 1
PushStatus = Literal["applied", "duplicate", "rejected"]

# ---------------------------------------------------------------- envelopes


class Event(BaseModel):
    """One fact a terminal committed locally; `id` is the UUIDv7 the terminal gave it, its identity everywhere.

    The central store validates each event of a push alone against this and against its type's payload model
    (`PAYLOADS`), so one bad event is refused with its reason and the others of its batch still apply."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    type: Annotated[StrictStr, Field(min_length=1, max_length=32), AfterValidator(_clean)]
    occurred_at: Time
    payload: JsonObject


class AuditAnchor(BaseModel):
    """The head of the terminal's audit chain when it sent a batch: the central store keeps the highest, so entries
    removed at the till afterwards (even together with their unsent outbox rows) show against it."""

    seq: StrictInt = Field(ge=1, le=MAX_SEQ)
    hash: Annotated[StrictStr, Field(min_length=1, max_length=128), AfterValidator(_clean)]


class PushRequest(BaseModel):
    """What a terminal sends. The central store reads `events` as plain objects and judges each one alone."""

    events: list[Event] = Field(max_length=MAX_EVENTS_PER_PUSH)
    protocol_version: int = PROTOCOL_VERSION
    audit_head: AuditAnchor | None = None


class PushBatch(BaseModel):
    """A push as the central store receives it: each event is validated on its own (see `Event`)."""

    events: list[dict[str, Any]] = Field(max_length=MAX_EVENTS_PER_PUSH)
    protocol_version: StrictInt = Field(default=PROTOCOL_VERSION, ge=0, le=1000)
    audit_head: AuditAnchor | None = None


class PushResult(BaseModel):
    id: UUID
    status: PushStatus
    reason: str | None = None


class PushResponse(BaseModel):
    results: list[PushResult]


class Change(BaseModel):
    seq: int
    type: str
    key: str
    payload: dict[str, Any]


# A catalog snapshot (GET /v1/snapshot): gzip of JSON lines, a header {"snapshot": SNAPSHOT_FORMAT, "store", "cursor"},
# one line per change ({"seq", "type", "key", "payload"}, the latest of each key up to the cursor), then a trailer
# {"end": true, "count": n}. A pull from a cursor below the store's compacted feed is answered SNAPSHOT_NEEDED_STATUS.
SNAPSHOT_FORMAT = 1
SNAPSHOT_NEEDED_STATUS = 410


class PullResponse(BaseModel):
    changes: list[Change]
    next_cursor: int
    more: bool
    remaining_estimate: int | None = None


class EnrollRequest(BaseModel):
    code: Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_clean)]
    terminal_name: Annotated[StrictStr, Field(min_length=1, max_length=100), AfterValidator(_clean)]


class EnrollResponse(BaseModel):
    token: str
    store_code: str
    terminal_code: str
    store: dict[str, Any]
    locations: list[dict[str, Any]]
    # Per kind of number (receipt, return, parked, shift): a replacement till's numbers start after this.
    numbers: dict[str, int] = Field(default_factory=dict)


# The longest a pull may wait for the store's feed to move (GET /v1/pull?wait=...).
MAX_PULL_WAIT_S = 30


class AuditHead(BaseModel):
    """What the central store holds of one terminal's audit chain: the last entry it received, and whether the
    entries before it arrived whole (every seq, each naming the hash of the one before)."""

    count: int
    last_seq: int | None = None
    last_hash: str | None = None
    missing: list[int] = Field(default_factory=list)  # seqs below last_seq not received (the first 20)
    broken_at: int | None = None  # the first seq whose prev_hash does not name the entry before
    # The highest audit head the terminal's pushes named (see AuditAnchor): entries up to it existed there.
    anchor_seq: int | None = None
    anchor_hash: str | None = None


class StatusResponse(BaseModel):
    ok: bool
    protocol_version: int
    database: str
    store: str | None = None
    feed_head: int | None = None
