"""A web order's return label: the status page of a collected (or shipped) order shows it (a QR of
`app.domain.prefixes.return_label`), the scanner reads it as a return label, and the Returns desk finds the order
by it; a label for an order not handed over, or a counter sale's number, finds nothing (with the central store in
process)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain import barcodes, prefixes
from app.services import returns
from app.services.base import UserError
from sync.central import status_page
from sync.central.models import WebOrder
from tests.sync.fleet import Hub, Till


def test_the_label_format() -> None:
    assert prefixes.return_label("W-S001-000123") == "RL-S001-000123"
    read = barcodes.parse("RL-S001-000123")
    assert isinstance(read, barcodes.InternalCode) and read.internal_kind == "return_label"
    assert read.value == "S001-000123"


def test_the_status_page_shows_the_label_the_desk_scans(tmp_path: Path) -> None:
    hub = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    try:
        till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
        till.sync()
        till.receive("C3", 5)
        till.sync()
        order = hub.place_order("S1", "C3", "2")
        till.sync()
        label = prefixes.return_label(order["number"])
        with hub.sessions() as s:
            row = s.scalars(select(WebOrder).where(WebOrder.id == uuid.UUID(order["id"]))).one()
            assert label not in status_page.render(s, row)  # nothing handed over: nothing to return
        with till.factory() as s, pytest.raises(UserError, match="collected or shipped"):
            returns.find_original(s, label)
        till.hand_over(order["id"])
        till.sync()
        with hub.sessions() as s:
            row = s.scalars(select(WebOrder).where(WebOrder.id == uuid.UUID(order["id"]))).one()
            page = status_page.render(s, row)
        assert "Return label" in page and label in page and status_page.qr_svg(label) in page
        with till.factory() as s:
            found = returns.find_original(s, label.lower())  # as typed, too
            assert found.order_id == order["id"] and found.channel == "web"
            with pytest.raises(UserError, match="No sale or web order"):
                returns.find_original(s, "RL-S001-01-000001")
    finally:
        hub.close()
