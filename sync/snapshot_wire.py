"""Reading a catalog snapshot off the wire (see protocol.SNAPSHOT_FORMAT): gzip-compressed JSON lines, checked line
by line as they stream in, never all held at once. Nothing here knows the local database (`sync.snapshot` applies
what this yields); `sync.client.Client.snapshot` opens the stream.

A snapshot that ends before its trailer, or whose count does not match, raises BadSnapshot when the reader gets
there, so the caller's transaction is rolled back and nothing of a cut-off snapshot is kept.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from sync import protocol

MAX_LINE_BYTES = 4 * 1024 * 1024  # one change's line; a longer one is refused, not buffered
_STEP = 1024 * 1024  # bytes decompressed at a time (a small input cannot blow up in memory)


class BadSnapshot(Exception):
    """The snapshot is not in the expected form, or was cut off; take it again."""


def _lines(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    unpack = zlib.decompressobj(31)  # gzip
    buffer = b""
    try:
        for chunk in chunks:
            data = chunk
            while data:
                out = unpack.decompress(data, _STEP)
                data = unpack.unconsumed_tail
                buffer += out
                *lines, buffer = buffer.split(b"\n")
                if len(buffer) > MAX_LINE_BYTES:
                    raise BadSnapshot("a line of the snapshot is too long")
                for line in lines:
                    yield _parse(line)
                if unpack.eof:
                    break
    except zlib.error as exc:
        raise BadSnapshot(f"the snapshot is not valid gzip: {exc}") from exc
    if buffer.strip():
        yield _parse(buffer)


def _parse(line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise BadSnapshot("a line of the snapshot is not JSON") from exc
    if not isinstance(value, dict):
        raise BadSnapshot("a line of the snapshot is not an object")
    return value


def _int(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


class Snapshot:
    """A snapshot being read: `cursor` and `store` from its header, then its changes by iterating (each checked:
    seq from 1 to the cursor, type and key text, payload an object), up to a trailer whose count matches."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._lines = _lines(chunks)
        header = next(self._lines, None)
        if header is None or header.get("snapshot") != protocol.SNAPSHOT_FORMAT:
            raise BadSnapshot(f"not a snapshot of format {protocol.SNAPSHOT_FORMAT}")
        cursor, store = header.get("cursor"), header.get("store")
        if not isinstance(cursor, int) or not _int(cursor, 0, protocol.MAX_SEQ) or not isinstance(store, str):
            raise BadSnapshot("the snapshot's header has no valid cursor and store")
        self.cursor: int = cursor
        self.store: str = store
        self.count = 0
        self.complete = False

    def __iter__(self) -> Iterator[protocol.Change]:
        for obj in self._lines:
            if obj.get("end") is True:
                if obj.get("count") != self.count:
                    raise BadSnapshot(f"the snapshot sent {self.count} changes but says {obj.get('count')}")
                if next(self._lines, None) is not None:
                    raise BadSnapshot("the snapshot goes on after its end")
                self.complete = True
                return
            seq, kind, key, payload = obj.get("seq"), obj.get("type"), obj.get("key"), obj.get("payload")
            if not (
                _int(seq, 1, self.cursor)
                and isinstance(kind, str)
                and isinstance(key, str)
                and isinstance(payload, dict)
            ):
                raise BadSnapshot(f"change {self.count + 1} of the snapshot is not in the expected form")
            self.count += 1
            # Checked just above: building the model without validating it again keeps a million lines quick.
            yield protocol.Change.model_construct(seq=seq, type=kind, key=key, payload=payload)
        raise BadSnapshot(f"the snapshot was cut off after {self.count} changes")
