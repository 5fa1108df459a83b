"""Document model, builders and JSON round trip (pure Python: no device libraries involved)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from app.documents.labels import build_packing_slip, build_shelf_label, build_shipping_label
from app.documents.model import (
    Barcode,
    Columns,
    Cut,
    Document,
    Feed,
    Image,
    Qr,
    Rule,
    Text,
    format_money,
    layout_columns,
    wrap,
)
from app.documents.receipt import build_receipt
from app.documents.reports import build_shift_report

REPO = Path(__file__).resolve().parents[2]


def all_documents(samples) -> list[Document]:
    return [
        build_receipt(samples.receipt()),
        build_receipt(samples.receipt(copy=True), width_chars=32),
        build_shift_report(samples.shift(counted=None), kind="X"),
        build_shift_report(samples.shift(), width_chars=32, kind="Z"),
        build_shelf_label(samples.shelf()),
        build_packing_slip(samples.packing()),
        build_shipping_label(samples.shipping()),
        Document(
            "demo",
            40,
            [
                Text("big", align="right", bold=True, size=2, underline=True),
                Columns("a", "b", bold=True),
                Rule("="),
                Barcode("(01)09506000134352", "gs1_128", hri=False),
                Barcode("DM-1", "datamatrix"),
                Qr("https://example.invalid/r/1"),
                Image("logo"),
                Feed(3),
                Cut(),
            ],
        ),
    ]


def test_every_document_kind_round_trips_through_json_text(samples) -> None:
    for document in all_documents(samples):
        stored = json.dumps(document.to_json())  # what the print queue keeps in the database
        restored = Document.from_json(json.loads(stored))
        assert restored == document
        assert restored.to_json() == document.to_json()


def test_from_json_refuses_what_it_does_not_know() -> None:
    good = Document("receipt", 48, [Text("x")]).to_json()
    with pytest.raises(ValueError, match="version"):
        Document.from_json({**good, "version": 99})
    with pytest.raises(ValueError, match="unknown block type"):
        Document.from_json({**good, "blocks": [{"type": "hologram"}]})
    with pytest.raises(ValueError, match="unknown fields"):
        Document.from_json({**good, "blocks": [{"type": "text", "text": "x", "colour": "red"}]})


def test_blocks_validate_their_fields() -> None:
    with pytest.raises(ValueError):
        Text("x", align="justify")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Text("x", size=3)
    with pytest.raises(ValueError):
        Barcode("12345678901A", "ean13")
    with pytest.raises(ValueError):
        Barcode("x", "pdf417")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Rule("--")
    with pytest.raises(ValueError):
        Feed(-1)


def test_format_money_follows_locale_and_refuses_float() -> None:
    assert format_money(Decimal("1234.5"), "USD", "en_US") == "$1,234.50"
    assert format_money(Decimal("1234.5"), "EUR", "de_DE") == "1.234,50\xa0€"
    assert format_money(Decimal("-0.18"), "EUR", "fr_FR") == "-0,18\xa0€"
    with pytest.raises(TypeError):
        format_money(1.5, "USD", "en_US")  # type: ignore[arg-type]


def test_layout_columns_keeps_amounts_right_aligned() -> None:
    assert layout_columns("Milk", "$1.10", 20) == ["Milk           $1.10"]
    long = layout_columns("A very long product name that wraps", "$12.50", 20)
    assert all(len(line) <= 20 for line in long)
    assert long[-1].endswith("$12.50")
    assert "".join(long).replace(" ", "").startswith("Averylongproductname")
    assert layout_columns("x" * 20, "$1.00", 20)[-1] == "               $1.00"
    assert wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def _texts(document: Document) -> list[str]:
    out: list[str] = []
    for block in document.blocks:
        if isinstance(block, Text):
            out.append(block.text)
        elif isinstance(block, Columns):
            out.extend([block.left, block.right])
    return out


def test_receipt_has_every_section(samples) -> None:
    document = build_receipt(samples.receipt())
    texts = _texts(document)
    assert document.kind == "receipt" and document.width_chars == 48
    assert "Coffee beans 1kg" in texts and "$12.50" in texts
    assert "  1.234 kg x $2.99" in texts and "  10% off apples" in texts
    assert "VOID Milk" in texts
    assert "Discount" in texts and "-$1.00" in texts
    assert any(t.startswith("A") and "7%" in t and "$0.97" in t for t in texts)
    assert "TOTAL" in texts and "$14.82" in texts
    assert "  **** 4242  Auth A1B2C3" in texts
    assert "Change" in texts and "$0.18" in texts
    assert "Cashier: Sam" in texts and "Terminal: T02" in texts
    assert "3/1/26, 12:05\u202fPM" in texts  # shown in the store's zone (New York), not UTC
    assert "COPY" not in texts
    assert Barcode("R-S01-T02-000123", "code128") in document.blocks
    assert Qr("R-S01-T02-000123") in document.blocks
    assert isinstance(document.blocks[-1], Cut)


def test_reprint_is_marked_copy_and_58mm_fits(samples) -> None:
    document = build_receipt(samples.receipt(copy=True), width_chars=32)
    assert _texts(document).count("COPY") == 2
    table = [b.text for b in document.blocks if isinstance(b, Text) and b.text.startswith(("Tax", "A "))]
    assert table and all(len(line) <= 32 for line in table)


def test_receipt_refuses_naive_timestamp(samples) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_receipt(samples.receipt(timestamp=datetime(2026, 3, 1, 12, 0)))


def test_shift_reports(samples) -> None:
    x_report = build_shift_report(samples.shift(counted=None), kind="X")
    assert "X REPORT" in _texts(x_report) and "Counted cash" not in _texts(x_report)
    z_report = build_shift_report(samples.shift(), kind="Z")
    texts = _texts(z_report)
    assert "Z REPORT" in texts
    assert "Expected cash" in texts and "$265.00" in texts
    assert "Short" in texts and "-$19.50" in texts  # 245.50 counted - 265.00 expected
    assert "Total taken" in texts and "$972.40" in texts
    # Each tender says what its numbers count: sales paid with it, and payments where they differ.
    assert "Cash: 12 sales, 13 payments" in texts and "Card: 30 sales" in texts
    assert "Paid out: Window cleaner" in texts and "-$15.00" in texts
    with pytest.raises(ValueError):
        build_shift_report(samples.shift(counted=None), kind="Z")


def test_labels(samples) -> None:
    shelf = build_shelf_label(samples.shelf())
    assert Barcode(samples.ean13, "ean13") in shelf.blocks
    assert "$3.49" in _texts(shelf)
    slip = build_packing_slip(samples.packing())
    assert "SKU-001 Item number 1" in _texts(slip) and Barcode("W-1001", "code128") in slip.blocks
    shipping = build_shipping_label(samples.shipping())
    assert Barcode(f"(00){samples.sscc}", "gs1_128") in shipping.blocks
    assert Barcode("1Z999AA10123456784", "code128") in shipping.blocks
    bad = samples.shipping()
    bad.sscc = samples.sscc[:-1] + "9"
    with pytest.raises(ValueError, match="SSCC"):
        build_shipping_label(bad)


def test_documents_package_imports_no_device_library() -> None:
    code = (
        "import sys, app.documents.model, app.documents.receipt, app.documents.reports, app.documents.labels\n"
        "bad = [m for m in ('escpos', 'reportlab', 'zxingcpp', 'PySide6', 'cv2', 'serial', 'usb', 'devices')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
