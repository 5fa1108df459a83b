"""Fixtures for the document, renderer and connector tests: sample documents and a loopback printer.

`escpos_printer_server` is a real TCP server on 127.0.0.1 that acts like an ESC/POS network printer: it
keeps every byte it receives and answers DLE EOT status queries according to its mode.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

# Keep python-escpos from making a new temp folder per import when the suite runs alone.
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", tempfile.mkdtemp(prefix="escpos-caps-"))

from app.documents.labels import (  # noqa: E402
    Address,
    PackingLine,
    PackingSlipData,
    ShelfLabelData,
    ShippingLabelData,
)
from app.documents.receipt import ReceiptData, ReceiptLine, TaxSummaryRow, TenderLine  # noqa: E402
from app.documents.reports import CashMovement, ShiftReportData, TenderTotal  # noqa: E402

VALID_SSCC = "012345678901234560"
VALID_EAN13 = "4006381333931"

ONLINE = 0x12  # DLE EOT 1: fixed bits only, bit 3 clear
OFFLINE = 0x1A  # bit 3 set
PAPER_OK = 0x12
PAPER_LOW = 0x1E  # near-end bits 2-3
PAPER_OUT = 0x72  # end bits 5-6 (and near-end clear)


def make_receipt_data(**overrides: object) -> ReceiptData:
    values: dict[str, object] = dict(
        store_name="Corner Shop",
        address_lines=["1 Main Street", "Springfield"],
        receipt_number="S01-T02-000123",
        timestamp=datetime(2026, 3, 1, 17, 5, tzinfo=UTC),
        tz_name="America/New_York",
        cashier="Sam",
        terminal="T02",
        lines=[
            ReceiptLine("Coffee beans 1kg", Decimal("1"), "pcs", Decimal("12.50"), Decimal("12.50")),
            ReceiptLine(
                "Apples",
                Decimal("1.234"),
                "kg",
                Decimal("2.99"),
                Decimal("3.32"),
                discount_text="10% off apples",
            ),
            ReceiptLine("Milk", Decimal("1"), "pcs", Decimal("1.10"), Decimal("1.10"), voided=True),
        ],
        order_discount=Decimal("1.00"),
        subtotal=Decimal("14.82"),
        tax_rows=[TaxSummaryRow("A", Decimal("0.07"), Decimal("13.85"), Decimal("0.97"))],
        tax_total=Decimal("0.97"),
        total=Decimal("14.82"),
        tenders=[
            TenderLine("Card", Decimal("10.00"), card_last4="4242", approval_code="A1B2C3"),
            TenderLine("Cash", Decimal("5.00")),
        ],
        change=Decimal("0.18"),
        customer="Member 0042",
        footer=["Thank you!", "Returns within 30 days with receipt"],
        currency="USD",
        locale="en_US",
    )
    values.update(overrides)
    return ReceiptData(**values)  # type: ignore[arg-type]


def make_shift_data(counted: Decimal | None = Decimal("245.50")) -> ShiftReportData:
    return ShiftReportData(
        store_name="Corner Shop",
        terminal="T02",
        shift_number="S01-T02-0007",
        cashier="Sam",
        opened_at=datetime(2026, 3, 1, 13, 0, tzinfo=UTC),
        printed_at=datetime(2026, 3, 1, 21, 0, tzinfo=UTC),
        tz_name="America/New_York",
        opening_float=Decimal("100.00"),
        sales_by_tender=[
            TenderTotal("Cash", 12, Decimal("160.00"), payments=13),
            TenderTotal("Card", 30, Decimal("812.40")),
        ],
        sales_count=41,
        net_sales=Decimal("972.40"),
        tenders_total=Decimal("972.40"),
        paid_in=[CashMovement("Change top-up", Decimal("20.00"))],
        paid_out=[CashMovement("Window cleaner", Decimal("15.00"))],
        expected_cash=Decimal("265.00"),
        counted_cash=counted,
        currency="USD",
        locale="en_US",
    )


def make_shelf_data() -> ShelfLabelData:
    return ShelfLabelData(
        name="Organic Rolled Oats 500 g",
        price=Decimal("3.49"),
        gtin=VALID_EAN13,
        unit_price_text="$6.98/kg",
        sku="OAT-500",
        currency="USD",
        locale="en_US",
    )


def make_packing_data(line_count: int = 3) -> PackingSlipData:
    return PackingSlipData(
        order_number="W-1001",
        order_date=date(2026, 3, 1),
        ship_to=Address("Jane Roe", ("12 Rue Exemple", "69001 Lyon"), "France"),
        lines=[
            PackingLine(f"SKU-{i:03d}", f"Item number {i}", Decimal(i % 3 + 1)) for i in range(line_count)
        ],
        store_name="Corner Shop",
        parcel_text="Parcel 1 of 1",
        packer="P7",
    )


def make_shipping_data() -> ShippingLabelData:
    return ShippingLabelData(
        ship_to=Address("Jane Roe", ("12 Rue Exemple", "69001 Lyon"), "France"),
        ship_from=Address("Corner Shop Warehouse", ("1 Dock Road", "Springfield")),
        order_number="W-1001",
        sscc=VALID_SSCC,
        tracking_number="1Z999AA10123456784",
        carrier="Parcel Co",
        service="Standard",
        weight_text="1.2 kg",
    )


@dataclass
class PrinterServer:
    """A loopback ESC/POS printer. mode: "ready", "paper_low", "paper_out", "offline", "silent" (accepts and
    never answers), "stall_after_status" (answers the first two queries, then never again: a printer switched
    off mid-job), "close_after_status" (answers, then drops the connection)."""

    mode: str
    host: str = "127.0.0.1"
    port: int = 0
    received: bytearray = field(default_factory=bytearray)
    queries: list[bytes] = field(default_factory=list)
    connections: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _answer(self, query: bytes, answered: int) -> bytes | None:
        if self.mode == "silent":
            return None
        if self.mode == "stall_after_status" and answered >= 2:
            return None
        online = OFFLINE if self.mode == "offline" else ONLINE
        paper = {"paper_low": PAPER_LOW, "paper_out": PAPER_OUT}.get(self.mode, PAPER_OK)
        return bytes([online if query.endswith(b"\x01") else paper])

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        buffer = bytearray()
        scan = 0
        answered = 0
        with conn:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer.extend(chunk)
                with self._lock:
                    self.received.extend(chunk)
                while True:
                    index = buffer.find(b"\x10\x04", scan)
                    if index < 0 or index + 2 >= len(buffer):
                        scan = max(scan, len(buffer) - 2)
                        break
                    query = bytes(buffer[index : index + 3])
                    scan = index + 3
                    if query[2] not in (1, 4):
                        continue
                    self.queries.append(query)
                    reply = self._answer(query, answered)
                    if reply is None:
                        continue
                    answered += 1
                    conn.sendall(reply)
                    if self.mode == "close_after_status" and answered >= 2:
                        conn.shutdown(socket.SHUT_RDWR)
                        return

    def serve(self, listener: socket.socket) -> None:
        listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def job_bytes(self) -> bytes:
        """What arrived, without the status queries."""
        with self._lock:
            data = bytes(self.received)
        for query in (b"\x10\x04\x01", b"\x10\x04\x04"):
            data = data.replace(query, b"")
        return data


@pytest.fixture
def escpos_printer_server() -> Iterator[object]:
    """Factory: start_server(mode) -> PrinterServer listening on 127.0.0.1 (stopped after the test)."""
    started: list[tuple[PrinterServer, socket.socket, threading.Thread]] = []

    def start_server(mode: str = "ready") -> PrinterServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        server = PrinterServer(mode=mode, port=listener.getsockname()[1])
        thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
        thread.start()
        started.append((server, listener, thread))
        return server

    yield start_server
    for server, listener, thread in started:
        server._stop.set()
        thread.join(timeout=2)
        listener.close()


@pytest.fixture
def refused_port() -> int:
    """A 127.0.0.1 port with nothing listening (bound then closed), so connecting is refused."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def samples() -> SimpleNamespace:
    """Builders of realistic sample data for every document kind (fresh objects on every call)."""
    return SimpleNamespace(
        receipt=make_receipt_data,
        shift=make_shift_data,
        shelf=make_shelf_data,
        packing=make_packing_data,
        shipping=make_shipping_data,
        sscc=VALID_SSCC,
        ean13=VALID_EAN13,
    )
