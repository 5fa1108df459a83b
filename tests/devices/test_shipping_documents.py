"""Pack bench documents: the packing slip and the 4x6 in shipping labels of a two-box order, rendered to PDF,
rasterised at 203 dpi and every barcode decoded twice (pyzbar and zxing-cpp must agree, every SSCC check digit
right); the same documents as ZPL, checked by their fields and barcode commands (^BC with start C and FNC1)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import zxingcpp
from biip.sscc import Sscc
from PIL import Image as PILImage
from pyzbar import pyzbar

from app.documents.labels import (
    Address,
    PackingLine,
    PackingSlipData,
    ShippingLabelData,
    address_from_lines,
    address_from_text,
    build_packing_slip,
    build_shipping_label,
    make_sscc,
    weight_text,
)
from app.domain.barcodes import gtin_check_digit
from devices.printers import render
from tests.devices.test_pdf import pdf_text, rasterise
from tests.devices.test_zpl import fields, labels

PREFIX = "0614141"
TRACKING = ("CL0001000000017", "CL0001000000025")
SHIP_TO = address_from_text("Jane Roe", "12 Rue Exemple\n69001 Lyon", "France")
SHIP_FROM = Address("Corner Shop Warehouse", ("1 Dock Road", "Springfield"))


@pytest.fixture(autouse=True)
def _pdftoppm() -> None:
    assert shutil.which("pdftoppm"), "pdftoppm is missing: apt-get install poppler-utils (make system)"


def slip() -> PackingSlipData:
    return PackingSlipData(
        order_number="W-S01-000042",
        order_date=date(2026, 12, 2),
        ship_to=SHIP_TO,
        lines=[
            PackingLine("OAT-500", "Organic Rolled Oats 500 g", Decimal(3)),
            PackingLine("TEA-GRN", "Green tea, 20 bags", Decimal(1)),
            PackingLine("HONEY-1", "Forest honey 1 kg", Decimal("2")),
        ],
        store_name="Corner Shop",
        parcel_text="2 parcels",
        packer="P7",
    )


def label(box: int) -> ShippingLabelData:
    return ShippingLabelData(
        ship_to=SHIP_TO,
        ship_from=SHIP_FROM,
        order_number="W-S01-000042",
        sscc=make_sscc(PREFIX, 42_000 + box),
        tracking_number=TRACKING[box - 1],
        carrier="Counterline Local",
        service="Standard",
        weight_text=weight_text(Decimal("1.250") * box),
        extra_lines=[f"Parcel {box} of 2"],
    )


def decoded(page: PILImage.Image) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(zxing-cpp, pyzbar) readings as (symbology, data). pyzbar drops GS1-128's FNC1 and returns the bare
    digits; zxing-cpp says ]C1 and gives the element string: both are brought to the digits to compare."""
    by_zxing = set()
    for found in zxingcpp.read_barcodes(page):
        if found.symbology_identifier == "]C1":
            by_zxing.add(("GS1-128", re.sub(r"[()]", "", found.text)))
        else:
            by_zxing.add((found.format.name.upper(), found.text))
    by_zbar = set()
    for found in pyzbar.decode(page):
        data = found.data.decode()
        is_sscc = found.type == "CODE128" and len(data) == 20 and data.startswith("00") and data.isdigit()
        by_zbar.add(("GS1-128" if is_sscc else found.type, data))
    return by_zxing, by_zbar


def assert_sscc_right(data: str) -> None:
    assert data.startswith("00") and len(data) == 20
    sscc = data[2:]
    assert int(sscc[-1]) == gtin_check_digit(sscc[:-1])
    assert Sscc.parse(sscc).value == sscc  # biip agrees


# -- SSCC -------------------------------------------------------------------------------------------------------


def test_make_sscc_matches_the_gs1_example_and_biip() -> None:
    assert make_sscc(PREFIX, 123456789, "1") == "106141411234567897"  # GS1 General Specifications' example
    for serial in (0, 1, 9, 10, 99_999, 123_456_789, 999_999_999):
        sscc = make_sscc(PREFIX, serial)
        assert len(sscc) == 18 and Sscc.parse(sscc).value == sscc
    long_prefix = make_sscc("061414100001", 9999)  # a 12-digit prefix leaves 4 digits of serial
    assert long_prefix.startswith("0061414100001" + "9999") and Sscc.parse(long_prefix).value == long_prefix
    assert len({make_sscc(PREFIX, n) for n in range(500)}) == 500


@pytest.mark.parametrize(
    ("prefix", "serial", "extension"),
    [
        ("06141", 1, "0"),  # prefix too short
        ("0614141234567", 1, "0"),  # prefix too long
        ("06141a1", 1, "0"),
        ("０６１４１４１", 1, "0"),  # full-width digits are digits to Python, not to a scanner
        (PREFIX, -1, "0"),
        (PREFIX, 10**9, "0"),  # does not fit the 9 digits left
        (PREFIX, True, "0"),
        (PREFIX, 1, "10"),
        (PREFIX, 1, "x"),
    ],
)
def test_make_sscc_refuses_what_makes_no_sscc(prefix: str, serial: int, extension: str) -> None:
    with pytest.raises(ValueError):
        make_sscc(prefix, serial, extension)


