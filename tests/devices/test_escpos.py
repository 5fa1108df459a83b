"""ESC/POS rendering through python-escpos' Dummy printer: real bytes, barcodes decoded from the rasters."""

from __future__ import annotations

import re

import pytest
import zxingcpp
from PIL import Image as PILImage
from PIL import ImageOps

from app.documents.model import Barcode, Document, Image, Qr, Text
from app.documents.receipt import build_receipt
from devices.drawer import open_drawer
from devices.printers import render
from devices.printers.connectors import FakeConnector
from devices.printers.escpos_env import bundled_capabilities_file
from devices.printers.escpos_render import drawer_kick_bytes

GS_V0 = b"\x1dv0"


def raster_images(data: bytes) -> list[PILImage.Image]:
    """Every GS v 0 raster image in an ESC/POS stream, as black-on-white pictures with a quiet margin."""
    images = []
    start = 0
    while (index := data.find(GS_V0, start)) >= 0:
        width_bytes = data[index + 4] | data[index + 5] << 8
        height = data[index + 6] | data[index + 7] << 8
        body = data[index + 8 : index + 8 + width_bytes * height]
        bits = PILImage.frombytes("1", (width_bytes * 8, height), body)  # 1 = black dot on paper
        picture = ImageOps.invert(bits.convert("L"))
        images.append(ImageOps.expand(picture, border=40, fill=255))
        start = index + 8 + len(body)
    return images


def decode_all(images: list[PILImage.Image]) -> list[zxingcpp.Barcode]:
    return [found for picture in images for found in zxingcpp.read_barcodes(picture)]


def test_receipt_bytes(samples) -> None:
    out = render(build_receipt(samples.receipt()), "escpos")
    assert out.startswith(b"\x1b@")  # ESC @ initialise
    assert b"\x1bM\x01" in out  # 48 columns on a TM-T88V need Font B (Font A has 42)
    assert b"Coffee beans 1kg" in out
    total = re.search(rb"\x1bE\x01(TOTAL +\$14\.82)\n", out)
    assert total and len(total.group(1)) == 48  # bold, justified to exactly the width
    assert b"VOID Milk" in out and b"**** 4242" in out
    # Hardware Code 128: GS k 73 (function B), length, then "{B" + data.
    assert b"\x1dkI\x12{BR-S01-T02-000123" in out
    # Native QR: GS ( k store data (cn=49 '1', fn=80 'P', m='0') then print (fn=81 'Q').
    assert b"\x1d(k\x13\x001P0R-S01-T02-000123" in out
    assert b"\x1d(k\x03\x001Q0" in out
    assert out.endswith(b"\x1dV\x00")  # GS V full cut
    assert GS_V0 not in out  # no images on a plain receipt: everything in printer commands


def test_58mm_receipt_uses_font_a_on_a_58mm_profile(samples) -> None:
    out = render(build_receipt(samples.receipt(), width_chars=32), "escpos")
    assert b"\x1bM\x00" in out and b"\x1bM\x01" not in out
    assert re.search(rb"TOTAL {21}\$14\.82\n", out)


def test_accented_text_and_euro_are_encoded(samples) -> None:
    data = samples.receipt(currency="EUR", locale="fr_FR")
    data.lines[0] = data.lines[0].__class__(
        "Café crème", data.lines[0].qty, "pcs", data.lines[0].unit_price, data.lines[0].amount
    )
    out = render(build_receipt(data), "escpos")
    assert b"Caf\x82 cr\x8ame" in out  # code page 437 (the printer's default)
    assert b"\x1bt" in out  # a code page switch for the euro sign


def test_gs1_128_is_printed_as_software_image_that_decodes(samples) -> None:
    hri = f"(00){samples.sscc}"
    out = render(Document("shipping_label", 42, [Barcode(hri, "gs1_128")]), "escpos")
    assert b"\x1dk" not in out  # never the hardware command: it cannot carry FNC1
    found = decode_all(raster_images(out))
    assert [(f.text, f.symbology_identifier) for f in found] == [(hri, "]C1")]
    assert hri.encode() in out  # human-readable line under the bars


def test_datamatrix_and_software_fallbacks_decode() -> None:
    document = Document(
        "receipt", 32, [Barcode("BIN-A-07", "datamatrix"), Barcode("R-1-2-3", "code128"), Qr("R-1-2-3")]
    )
    # POS-5890 has no hardware barcodes or QR: everything must come out as images that still decode.
    out = render(document, "escpos", profile="POS-5890")
    assert b"\x1dk" not in out and b"\x1d(k" not in out
    found = {(f.format.name, f.text) for f in decode_all(raster_images(out))}
    assert found == {("DataMatrix", "BIN-A-07"), ("Code128", "R-1-2-3"), ("QRCode", "R-1-2-3")}


def test_software_barcode_modules_are_at_least_two_dots(samples) -> None:
    out = render(
        Document("shipping_label", 42, [Barcode(f"(00){samples.sscc}", "gs1_128", hri=False)]), "escpos"
    )
    (picture,) = raster_images(out)
    row = picture.crop((0, picture.height // 2, picture.width, picture.height // 2 + 1)).tobytes()
    runs = [len(m.group()) for m in re.finditer(rb"\x00+", row)]
    assert runs and min(runs) >= 2


def test_ean13_hardware(samples) -> None:
    out = render(Document("shelf_label", 32, [Barcode(samples.ean13, "ean13")]), "escpos")
    assert b"\x1dk\x02" + samples.ean13.encode() + b"\x00" in out  # function A, NUL-terminated


def test_logo_is_printed_and_a_missing_logo_is_skipped(tmp_path) -> None:
    logo = tmp_path / "logo.png"
    PILImage.new("L", (800, 100), 0).save(logo)  # wider than the paper: scaled down
    out = render(
        Document("receipt", 48, [Image("store-logo"), Text("after")]), "escpos", logos={"store-logo": logo}
    )
    index = out.find(GS_V0)
    assert index >= 0 and out[index + 4] | out[index + 5] << 8 == 512 // 8
    missing = render(Document("receipt", 48, [Image(str(tmp_path / "none.png")), Text("after")]), "escpos")
    assert GS_V0 not in missing and b"after" in missing


def test_document_wider_than_the_printer_is_refused() -> None:
    with pytest.raises(ValueError, match="columns"):
        render(Document("receipt", 60, [Text("x")]), "escpos", profile="TM-T88V")


def test_drawer_kick() -> None:
    assert drawer_kick_bytes(2) == b"\x1bp\x00\x32\x32"
    assert drawer_kick_bytes(5) == b"\x1bp\x01\x32\x32"
    with pytest.raises(ValueError):
        drawer_kick_bytes(3)
    fake = FakeConnector()
    open_drawer(fake, pin=5)
    assert fake.jobs == [b"\x1bp\x01\x32\x32"]


def test_bundled_capabilities_file_is_found_when_frozen(tmp_path, monkeypatch) -> None:
    assert bundled_capabilities_file() is None  # not frozen here
    (tmp_path / "escpos").mkdir()
    (tmp_path / "escpos" / "capabilities.json").write_text("{}")
    monkeypatch.setattr("sys.frozen", True, raising=False)
    monkeypatch.setattr("sys._MEIPASS", str(tmp_path), raising=False)
    assert bundled_capabilities_file() == tmp_path / "escpos" / "capabilities.json"
