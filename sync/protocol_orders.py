"""The storefront's and the tills' order messages (version 1): a web order placed, a line handed back, a customer's
arrival, and the boxes of a shipment with the carrier's answer. `sync.protocol` re-exports every name; what a till
pushes about an order (`order.status`, `order.handback`) is an event payload there."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from sync.protocol_types import MAX_ORDER_LINES, Name, Note, Number, Qty, Short, Sku, _clean


class OrderLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    qty: Qty = Field(gt=0)


class GeoPoint(BaseModel):
    """Where a web order ships to (WGS84 degrees), so routing can choose the nearest location that has it."""

    model_config = ConfigDict(extra="forbid")

    latitude: Decimal = Field(ge=-90, le=90)
    longitude: Decimal = Field(ge=-180, le=180)


class OrderCustomer(BaseModel):
    """Who a web order is for, as the tills show it."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: Name | None = None
    phone: Short | None = None
    address: Note | None = None
    note: Note | None = None


class OrderRequest(BaseModel):
    """What the storefront sends to create a web order for one store."""

    model_config = ConfigDict(extra="forbid")

    store: Annotated[StrictStr, Field(min_length=1, max_length=16), AfterValidator(_clean)]
    number: Number | None = None
    fulfilment: Literal["pickup", "curbside", "ship"] = "pickup"
    lines: list[OrderLineRequest] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    customer: OrderCustomer = Field(default_factory=OrderCustomer)
    ship_to: GeoPoint | None = None  # a shipped order's destination, for routing to the nearest location
    # Paid online (true) or to be paid at the store when collected (false, pickup and curbside only); left out,
    # the order is paid, as every order was before the field existed. The tills get it as the order's `paid`.
    paid: StrictBool | None = None


class HandBackRequest(BaseModel):
    """A store cannot fulfil a web order line: how much is missing, and why (short pick or damaged)."""

    model_config = ConfigDict(extra="forbid")

    missing: Qty = Field(gt=0)
    reason: Literal["short", "damaged"] = "short"


def _one_line(value: str) -> str:
    """Printable text on one line, as a till shows it in one cell: no control character, tab or line break."""
    value = _clean(value)
    if not value.isprintable():
        raise ValueError("contains a control character or a line break")
    return value.strip()


class ArrivalRequest(BaseModel):
    """A pickup or curbside customer says they have arrived (through the storefront): where they wait."""

    model_config = ConfigDict(extra="forbid")

    bay: Annotated[StrictStr, Field(max_length=20), AfterValidator(_one_line)] | None = None
    car: Annotated[StrictStr, Field(max_length=60), AfterValidator(_one_line)] | None = None
    note: Annotated[StrictStr, Field(max_length=200), AfterValidator(_one_line)] | None = None


# ---------------------------------------------------------------- shipments (POST /v1/orders/{id}/shipments)

MAX_BOXES = 50  # boxes of one shipments request
MAX_BOX_KG = Decimal(1000)


def _sscc(value: str) -> str:
    """18 ASCII digits whose last is the GS1 mod-10 check digit of the others (as app.domain.barcodes checks)."""
    if len(value) != 18 or not (value.isascii() and value.isdigit()):
        raise ValueError("an SSCC is 18 digits")
    body = [int(d) for d in reversed(value[:-1])]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    if (10 - total % 10) % 10 != int(value[-1]):
        raise ValueError("the SSCC's check digit is wrong")
    return value


class ShipmentLine(BaseModel):
    """How much of an order's sku is in one box."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    qty: Qty = Field(gt=0)


class ShipmentBoxRequest(BaseModel):
    """One sealed box of a ship order: its SSCC, weight in kg, package type and contents."""

    model_config = ConfigDict(extra="forbid")

    sscc: Annotated[StrictStr, AfterValidator(_sscc)]
    weight: Qty = Field(gt=0, le=MAX_BOX_KG)
    package_type: Annotated[StrictStr, Field(pattern=r"^[a-z0-9_-]{1,20}$")] = "box"
    lines: list[ShipmentLine] = Field(min_length=1, max_length=MAX_ORDER_LINES)

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> ShipmentBoxRequest:
        skus = [line.sku for line in self.lines]
        if len(set(skus)) != len(skus):
            raise ValueError("a box lists each sku once")
        return self


class ShipmentRequest(BaseModel):
    """The boxes a terminal hands to the carrier for one order (each SSCC once)."""

    model_config = ConfigDict(extra="forbid")

    boxes: list[ShipmentBoxRequest] = Field(min_length=1, max_length=MAX_BOXES)

    @model_validator(mode="after")
    def _distinct_boxes(self) -> ShipmentRequest:
        ssccs = [box.sscc for box in self.boxes]
        if len(set(ssccs)) != len(ssccs):
            raise ValueError("each box (SSCC) is sent once")
        return self


class ShipmentInfo(BaseModel):
    """A box as the carrier took it: what its shipping label needs. `created` is False when the box (its SSCC)
    had been sent before: the first answer again, with the same tracking number."""

    sscc: str
    tracking: str
    carrier: str
    service: str
    weight: Decimal
    package_type: str
    ship_from: list[str]
    ship_to: list[str]
    label_lines: list[str] = Field(default_factory=list)
    created: bool = True


class ShipmentResponse(BaseModel):
    order_id: UUID
    order_number: str
    shipments: list[ShipmentInfo]
