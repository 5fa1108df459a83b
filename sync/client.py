"""The terminal's end of the wire: enrolment, push and pull over HTTP (httpx), and nothing about the local database.

Every call carries the terminal's bearer token. TLS certificates are verified unless the central store is on this
machine (loopback), and a token is never sent in clear text to another machine unless the caller says so
(`allow_insecure`, for a store's own network in a lab). Errors come in two kinds: `Retryable` (network down,
timeouts, 5xx: try again later, nothing is lost) and `Refused` (the central store said no: bad token, bad
request), which waiting will not fix.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from uuid import UUID

import httpx
from pydantic import ValidationError

from sync import protocol, snapshot_wire

# A push batch is applied event by event while other tills of the store queue on the same lock: allow for it.
DEFAULT_TIMEOUT = httpx.Timeout(90.0, connect=5.0)
# A snapshot streams while the till applies it: a read waits at most this long for the next bytes.
SNAPSHOT_TIMEOUT = httpx.Timeout(300.0, connect=5.0)


class SyncError(Exception):
    """Base of what a sync call can raise; the message is fit to show at the counter."""


class Retryable(SyncError):
    """The call may or may not have reached the central store; sending it again is safe."""


class Refused(SyncError):
    """The central store answered and refused; sending the same again would be refused again."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class NotEnrolled(Refused):
    """The token is missing, unknown or replaced: the terminal must be enrolled again."""


