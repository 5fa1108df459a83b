"""What a scan reads as: the results `app.domain.barcodes.parse` returns (a GTIN, a GS1 element string, an SSCC,
a scale label, a store-internal code, or something the store does not accept). `barcodes` re-exports them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal, TypeAlias

GtinFormat: TypeAlias = Literal["GTIN-8", "GTIN-12", "GTIN-13", "GTIN-14"]


@dataclass(frozen=True, slots=True)
class Gtin:
    """A trade item number. `gtin14` is the one form a catalog keys on; `digits` is the GTIN in its own
    length (`format`), so a UPC-E scan gives its expanded 12 UPC-A digits; `raw` is what was scanned."""

    gtin14: str
    digits: str
    format: GtinFormat
    raw: str

    @property
    def kind(self) -> Literal["gtin"]:
        return "gtin"


@dataclass(frozen=True, slots=True)
class Gs1:
    """A GS1 element string (GS1-128, DataMatrix, QR, DataBar, HRI or Digital Link) with the AIs we use typed.
    `ais` holds every AI read, keyed by AI number, with its data as printed."""

    gtin14: str | None
    sscc: str | None
    lot: str | None
    expiry: date | None
    serial: str | None
    net_weight_kg: Decimal | None
    price: Decimal | None
    ais: dict[str, str] = field(hash=False)
    raw: str

    @property
    def kind(self) -> Literal["gs1"]:
        return "gs1"


@dataclass(frozen=True, slots=True)
class Sscc:
    """A logistic unit (pallet, parcel) label: bare 18 digits or a GS1 string holding only AI (00)."""

    sscc: str
    raw: str

    @property
    def kind(self) -> Literal["sscc"]:
        return "sscc"


@dataclass(frozen=True, slots=True)
class VariableMeasure:
    """A scale label. Exactly one of `price` / `weight_kg` is set, by the layout's value kind. `prefix` is the
    layout prefix the code matched, since the same item reference may mean different items under two prefixes."""

    item_ref: str
    price: Decimal | None
    weight_kg: Decimal | None
    raw: str
    prefix: str

    @property
    def kind(self) -> Literal["variable_measure"]:
        return "variable_measure"


@dataclass(frozen=True, slots=True)
class InternalCode:
    """A store-internal code: `internal_kind` is the configured kind ("receipt", "badge", ...), `value` what
    follows the prefix (e.g. ``S001-01-000123`` for receipt ``R-S001-01-000123``)."""

    internal_kind: str
    value: str
    raw: str

    @property
    def kind(self) -> Literal["internal"]:
        return "internal"


@dataclass(frozen=True, slots=True)
class Unknown:
    """Anything the store does not accept, with a reason a cashier can act on."""

    raw: str
    reason: str

    @property
    def kind(self) -> Literal["unknown"]:
        return "unknown"


ScanResult: TypeAlias = Gtin | Gs1 | Sscc | VariableMeasure | InternalCode | Unknown
