"""The wire's limits and value types (version 1): how big a push, a payload or a number may be, the checked types
every message model is built of (quantities, money, times, codes and text free of NUL and lone surrogates), and the
check that a JSON payload is plain JSON any store can keep. `sync.protocol` re-exports every name."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StrictInt, StrictStr

# ---------------------------------------------------------------- limits and value types
#
# Everything that enters the central store is checked against these before it is applied or enters a feed (a
# value that passes them can be stored on both engines and taken by every till of the store). Decimals travel
# as strings (or whole numbers): a JSON float is refused, since a float is not the amount the till counted.

MAX_BODY_BYTES = 4 * 1024 * 1024  # one request's body, checked before it is read
MAX_EVENTS_PER_PUSH = 500
MAX_LINES = 500  # lines, payments or movements of one sale, return or parked sale
MAX_ORDER_LINES = 200  # lines of one storefront order
MAX_PAYLOAD_BYTES = 256 * 1024  # one event's payload as JSON
MAX_DEPTH = 8  # nesting of objects and lists inside one payload
MAX_QTY = Decimal(1_000_000_000)  # a quantity of one line or movement, either sign (a receipt may be large)
MAX_MONEY = Decimal(100_000_000)  # an amount of one line, payment or total, either sign
MAX_SEQ = 2**63 - 1  # feed seqs and cursors are 64-bit
QTY_PLACES = 3  # the central keeps thousandths; a finer quantity would be stored as something else
MONEY_PLACES = 2
RATE_PLACES = 6
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _clean(value: str) -> str:
    """No NUL and no lone surrogate: neither can be stored as text on PostgreSQL, nor encoded as UTF-8."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("is not valid Unicode (lone surrogate)") from exc
    return value


def _decimal_input(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError('give a decimal as a string, e.g. "1.50"')
    if isinstance(value, int):
        if abs(value) > 10**18:
            raise ValueError("is out of range")
        return Decimal(value)
    if isinstance(value, str):
        if len(value) > 40:
            raise ValueError("is too long for a number")
        try:
            return Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError("is not a number") from exc
    if isinstance(value, Decimal):
        return value
    raise ValueError("must be a decimal number given as a string")


def _checked(places: int, bound: Decimal) -> Any:
    """The decimal as sent (`_decimal_input`), finite, within `bound` either way and with at most `places` decimal
    places: one validator per value (a push checks some twenty of them per sale)."""
    step = Decimal(1).scaleb(-places)

    def check(value: Any) -> Decimal:
        if type(value) is str and len(value) <= 40:
            # What nearly every value is: `_decimal_input`'s case for a string, inline (no second call per value).
            try:
                value = Decimal(value.strip())
            except InvalidOperation as exc:
                raise ValueError("is not a number") from exc
        elif type(value) is not Decimal:
            value = _decimal_input(value)
        if not value.is_finite():
            raise ValueError("must be a finite number")
        if abs(value) > bound:
            raise ValueError(f"is out of range (at most {bound} either way)")
        if value != value.quantize(step):
            raise ValueError(f"has more than {places} decimal places")
        return value

    return check


def _in_time_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year}")
    return value


def _time_input(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be an ISO 8601 time with an offset, e.g. 2026-05-01T10:00:00+00:00")
    return value


Qty = Annotated[Decimal, BeforeValidator(_checked(QTY_PLACES, MAX_QTY))]
Money = Annotated[Decimal, BeforeValidator(_checked(MONEY_PLACES, MAX_MONEY))]
TaxRate = Annotated[Decimal, BeforeValidator(_checked(RATE_PLACES, Decimal(1))), Field(ge=0, lt=1)]
Time = Annotated[AwareDatetime, BeforeValidator(_time_input), AfterValidator(_in_time_range)]
Seq = Annotated[StrictInt, Field(ge=0, le=MAX_SEQ)]
Sku = Annotated[StrictStr, Field(min_length=1, max_length=40), AfterValidator(_clean)]
Code = Annotated[StrictStr, Field(min_length=1, max_length=32), AfterValidator(_clean)]
Number = Annotated[StrictStr, Field(min_length=1, max_length=40), AfterValidator(_clean)]
Short = Annotated[StrictStr, Field(max_length=20), AfterValidator(_clean)]
Name = Annotated[StrictStr, Field(max_length=200), AfterValidator(_clean)]
Note = Annotated[StrictStr, Field(max_length=500), AfterValidator(_clean)]
Ident = Annotated[StrictStr, Field(max_length=64), AfterValidator(_clean)]


def check_json(value: Any, what: str = "payload") -> None:
    """Raise ValueError unless `value` is plain JSON that any store can keep: nesting at most MAX_DEPTH, every
    string (keys too) free of NUL and lone surrogates and at most 10,000 characters, every number finite.

    Every event of every push passes here, so the walk only sorts the values by kind, level by level; the strings
    are then checked together (joined once: one search for NUL, one UTF-8 encoding for lone surrogates) and the
    numbers by their extremes."""
    texts: list[Any] = []  # every string and key
    ints: list[int] = []
    floats: list[float] = []
    level: list[Any] = [value]
    depth = 0
    while level:
        if depth > MAX_DEPTH:
            raise ValueError(f"{what} is nested more than {MAX_DEPTH} deep")
        deeper: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is str:
                texts.append(item)
            elif kind is dict:
                texts.extend(item)
                deeper.extend(item.values())
            elif kind is list:
                deeper.extend(item)
            elif kind is int:
                ints.append(item)
            elif kind is float:
                floats.append(item)
            elif item is not None and kind is not bool:
                _check_other(item, what, texts, ints, floats, deeper)
        level = deeper
        depth += 1
    try:
        joined = "".join(texts)
    except TypeError:
        raise ValueError(f"{what} has a key that is not text") from None
    _clean(joined)
    if texts and max(map(len, texts)) > 10_000:
        raise ValueError(f"{what} holds a string of more than 10,000 characters")
    if ints and (max(ints) > MAX_SEQ or min(ints) < -MAX_SEQ):
        raise ValueError(f"{what} holds a whole number out of the 64-bit range")
    if floats and not all(map(math.isfinite, floats)):
        raise ValueError(f"{what} holds a number that is not finite")


def _check_other(
    item: Any, what: str, texts: list[Any], ints: list[int], floats: list[float], deeper: list[Any]
) -> None:
    """A value of a subclass of a JSON kind (an OrderedDict, an IntEnum) is sorted as its kind; anything else is
    refused."""
    if isinstance(item, str):
        texts.append(item)
    elif isinstance(item, dict):
        texts.extend(item)
        deeper.extend(item.values())
    elif isinstance(item, list):
        deeper.extend(item)
    elif isinstance(item, bool):
        pass
    elif isinstance(item, int):
        ints.append(item)
    elif isinstance(item, float):
        floats.append(item)
    else:
        raise ValueError(f"{what} holds a {type(item).__name__}, which is not JSON")


def _safe_json(value: Any) -> Any:
    check_json(value)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_safe_json)]