def test_weight_and_address_text() -> None:
    assert weight_text(Decimal("1.250")) == "1.25 kg"
    assert weight_text(Decimal("1234.5"), "de_DE") == "1.234,5 kg"
    for bad in (Decimal(0), Decimal(-1), Decimal("NaN")):
        with pytest.raises(ValueError):
            weight_text(bad)
    assert address_from_text(" Jo ", "1 Rd, Town\n\n12345").printed_lines() == ["Jo", "1 Rd", "Town", "12345"]
    assert address_from_lines(["Ann Lee", "1 Elm St", " ", "Springfield"]) == Address(
        "Ann Lee", ("1 Elm St", "Springfield")
    )
    with pytest.raises(ValueError):
        address_from_lines([])


# -- PDF, decoded twice -----------------------------------------------------------------------------------------


def test_packing_slip_pdf_barcode_and_text(tmp_path: Path) -> None:
    pdf = render(build_packing_slip(slip()), "pdf")
    (page,) = rasterise(pdf, tmp_path)
    page.save("/tmp/pack-slip.png")
    by_zxing, by_zbar = decoded(page)
    assert by_zxing == by_zbar == {("CODE128", "W-S01-000042")}
    text = pdf_text(pdf, tmp_path)
    for expected in ("Jane Roe", "12 Rue Exemple", "69001 Lyon", "France", "OAT-500", "Green tea, 20 bags"):
        assert expected in text
    laid_out = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "text.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout  # each line with its quantity on the same printed line
    assert re.search(r"OAT-500 Organic Rolled Oats 500 g +3 pcs", laid_out)
    assert re.search(r"HONEY-1 Forest honey 1 kg +2 pcs", laid_out)
    assert re.search(r"Items +6\n", laid_out)


def test_two_shipping_labels_pdf_decode_alike_with_right_ssccs(tmp_path: Path) -> None:
    seen_ssccs = set()
    for box in (1, 2):
        data = label(box)
        pdf = render(build_shipping_label(data), "pdf")
        folder = tmp_path / f"box{box}"
        folder.mkdir()
        (page,) = rasterise(pdf, folder)
        assert page.size == (812, 1218)  # one 4x6 in label at 203 dpi, nothing spilled onto a second
        if box == 1:
            page.save("/tmp/pack-label.png")
        by_zxing, by_zbar = decoded(page)
        assert by_zxing == by_zbar == {("GS1-128", f"00{data.sscc}"), ("CODE128", data.tracking_number)}
        for symbology, value in by_zxing:
            if symbology == "GS1-128":
                assert_sscc_right(value)
                seen_ssccs.add(value)
        text = pdf_text(pdf, folder)
        for expected in ("FROM:", "Corner Shop Warehouse", "TO:", "Jane Roe", "69001 Lyon", "Standard"):
            assert expected in text
        assert data.weight_text and data.weight_text in text
        assert f"(00){data.sscc}" in text and f"Parcel {box} of 2" in text
        # Nothing cut off: the last thing printed (the tracking symbol) ends above the bottom margin.
        tracking = [f for f in zxingcpp.read_barcodes(page) if f.text == data.tracking_number]
        assert tracking and tracking[0].position.bottom_left.y < 1218 - 40
    assert len(seen_ssccs) == 2


def test_a_label_with_a_wrong_sscc_is_never_built() -> None:
    data = label(1)
    data.sscc = data.sscc[:-1] + str((int(data.sscc[-1]) + 1) % 10)
    with pytest.raises(ValueError, match="SSCC"):
        build_shipping_label(data)


# -- ZPL ----------------------------------------------------------------------------------------------------------


def test_shipping_label_zpl_fields_and_barcode_commands() -> None:
    data = label(2)
    (zpl,) = labels(render(build_shipping_label(data), "zpl"))
    assert zpl.startswith("^XA^CI28^PW812^LL1218")  # UTF-8, 4x6 in at 203 dpi
    parsed = fields(zpl)
    by_data = {d: (x, y, c) for x, y, c, d in parsed}
    for text in ("FROM:", "Corner Shop Warehouse", "TO:", "Jane Roe", "France", "Standard", "2.5 kg"):
        assert text in by_data, text
    assert by_data["Jane Roe"][2].startswith("^A0N,56,")  # ship-to in the large font
    # SSCC: Code 128 (^BC), start in subset C (>;), FNC1 (>8), then AI 00 and the 18 digits; no printer HRI.
    sscc_field = by_data[f">;>800{data.sscc}"]
    assert re.fullmatch(r"\^BY[234],3,\d+\^BCN,\d+,N,N,N,N\^FH\\", sscc_field[2])
    assert_sscc_right(f"00{data.sscc}")
    assert by_data[f"(00){data.sscc}"][1] > sscc_field[1]  # our own "(00)..." under the bars
    # Tracking: plain Code 128 with the printer's interpretation line, below the SSCC.
    tracking_field = by_data[data.tracking_number]
    assert "^BCN," in tracking_field[2] and ",Y,N,N,N" in tracking_field[2]
    assert tracking_field[1] > sscc_field[1]
    ys = [y for _, y, _, _ in parsed]
    assert ys == sorted(ys) and max(ys) < 1218 - 120  # everything flows down and stays on the label


def test_packing_slip_zpl_lines_and_order_barcode() -> None:
    (zpl,) = labels(render(build_packing_slip(slip()), "zpl"))
    parsed = fields(zpl)
    data = [d for *_, d in parsed]
    assert "OAT-500 Organic Rolled Oats 500 g" in data and "3 pcs" in data and "Jane Roe" in data
    (barcode,) = [c for _, _, c, d in parsed if d == "W-S01-000042" and "^BC" in c]
    assert "^BCN," in barcode
