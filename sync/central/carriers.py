"""Carriers at the central store: who takes a parcel away and what tracking number it travels under.

The interface a carrier implements (a real carrier is a plug-in; nothing here knows one):

    class Carrier(Protocol):
        name: str                                   # shown on the label ("Counterline Local")
        def create_shipment(self, order: ShipmentOrder, box: ShipmentBox) -> CarrierShipment: ...

`create_shipment` is called once per box, inside the central's transaction that stores the shipment, and only for
a box (SSCC) not seen before: the central keeps the answer, so the same box asked again returns the same tracking
number without asking the carrier. It must not keep state of its own that a rolled-back transaction would leave
behind; a carrier that raises `CarrierError` refuses the box with its message (the request is refused, 422).

Registry: `register(name, factory)`, `get(name)`. A name not registered is looked up as an entry point of the group
`counterline.carriers` (a plug-in package declares `[project.entry-points."counterline.carriers"] ups = "pkg:Ups"`),
then as a dotted path "package.module:Factory". Which carrier the central uses: `COUNTERLINE_CARRIER` (default
"local"), read by `from_settings()`.

`LocalCarrier` needs no network: it issues "CL" + the store's id (4 digits) + the central's per-store box serial
(9 digits) + a GS1 mod-10 check digit, e.g. CL00010000000017: unique, since the serial is, and a mistyped digit
shows (`local_tracking_ok`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from biip.checksums import gs1_standard_check_digit

CARRIER_ENV = "COUNTERLINE_CARRIER"
ENTRY_POINT_GROUP = "counterline.carriers"
DEFAULT_CARRIER = "local"
MAX_TRACKING = 20  # what an order.status event carries per number (protocol.OrderStatusChange.tracking)


class CarrierError(Exception):
    """A carrier will not take this box; the message says why, in words fit for the packer."""


@dataclass(frozen=True)
class ShipmentOrder:
    """The order a box belongs to, as a carrier needs it: who sends it, to whom."""

    number: str
    store_id: int
    store_code: str
    ship_from: tuple[str, ...]  # the printed lines: name first
    ship_to: tuple[str, ...]  # the printed lines: name first
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ShipmentBox:
    """One box: its SSCC, weight in kg, package type, what is in it (sku, qty), and `serial`, the central's number
    for it, unique per store and counting from 1 (a carrier that issues its own numbers may build on it)."""

    sscc: str
    weight_kg: Decimal
    package_type: str
    lines: tuple[tuple[str, Decimal], ...]
    serial: int


@dataclass(frozen=True)
class CarrierShipment:
    """What the carrier answers for a box: its tracking number, the service it travels by, and any further text
    the carrier wants printed on the label (a routing code, a sort zone)."""

    carrier: str
    tracking: str
    service: str
    label_lines: tuple[str, ...] = field(default_factory=tuple)


@runtime_checkable
class Carrier(Protocol):
    name: str

    def create_shipment(self, order: ShipmentOrder, box: ShipmentBox) -> CarrierShipment: ...


CarrierFactory = Callable[[], Carrier]


def local_tracking(store_id: int, serial: int) -> str:
    """The local carrier's tracking number for a store's box serial: CL + 4 + 9 digits + check digit."""
    if not 0 < store_id < 10_000 or not 0 < serial < 10**9:
        raise CarrierError(
            f"the local carrier numbers stores 1-9999 and boxes 1-999999999 (got {store_id}, {serial})"
        )
    digits = f"{store_id:04d}{serial:09d}"
    return f"CL{digits}{gs1_standard_check_digit(digits)}"


def local_tracking_ok(tracking: str) -> bool:
    """True for a well-formed local tracking number with a right check digit."""
    digits = tracking[2:]
    return (
        tracking.startswith("CL")
        and len(digits) == 14
        and digits.isascii()
        and digits.isdigit()
        and gs1_standard_check_digit(digits[:-1]) == int(digits[-1])
    )


class LocalCarrier:
    """The store's own delivery (or a drop-off it hands over): numbers and labels without any network."""

    name = "Counterline Local"
    service = "Standard"

    def create_shipment(self, order: ShipmentOrder, box: ShipmentBox) -> CarrierShipment:
        if box.weight_kg > Decimal(30):
            raise CarrierError(
                f"the local carrier takes boxes up to 30 kg, this one weighs {box.weight_kg} kg"
            )
        return CarrierShipment(self.name, local_tracking(order.store_id, box.serial), self.service)


_REGISTRY: dict[str, CarrierFactory] = {DEFAULT_CARRIER: LocalCarrier}


def register(name: str, factory: CarrierFactory) -> None:
    """Make a carrier known by name (a test's fake, or a plug-in registering itself on import)."""
    _REGISTRY[name] = factory


def get(name: str) -> Carrier:
    """The carrier called `name`: registered, else an entry point of `counterline.carriers`, else a dotted path
    "package.module:Factory". Raises CarrierError when none is found or what is found is no carrier."""
    factory = _REGISTRY.get(name)
    if factory is None:
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if found:
            factory = found[0].load()
        elif ":" in name:
            module_name, _, attr = name.partition(":")
            try:
                factory = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:
                raise CarrierError(f"no carrier {name!r}: {exc}") from exc
        else:
            known = ", ".join(sorted(_REGISTRY))
            raise CarrierError(f"no carrier {name!r} (known: {known}; or a {ENTRY_POINT_GROUP} entry point)")
    carrier = factory()
    if not isinstance(carrier, Carrier):
        raise CarrierError(f"{name!r} is not a carrier: it has no name and create_shipment")
    return carrier


def from_settings() -> Carrier:
    """The carrier `COUNTERLINE_CARRIER` names ("local" when unset)."""
    return get(os.environ.get(CARRIER_ENV, "").strip() or DEFAULT_CARRIER)
