"""Judging a pushed event before anything of it is applied: against the protocol (its type's payload model, its
size) and against itself (a sale's or return's lines, movements, totals and payments add up; each movement goes the
way its kind says). What fails is refused alone with a reason a person can read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from sync import protocol
from sync.central.ledger import Rejected
from sync.central.service.base import CentralError


def _safe_text(text: str, limit: int) -> str:
    """A reason or type fit for a text column on either engine (what was sent may hold NUL or lone surrogates)."""
    return text.replace("\x00", "\\0").encode("utf-8", "replace").decode("utf-8")[:limit]


def _judge(
    raw: protocol.Event | dict[str, Any],
    store_code: str,
    parsed: dict[uuid.UUID, tuple[BaseModel, str]] | None = None,
) -> protocol.Event | protocol.PushResult:
    """The event, validated, or its refusal (its payload as parsed and as JSON text are kept in `parsed`, so
    applying it neither parses nor serialises it again). An event whose id cannot be read cannot be answered:
    CentralError."""
    data = raw.model_dump() if isinstance(raw, protocol.Event) else raw
    try:
        event_id = uuid.UUID(str(data.get("id")))
    except (ValueError, AttributeError) as exc:
        raise CentralError("an event has no valid id (a UUID): nothing of this push was applied") from exc
    try:
        ev = raw if isinstance(raw, protocol.Event) else protocol.Event.model_validate(data)
        texts: list[str] = []
        payload = check_event(ev, texts)
        named = ev.payload.get("store")
        if named is not None and (not isinstance(named, str) or named.upper() != store_code):
            # Refused alone: a batch failed whole on it would stop every later event of the till.
            raise Rejected(f"event is for store {str(named)[:16]!r}; this terminal belongs to {store_code}")
    except ValidationError as exc:
        return protocol.PushResult(id=event_id, status="rejected", reason=_validation_reason(data, exc))
    except Rejected as exc:
        return protocol.PushResult(id=event_id, status="rejected", reason=_safe_text(exc.reason, 500))
    if parsed is not None:
        parsed[ev.id] = (payload, texts[0])
    return ev


def _validation_reason(data: dict[str, Any], exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    kind = str(data.get("type"))[:32] if isinstance(data, dict) else "?"
    return _safe_text(f"invalid {kind} event: {where}: {first['msg']}", 500)


def check_event(ev: protocol.Event, texts: list[str] | None = None) -> BaseModel:
    """Check an event against the protocol and against itself before anything of it is applied: its payload
    against its type's model, its size, and whether what it claims adds up. Returns the payload as parsed (and
    appends its JSON text to `texts`); raises ValidationError or Rejected."""
    model = protocol.PAYLOADS.get(ev.type)
    if model is None:
        raise Rejected(f"unknown event type {ev.type!r}")
    text = json.dumps(ev.payload)
    if texts is not None:
        texts.append(text)
    if len(text) > protocol.MAX_PAYLOAD_BYTES:
        raise Rejected(f"{ev.type} payload is larger than {protocol.MAX_PAYLOAD_BYTES // 1024} KiB")
    payload = model.model_validate(ev.payload)
    if isinstance(payload, protocol.SaleCompleted):
        _check_document(ev.type, payload)
    elif isinstance(payload, protocol.Movement):
        _check_movements([payload])
    elif isinstance(payload, protocol.OrderStatusChange):
        _check_movements(payload.movements)
    elif isinstance(payload, protocol.ParkedSale):
        _check_lines(payload.lines, sale=True)
    return payload


# The sign a movement of each kind may have: sales and hand-overs take goods out, returns and receipts bring
# them in; an adjustment or transfer may go either way. None is ever zero.
_MOVEMENT_SIGN = {"sale": -1, "fulfilment": -1, "return": 1, "receipt": 1}


def _check_movements(movements: Sequence[protocol.Movement]) -> None:
    for m in movements:
        if m.qty == 0:
            raise Rejected(f"movement {m.id} moves nothing (qty 0)")
        sign = _MOVEMENT_SIGN.get(m.kind)
        if sign is not None and (m.qty > 0) != (sign > 0):
            way = "take goods out" if sign < 0 else "bring goods in"
            raise Rejected(f"a {m.kind} movement must {way}: {m.sku} qty {m.qty}")
        if m.kind == "count":
            raise Rejected("count movements are made by the central store from stock.count events")


def _check_lines(lines: Sequence[protocol.SaleLine], sale: bool) -> None:
    for n, line in enumerate(lines, start=1):
        where = f"line {line.line_no or n} ({line.sku})"
        if line.qty == 0:
            raise Rejected(f"{where} has quantity 0")
        if sale and line.qty < 0:
            raise Rejected(f"{where} sells a negative quantity {line.qty}: take it back as a return")
        if line.unit_price < 0 or line.tax < 0 or (sale and line.amount < 0):
            raise Rejected(f"{where} has a negative price, amount or tax")


def _check_document(kind: str, p: protocol.SaleCompleted) -> None:
    """A sale or return adds up: each line's sign, its movements against its lines (same goods, same
    quantities, the right way), and its totals against its lines and payments."""
    sale = kind == protocol.SALE_COMPLETED
    _check_lines(p.lines, sale=sale)
    _check_movements(p.movements)
    expected = "sale" if sale else "return"
    sold: dict[str, Decimal] = {}
    for line in p.lines:
        sold[line.sku] = sold.get(line.sku, Decimal(0)) + abs(line.qty)
    moved: dict[str, Decimal] = {}
    for m in p.movements:
        if m.kind != expected:
            raise Rejected(f"a {kind} carries a {m.kind} movement ({m.sku})")
        moved[m.sku] = moved.get(m.sku, Decimal(0)) + abs(m.qty)
    for sku, qty in moved.items():
        if sku not in sold:
            raise Rejected(f"a movement of {sku} has no line in this {kind}")
        if qty != sold[sku]:
            raise Rejected(f"the movements of {sku} ({qty}) do not match its lines ({sold[sku]})")
    t = p.totals
    line_tax = sum((line.tax for line in p.lines), Decimal(0))
    line_amount = sum((line.amount for line in p.lines), Decimal(0))
    if t.tax_total is not None and t.tax_total != line_tax:
        raise Rejected(f"tax_total {t.tax_total} is not the sum of the lines' tax ({line_tax})")
    if t.total is not None and t.total not in (line_amount, line_amount + line_tax):
        raise Rejected(f"total {t.total} does not add up from the lines ({line_amount})")
    if sale and t.total is not None and t.total < 0:
        raise Rejected(f"a sale's total cannot be negative ({t.total})")
    if sale and t.total is not None and p.payments:
        paid = sum((pay.amount for pay in p.payments), Decimal(0))
        rounding = t.rounding or Decimal(0)
        if paid not in (t.total, t.total + rounding, t.total - rounding):
            raise Rejected(f"payments of {paid} do not settle the total {t.total}")
    if sale and any(pay.amount < 0 for pay in p.payments):
        raise Rejected("a sale's payment cannot be negative")