class SnapshotNeeded(Refused):
    """The cursor is below the store's compacted feed: take a snapshot (`Client.snapshot`), then pull on."""


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_insecure: bool = False) -> str:
    """The central store's base URL, normalised; a clear ValueError for anything that cannot be used."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{url!r} is not an http(s) address of a central store (for example https://hq.example:8443)"
        )
    if parts.scheme == "http" and not is_loopback(url) and not allow_insecure:
        raise ValueError(
            f"{url} is plain http to another machine: the terminal token would travel in clear text. "
            "Use https, or --insecure on a closed lab network."
        )
    return url


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(str(d.get("msg", d)) for d in detail if isinstance(d, dict))[:300]
    return str(detail or body)[:300]


class Client:
    """One terminal's connection to the central store. Thread-compatible: use one per thread."""

    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        allow_insecure: bool = False,
    ) -> None:
        self.base_url = check_url(base_url, allow_insecure)
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers["User-Agent"] = f"counterline-terminal/{protocol.PROTOCOL_VERSION}"
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=not is_loopback(self.base_url),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise Retryable(f"the central store did not answer in time ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise Retryable(f"cannot reach the central store: {exc or type(exc).__name__}") from exc
        self._check(response)
        try:
            return response.json()
        except ValueError as exc:
            raise Retryable("the central store sent an answer that is not JSON") from exc

    def _check(self, response: httpx.Response) -> None:
        """Raise what an answer other than 2xx means (NotEnrolled, Retryable, SnapshotNeeded or Refused)."""
        if response.status_code == 401:
            raise NotEnrolled(f"the central store does not know this terminal: {_detail(response)}", 401)
        if response.status_code >= 500 or response.status_code in (408, 425, 429):
            raise Retryable(f"the central store is unwell (HTTP {response.status_code}): {_detail(response)}")
        if response.status_code == protocol.SNAPSHOT_NEEDED_STATUS:
            raise SnapshotNeeded(_detail(response), response.status_code)
        if response.status_code >= 400:
            raise Refused(f"the central store refused: {_detail(response)}", response.status_code)

    def enroll(self, code: str, terminal_name: str) -> protocol.EnrollResponse:
        body = protocol.EnrollRequest(code=code, terminal_name=terminal_name)
        return _parse(protocol.EnrollResponse, self._call("POST", "/v1/enroll", json=body.model_dump()))

    def push(
        self, events: list[protocol.Event], audit_head: protocol.AuditAnchor | None = None
    ) -> protocol.PushResponse:
        """Send a batch; `audit_head` is this till's audit chain head now, kept at the central as an anchor."""
        body = protocol.PushRequest(events=events, audit_head=audit_head)
        answer = _parse(
            protocol.PushResponse,
            self._call(
                "POST",
                "/v1/push",
                content=body.model_dump_json(),
                headers={"Content-Type": "application/json"},
            ),
        )
        sent = {e.id for e in events}
        if {r.id for r in answer.results} != sent:
            raise Retryable("the central store's answer does not cover the events sent")
        return answer

    def pull(
        self, cursor: int, limit: int = 500, first: bool = False, wait: float = 0
    ) -> protocol.PullResponse:
        """A page of the store's feed after `cursor`; with `wait` (seconds, at most protocol.MAX_PULL_WAIT_S) the
        central holds an empty answer until the feed moves or the wait ends (long-poll)."""
        params: dict[str, Any] = {"cursor": cursor, "limit": limit}
        extra: dict[str, Any] = {}
        if first:
            params["first"] = "true"
        if wait > 0:
            wait = min(wait, protocol.MAX_PULL_WAIT_S)
            params["wait"] = f"{wait:g}"
            extra["timeout"] = httpx.Timeout(wait + 15.0, connect=5.0)  # the wait is no time-out
        page = _parse(protocol.PullResponse, self._call("GET", "/v1/pull", params=params, **extra))
        if page.next_cursor < cursor or any(c.seq <= cursor for c in page.changes):
            raise Retryable("the central store's page goes back before the cursor")
        return page

    @contextmanager
    def snapshot(self) -> Iterator[snapshot_wire.Snapshot]:
        """The store's snapshot as it streams in, its lines checked (`sync.snapshot_wire.Snapshot`); a stream that
        breaks off or is malformed raises Retryable while it is read, so the reader's transaction rolls back."""
        try:
            with self._http.stream("GET", "/v1/snapshot", timeout=SNAPSHOT_TIMEOUT) as response:
                if response.status_code != 200:
                    response.read()
                    self._check(response)
                yield snapshot_wire.Snapshot(response.iter_raw())
        except httpx.TimeoutException as exc:
            raise Retryable(f"the central store's snapshot stalled ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise Retryable(f"the snapshot broke off: {exc or type(exc).__name__}") from exc
        except snapshot_wire.BadSnapshot as exc:
            raise Retryable(f"the central store's snapshot cannot be used: {exc}") from exc

    def status(self) -> protocol.StatusResponse:
        return _parse(protocol.StatusResponse, self._call("GET", "/v1/status"))

    def audit_head(self) -> protocol.AuditHead:
        """What the central store holds of this terminal's audit chain."""
        return _parse(protocol.AuditHead, self._call("GET", "/v1/audit/head"))

    def balance(self, kind: str, account: str) -> Decimal:
        """A store credit (account: customer id) or gift card (code) balance as the central store keeps it now; give
        it to `app.services.balances.note_central` before spending."""
        answer = self._call("GET", f"/v1/balances/{kind}/{quote(account, safe='')}")
        return Decimal(str(answer["balance"]))

    def returnable(self, original_id: str, web_order: bool = False) -> dict[str, Any]:
        """What is left to take back of a sale (or web order) over every till's returns, before a return online."""
        params = {"web": "true"} if web_order else {}
        path = f"/v1/returns/{quote(original_id, safe='')}"
        answer: dict[str, Any] = self._call("GET", path, params=params)
        return answer

    def no_receipt(self, customer_id: str, qty: Decimal, amount: Decimal) -> dict[str, Any]:
        """Whether the customer's rolling no-receipt limit (chain-wide) allows a return of `qty` items for `amount`."""
        params = {"qty": str(qty), "amount": str(amount)}
        answer: dict[str, Any] = self._call(
            "GET", f"/v1/returns/no-receipt/{quote(customer_id, safe='')}", params=params
        )
        return answer

    def create_shipments(
        self, order_id: UUID | str, boxes: Sequence[protocol.ShipmentBoxRequest]
    ) -> list[protocol.ShipmentInfo]:
        """Hand sealed boxes of a ship order to the carrier through the central store: one `ShipmentInfo` (tracking
        number, service, label text) per box, in the order sent. Safe to repeat after a timeout: a box (SSCC) sent
        before gets its first answer again (`created` False). Raises Refused (another store's order, not a ship
        order, already shipped, contents the order does not have) or Retryable."""
        body = protocol.ShipmentRequest(boxes=list(boxes))
        path = f"/v1/orders/{quote(str(order_id), safe='')}/shipments"
        answer = _parse(
            protocol.ShipmentResponse, self._call("POST", path, json=body.model_dump(mode="json"))
        )
        if [s.sscc for s in answer.shipments] != [box.sscc for box in body.boxes]:
            raise Retryable("the central store's answer does not cover the boxes sent")
        shipments: list[protocol.ShipmentInfo] = answer.shipments
        return shipments


def wait_until_serving(base_url: str, running: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Poll the central service's status until it answers 200 (after starting it). Raises RuntimeError when
    `running()` says its process ended, or when `timeout_s` passes first."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base_url}/v1/status", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if not running():
            raise RuntimeError("the central service stopped before it answered")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the central service did not answer within {timeout_s:.0f} s")
        time.sleep(0.1)


def _parse(model: type[Any], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Retryable(
            f"the central store's answer is not in the expected form: {exc.error_count()} errors"
        ) from exc


# ---------------------------------------------------------------- the token on disk


def save_token(path: Path, token: str) -> None:
    """Write the token readable by this user only (0600), replacing any earlier one atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, token.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_token(path: Path) -> str | None:
    """The saved token, or None; refuses a token file other users can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SyncError(f"{path.name} can be read by other users: run `chmod 600` on it, or enrol again")
    token = path.read_text(encoding="utf-8").strip()
    return token or None
