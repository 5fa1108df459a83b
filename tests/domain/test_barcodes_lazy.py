"""The barcode rules read a plain EAN/UPC, an SSCC and the store's own codes without importing biip (a tenth of a
second of the till's start); GS1 data still goes through it, and the local check digit is biip's."""

from __future__ import annotations

import random
import subprocess
import sys

from biip.checksums import gs1_standard_check_digit

from app.domain import barcodes

_PROBE = """
import sys
from app.domain import barcodes
seen = []
for code in ("4006381333931", "012345678905", "00012345678905", "376104250021234569", "R-ABC-12", "2812345012349"):
    barcodes.parse(code)
    seen.append("biip" in sys.modules)
barcodes.parse("]C10109501101020917171905081")
seen.append("biip" in sys.modules)
print(seen)
"""


def test_plain_scans_do_not_import_biip_and_gs1_data_does() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == str([False] * 6 + [True])


def test_load_gs1_imports_biip_ahead() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from app.domain import barcodes; barcodes.load_gs1(); print('biip' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == "True"


def test_check_digit_is_biips() -> None:
    rng = random.Random(26)
    for length in range(1, 20):
        for _ in range(200):
            body = "".join(rng.choice("0123456789") for _ in range(length))
            assert barcodes.gtin_check_digit(body) == gs1_standard_check_digit(body), body


def test_price_check_digit_still_checked() -> None:
    """The UPC-A price label's own check digit (biip's, imported on first use) is made and checked."""
    cfg = barcodes.BarcodeConfig(variable_measure=[barcodes.UPC_A_PRICE_LAYOUT])
    code = barcodes.make_variable_measure_code("02", "12345", barcodes.Decimal("2.99"), cfg)
    result = barcodes.parse(code, cfg)
    assert isinstance(result, barcodes.VariableMeasure)
    assert result.price == barcodes.Decimal("2.99")
    body = code[:7] + str((int(code[7]) + 1) % 10) + code[8:12]  # a wrong price check digit, a right EAN one
    bad = barcodes.parse(body + str(barcodes.gtin_check_digit(body)), cfg)
    assert isinstance(bad, barcodes.Unknown)
    assert "price of scale label" in bad.reason
