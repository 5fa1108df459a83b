"""PDF rendering: pages rasterised with poppler's pdftoppm at 203 dpi and the barcodes decoded back."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image as PILImage
from pyzbar import pyzbar

from app.documents.labels import build_packing_slip, build_shelf_label, build_shipping_label
from app.documents.model import Barcode, Document, Text
from app.documents.receipt import build_receipt
from devices.printers import render


@pytest.fixture(autouse=True)
def _pdftoppm() -> None:
    # `make test` installs poppler-utils; a machine without it must fail loudly, not pass by skipping.
    assert shutil.which("pdftoppm"), "pdftoppm is missing: apt-get install poppler-utils (make system)"


def rasterise(pdf: bytes, tmp_path: Path, dpi: int = 203) -> list[PILImage.Image]:
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(tmp_path / "page")], check=True)
    return [PILImage.open(page).convert("L") for page in sorted(tmp_path.glob("page*.png"))]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(source), "-"], check=True, capture_output=True, text=True).stdout


def zxing(page: PILImage.Image) -> set[tuple[str, str]]:
    return {(found.format.name, found.text) for found in zxingcpp.read_barcodes(page)}


def zbar(page: PILImage.Image) -> set[tuple[str, str]]:
    return {(found.type, found.data.decode()) for found in pyzbar.decode(page)}


def narrowest_bar(page: PILImage.Image, row: int) -> int:
    line = page.crop((0, row, page.width, row + 1)).point(lambda v: 0 if v < 128 else 255).tobytes()
    return min(len(m.group()) for m in re.finditer(rb"\x00+", line))


def test_receipt_pdf_80mm(samples, tmp_path) -> None:
    data = samples.receipt(currency="EUR", locale="fr_FR")
    data.lines[0] = data.lines[0].__class__(
        "Café crème", data.lines[0].qty, "pcs", data.lines[0].unit_price, data.lines[0].amount
    )
    pdf = render(build_receipt(data), "pdf")
    (page,) = rasterise(pdf, tmp_path)
    assert abs(page.width - 80 / 25.4 * 203) <= 1  # the roll is 80 mm wide; the page as long as the receipt
    expected = {("Code128", "R-S01-T02-000123"), ("QRCode", "R-S01-T02-000123")}
    assert zxing(page) == expected
    assert zbar(page) == {("CODE128", "R-S01-T02-000123"), ("QRCODE", "R-S01-T02-000123")}
    text = pdf_text(pdf, tmp_path)
    assert "Café crème" in text and "14,82 €" in text.replace("\xa0", " ")  # € and accents survive


def test_receipt_pdf_58mm(samples, tmp_path) -> None:
    (page,) = rasterise(render(build_receipt(samples.receipt(), width_chars=32), "pdf"), tmp_path)
    assert abs(page.width - 58 / 25.4 * 203) <= 1
    assert ("Code128", "R-S01-T02-000123") in zxing(page)


def test_shipping_label_pdf_4x6(samples, tmp_path) -> None:
    pdf = render(build_shipping_label(samples.shipping()), "pdf")
    (page,) = rasterise(pdf, tmp_path)
    assert page.size == (812, 1218)
    found = {(f.text, f.symbology_identifier) for f in zxingcpp.read_barcodes(page)}
    assert found == {(f"(00){samples.sscc}", "]C1"), ("1Z999AA10123456784", "]C0")}
    assert ("CODE128", f"00{samples.sscc}") in zbar(page)  # pyzbar drops FNC1 but reads the digits
    assert f"(00){samples.sscc}" in pdf_text(pdf, tmp_path)
    # Narrowest bar of the SSCC symbol, measured across its middle: at least 2 dots at 203 dpi.
    (sscc,) = [f for f in zxingcpp.read_barcodes(page) if f.symbology_identifier == "]C1"]
    assert narrowest_bar(page, (sscc.position.top_left.y + sscc.position.bottom_left.y) // 2) >= 2


def test_shelf_label_pdf(samples, tmp_path) -> None:
    (page,) = rasterise(render(build_shelf_label(samples.shelf()), "pdf"), tmp_path)  # one label, not two
    assert page.size == (457, 254)
    assert zxing(page) == {("EAN13", samples.ean13)}
    assert zbar(page) == {("EAN13", samples.ean13)}


def test_long_packing_slip_pdf_continues_on_more_pages(samples, tmp_path) -> None:
    pages = rasterise(render(build_packing_slip(samples.packing(line_count=60)), "pdf"), tmp_path)
    assert len(pages) >= 2 and all(p.size == (812, 1218) for p in pages)
    assert ("Code128", "W-1001") in zxing(pages[-1])


def test_datamatrix_pdf(tmp_path) -> None:
    document = Document("shipping_label", 40, [Text("Bin"), Barcode("BIN-A-07", "datamatrix")])
    (page,) = rasterise(render(document, "pdf"), tmp_path)
    assert zxing(page) == {("DataMatrix", "BIN-A-07")}
