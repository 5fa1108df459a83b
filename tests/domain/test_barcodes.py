"""Tests for app.domain.barcodes: the store's policy on top of biip, table by table.

Check digits in the tables come from an independent mod-10 written here (`_mod10`), or are well-known published
codes, so a wrong check-digit rule in the module cannot make its own expectations pass.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from datetime import date
from decimal import Decimal

import biip
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.domain.barcodes import (
    DEFAULT_CONFIG,
    DEFAULT_INTERNAL_PREFIXES,
    MAX_SCAN_LENGTH,
    UPC_A_PRICE_LAYOUT,
    BarcodeConfig,
    Gs1,
    Gtin,
    InternalCode,
    ScanResult,
    Sscc,
    Unknown,
    VariableMeasure,
    VariableMeasureLayout,
    default_variable_measure_layouts,
    gtin_check_digit,
    internal_code,
    is_valid_gtin,
    make_variable_measure_code,
    parse,
    product_key,
)

GS = "\x1d"


def _mod10(body: str) -> str:
    """GS1 check digit, written independently of the module under test."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def _valid(body: str) -> str:
    return body + _mod10(body)


def _bad(code: str) -> str:
    """The same code with a wrong last digit."""
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def _unknown_reason(result: ScanResult) -> str:
    assert isinstance(result, Unknown), result
    return result.reason


# --- each biip pitfall from ENVIRONMENT.md: show biip's reading, then ours ----------------------------------


def test_pitfall_13_digits_bad_check_is_not_ai_400() -> None:
    raw = "4006381333932"  # 4006381333931 with the last digit wrong
    biip_result = biip.parse(raw)
    assert biip_result.gtin is None
    assert biip_result.gs1_message is not None
    assert biip_result.gs1_message.element_strings[0].ai.ai == "400"
    assert _unknown_reason(parse(raw)).startswith("bad check digit")


def test_pitfall_8_digits_bad_check_is_not_ai_15() -> None:
    raw = "15210527"
    assert biip.parse(raw).gs1_message is not None
    assert _unknown_reason(parse(raw)).startswith("bad check digit")


def test_pitfall_valid_gtin_8_is_not_also_ai_96() -> None:
    raw = "96385074"
    assert biip.parse(raw).gs1_message is not None  # biip's second reading
    assert parse(raw) == Gtin("00000096385074", "96385074", "GTIN-8", raw)


def test_pitfall_ai_01_with_bad_check_digit_refuses_the_scan() -> None:
    raw = "]C1" + "0109501101530004" + "10LOT1"
    biip_result = biip.parse(raw)
    assert biip_result.gs1_message is not None
    assert biip_result.gs1_message.element_strings[0].gtin_error is not None
    assert _unknown_reason(parse(raw)).startswith("bad check digit")


def test_pitfall_full_width_digits_are_refused_with_a_reason() -> None:
    raw = "４００６３８１３３３９３１"
    assert biip.parse(raw).gtin is not None  # biip accepts them
    assert "full-width" in _unknown_reason(parse(raw))


def test_pitfall_run_of_nines_is_not_repeated_ai_99() -> None:
    raw = "9" * 100
    biip_result = biip.parse(raw)
    assert biip_result.gs1_message is not None
    assert {e.ai.ai for e in biip_result.gs1_message.element_strings} == {"99"}
    assert _unknown_reason(parse(raw)).startswith("not a barcode this store knows")


def test_pitfall_upc_e_wins_over_gtin_8_reading() -> None:
    raw = "01234565"
    biip_result = biip.parse(raw)
    assert biip_result.gtin is not None and str(biip_result.gtin.format) == "GTIN-8"
    assert parse(raw) == Gtin("00012345000065", "012345000065", "GTIN-12", raw)


# --- GTIN-8/12/13/14 ----------------------------------------------------------------------------------------

VALID_GTINS = [
    ("96385074", "GTIN-8"),
    (_valid("4012345"), "GTIN-8"),
    (_valid("9501234"), "GTIN-8"),
    ("036000291452", "GTIN-12"),
    ("012345678905", "GTIN-12"),
    (_valid("73101234567"), "GTIN-12"),
    ("4006381333931", "GTIN-13"),
    ("5901234123457", "GTIN-13"),
    ("9780306406157", "GTIN-13"),
    (_valid("501234567890"), "GTIN-13"),
    (_valid("1001234567890"), "GTIN-14"),
    (_valid("0001234567890"), "GTIN-14"),
    (_valid("5901234123457"[:-1].zfill(13)), "GTIN-14"),
]


@pytest.mark.parametrize(("raw", "fmt"), VALID_GTINS)
def test_valid_gtin(raw: str, fmt: str) -> None:
    result = parse(raw)
    assert result == Gtin(gtin14=raw.zfill(14), digits=raw, format=fmt, raw=raw)  # type: ignore[arg-type]
    assert result.kind == "gtin"
    assert product_key(result) == raw.zfill(14)
    assert is_valid_gtin(raw)


@pytest.mark.parametrize("raw", [_bad(code) for code, _ in VALID_GTINS if not code.startswith(("0", "1"))])
def test_gtin_with_bad_check_digit_is_unknown(raw: str) -> None:
    reason = _unknown_reason(parse(raw))
    assert reason.startswith("bad check digit")
    assert raw in reason
    assert not is_valid_gtin(raw)


@pytest.mark.parametrize("raw", [_bad("036000291452"), _bad("012345678905"), _bad(_valid("1001234567890"))])
def test_gtin_12_and_14_with_bad_check_digit_is_unknown(raw: str) -> None:
    assert _unknown_reason(parse(raw)).startswith("bad check digit")


def test_same_product_in_every_length_has_one_gtin14() -> None:
    scans = ["036000291452", "0036000291452", "00036000291452", "]E0036000291452"]
    assert {product_key(parse(s)) for s in scans} == {"00036000291452"}


def test_all_zero_code_is_refused() -> None:
    assert _unknown_reason(parse("0000000000000")).startswith("not a barcode")


# --- UPC-E -------------------------------------------------------------------------------------------------

UPC_E = [
    ("01234565", "012345000065"),
    ("04252614", "042100005264"),  # the textbook UPC-E example
    ("12345670", "123456000070"),
    ("11234562", "112345000062"),
    ("10000007", "100000000007"),
]


@pytest.mark.parametrize(("raw", "upc_a"), UPC_E)
def test_upc_e_is_expanded_to_upc_a(raw: str, upc_a: str) -> None:
    assert upc_a[-1] == _mod10(upc_a[:-1])
    assert parse(raw) == Gtin(gtin14="00" + upc_a, digits=upc_a, format="GTIN-12", raw=raw)


def test_upc_e_with_bad_check_digit_and_no_gtin_8_reading_is_unknown() -> None:
    raw = "01000017"  # UPC-E would need 8, GTIN-8 would need 8 too
    assert _unknown_reason(parse(raw)).startswith("bad check digit")


def test_ean_8_symbology_identifier_settles_the_ambiguity() -> None:
    # 12345670 is valid both as UPC-E and as GTIN-8.
    assert parse("]E412345670") == Gtin("00000012345670", "12345670", "GTIN-8", "]E412345670")
    assert parse("]E012345670") == Gtin("00123456000070", "123456000070", "GTIN-12", "]E012345670")


def test_8_digits_starting_with_2_to_9_are_never_upc_e() -> None:
    raw = _valid("2012345")
    assert parse(raw) == Gtin(raw.zfill(14), raw, "GTIN-8", raw)


# --- symbology identifiers for EAN/UPC/ITF ----------------------------------------------------------------------

SYMBOLOGY_GTIN = [
    ("]E04006381333931", "04006381333931", "GTIN-13"),
    ("]E0036000291452", "00036000291452", "GTIN-12"),
    ("]E496385074", "00000096385074", "GTIN-8"),
    ("]I1" + _valid("1001234567890"), _valid("1001234567890"), "GTIN-14"),
    ("]E3400638133393112", "04006381333931", "GTIN-13"),  # EAN-13 + 2-digit add-on
    ("]E303600029145201", "00036000291452", "GTIN-12"),  # UPC-A + 2-digit add-on
    ("]E3400638133393112345", "04006381333931", "GTIN-13"),  # + 5-digit add-on
    ("]C04006381333931", "04006381333931", "GTIN-13"),  # plain Code 128 carrying an EAN
]


@pytest.mark.parametrize(("raw", "gtin14", "fmt"), SYMBOLOGY_GTIN)
def test_gtin_with_symbology_identifier(raw: str, gtin14: str, fmt: str) -> None:
    result = parse(raw)
    assert isinstance(result, Gtin)
    assert (result.gtin14, result.format, result.raw) == (gtin14, fmt, raw)


@pytest.mark.parametrize(
    "raw",
    [
        "]E44006381333931",  # EAN-8 identifier, 13 digits
        "]I14006381333931",  # ITF-14 identifier, 13 digits
        "]E0ABC",
        "]E3123",
        "]E0",
        "]",
        "]!x",
        "]C0" + "0109501101530003",  # plain Code 128 cannot carry AIs
    ],
)
def test_symbology_identifier_with_wrong_data_is_unknown(raw: str) -> None:
    assert isinstance(parse(raw), Unknown)


# --- SSCC ---------------------------------------------------------------------------------------------------

SSCC = "376104250021234569"


@pytest.mark.parametrize("raw", [SSCC, "00" + SSCC, "]C100" + SSCC, "(00)" + SSCC, "]d200" + SSCC])
def test_sscc_alone(raw: str) -> None:
    result = parse(raw)
    assert result == Sscc(sscc=SSCC, raw=raw)
    assert result.kind == "sscc"
    assert product_key(result) is None


@pytest.mark.parametrize("raw", [_bad(SSCC), "00" + _bad(SSCC), "]C100" + _bad(SSCC)])
def test_sscc_with_bad_check_digit(raw: str) -> None:
    assert _unknown_reason(parse(raw)).startswith("bad check digit")


# --- GS1 element strings ------------------------------------------------------------------------------------

G = "09501101530003"


def _gs1(raw: str, **typed: object) -> Gs1:
    fields: dict[str, object] = {
        "gtin14": None,
        "sscc": None,
        "lot": None,
        "expiry": None,
        "serial": None,
        "net_weight_kg": None,
        "price": None,
    }
    ais = typed.pop("ais")
    fields.update(typed)
    return Gs1(**fields, ais=ais, raw=raw)  # type: ignore[arg-type]


GS1_CASES = [
    (
        "]C101" + G + "17250630" + "10LOT42" + GS + "21SER9",
        {"gtin14": G, "expiry": date(2025, 6, 30), "lot": "LOT42", "serial": "SER9"},
        {"01": G, "17": "250630", "10": "LOT42", "21": "SER9"},
    ),
    (
        "01" + G + "10ABC" + GS + "17260101",  # GS but no symbology identifier
        {"gtin14": G, "lot": "ABC", "expiry": date(2026, 1, 1)},
        {"01": G, "10": "ABC", "17": "260101"},
    ),
    (
        "]d201" + G + "21XYZ" + GS + "10L1",
        {"gtin14": G, "serial": "XYZ", "lot": "L1"},
        {"01": G, "21": "XYZ", "10": "L1"},
    ),
    (
        "]Q301" + G + "3103001250",
        {"gtin14": G, "net_weight_kg": Decimal("1.250")},
        {"01": G, "3103": "001250"},
    ),
    (
        "]e001" + G + "3922" + "1299",
        {"gtin14": G, "price": Decimal("12.99")},
        {"01": G, "3922": "1299"},
    ),
    (
        "(01)" + G + "(17)250100(10)AB12",  # day 00 means the last day of the month
        {"gtin14": G, "expiry": date(2025, 1, 31), "lot": "AB12"},
        {"01": G, "17": "250100", "10": "AB12"},
    ),
    (
        "(01) " + G + " (3102) 001250 (3921) 500",
        {"gtin14": G, "net_weight_kg": Decimal("12.50"), "price": Decimal("50.0")},
        {"01": G, "3102": "001250", "3921": "500"},
    ),
    (
        "(01)" + G + "(3101)012345",
        {"gtin14": G, "net_weight_kg": Decimal("1234.5")},
        {"01": G, "3101": "012345"},
    ),
    (
        "(01)" + G + "(3100)000007(3920)15",
        {"gtin14": G, "net_weight_kg": Decimal("7"), "price": Decimal("15")},
        {"01": G, "3100": "000007", "3920": "15"},
    ),
    (
        "]C100" + SSCC + "01" + G + "3105000500",
        {"sscc": SSCC, "gtin14": G, "net_weight_kg": Decimal("0.00500")},
        {"00": SSCC, "01": G, "3105": "000500"},
    ),
    ("0" + "1" + G, {"gtin14": G}, {"01": G}),  # bare AI 01 + GTIN-14
    ("]C1" + GS + "01" + G, {"gtin14": G}, {"01": G}),  # FNC1 sent as a leading GS
    ("]C1" + "02" + G + "37" + "12", {}, {"02": G, "37": "12"}),  # contained items: not a product key
    ("]C1" + "10" + "ONLYLOT", {"lot": "ONLYLOT"}, {"10": "ONLYLOT"}),
    (
        "https://id.gs1.org/01/" + G + "/10/ABC?17=270228",
        {"gtin14": G, "lot": "ABC", "expiry": date(2027, 2, 28)},
        {"01": G, "10": "ABC", "17": "270228"},
    ),
    ("]Q3https://example.com/01/" + G, {"gtin14": G}, {"01": G}),
    (
        "]C101" + G + "10A" + GS + "10A",  # the same AI twice with the same value is allowed
        {"gtin14": G, "lot": "A"},
        {"01": G, "10": "A"},
    ),
]


@pytest.mark.parametrize(("raw", "typed", "ais"), GS1_CASES)
def test_gs1_element_strings(raw: str, typed: dict[str, object], ais: dict[str, str]) -> None:
    result = parse(raw)
    assert result == _gs1(raw, ais=ais, **typed)
    assert result.kind == "gs1"
    assert product_key(result) == typed.get("gtin14")


def test_gs1_decimals_keep_their_scale() -> None:
    result = parse("(01)" + G + "(3922)1290(3102)000500")
    assert isinstance(result, Gs1)
    assert str(result.price) == "12.90"
    assert str(result.net_weight_kg) == "5.00"


@pytest.mark.parametrize(
    ("raw", "reason_start"),
    [
        ("]C101" + _bad(G) + "10A", "bad check digit"),
        ("(01)" + _bad(G), "bad check digit"),
        ("https://id.gs1.org/01/" + _bad(G), "bad check digit"),
        ("]C100" + SSCC + "01" + _bad(G), "bad check digit"),
        ("]C1414" + _bad(_valid("501234567890")), "bad check digit"),  # GLN
        ("]C101" + G + "10A" + GS + "10B", "GS1 AI (10) appears twice"),
        ("]C101" + G + "17251301", "not a barcode"),  # month 13
        ("(01)" + G + "(17)251301", "not a barcode"),
        ("(999)12", "not a barcode"),
        ("(01)", "not a barcode"),
        ("]C1" + "011234", "not a barcode"),
        ("]C1" + GS, "the scanner sent"),
        ("https://example.com/shop", "not a barcode"),
        ("]d2http://", "not a barcode"),
    ],
)
def test_bad_gs1_data_is_unknown(raw: str, reason_start: str) -> None:
    assert _unknown_reason(parse(raw)).startswith(reason_start)


# --- variable measure --------------------------------------------------------------------------------------


def _scale(prefix: str, item: str, value: str) -> str:
    return _valid(prefix + item + value)


VARIABLE_MEASURE = [
    (_scale("20", "00042", "00399"), "20", "00042", Decimal("3.99"), None),
    (_scale("21", "12345", "00050"), "21", "12345", Decimal("0.50"), None),
    (_scale("22", "00001", "12345"), "22", "00001", Decimal("123.45"), None),
    (_scale("23", "55555", "00000"), "23", "55555", Decimal("0.00"), None),
    (_scale("24", "99999", "99999"), "24", "99999", Decimal("999.99"), None),
    (_scale("25", "00007", "00125"), "25", "00007", None, Decimal("0.125")),
    (_scale("26", "10000", "01500"), "26", "10000", None, Decimal("1.500")),
    (_scale("27", "12345", "12345"), "27", "12345", None, Decimal("12.345")),
    (_scale("28", "00300", "00001"), "28", "00300", None, Decimal("0.001")),
    (_scale("29", "54321", "99999"), "29", "54321", None, Decimal("99.999")),
    ("0" + _scale("25", "00007", "00125"), "25", "00007", None, Decimal("0.125")),  # as GTIN-14
]


@pytest.mark.parametrize(("raw", "prefix", "item", "price", "weight"), VARIABLE_MEASURE)
def test_variable_measure_default_layouts(
    raw: str, prefix: str, item: str, price: Decimal | None, weight: Decimal | None
) -> None:
    result = parse(raw)
    assert result == VariableMeasure(item_ref=item, price=price, weight_kg=weight, raw=raw, prefix=prefix)
    assert result.kind == "variable_measure"
    assert product_key(result) is None
    # Same scale of Decimal as the layout's decimals, so totals print right.
    amount = price if price is not None else weight
    assert amount is not None and str(getattr(result, "price" if price is not None else "weight_kg")) == str(
        amount
    )


@pytest.mark.parametrize("raw", [_bad(_scale("20", "00042", "00399")), _bad(_scale("27", "12345", "12345"))])
def test_variable_measure_with_bad_check_digit(raw: str) -> None:
    assert _unknown_reason(parse(raw)).startswith("bad check digit")


@pytest.mark.parametrize(
    ("prefix", "item", "value"),
    [
        ("20", "00042", Decimal("3.99")),
        ("24", "99999", Decimal("999.99")),
        ("22", "00001", Decimal("7")),
        ("25", "00007", Decimal("0.125")),
        ("29", "54321", Decimal("12.0")),
    ],
)
def test_make_variable_measure_code_round_trips(prefix: str, item: str, value: Decimal) -> None:
    code = make_variable_measure_code(prefix, item, value, DEFAULT_CONFIG)
    assert len(code) == 13 and code[-1] == _mod10(code[:-1])
    result = parse(code)
    assert isinstance(result, VariableMeasure)
    assert (result.prefix, result.item_ref) == (prefix, item)
    assert (result.price if result.price is not None else result.weight_kg) == value


@pytest.mark.parametrize(
    ("prefix", "item", "value"),
    [
        ("20", "00042", Decimal("3.999")),  # more decimals than the layout: never rounded silently
        ("20", "00042", Decimal("1000.00")),  # does not fit 5 digits
        ("20", "00042", Decimal("-1")),
        ("20", "00042", Decimal("NaN")),
        ("20", "0042", Decimal("1")),
        ("20", "0004X", Decimal("1")),
        ("19", "00042", Decimal("1")),  # no such layout
    ],
)
def test_make_variable_measure_code_refuses(prefix: str, item: str, value: Decimal) -> None:
    with pytest.raises(ValueError):
        make_variable_measure_code(prefix, item, value)


UPC_CFG = BarcodeConfig(variable_measure=[*default_variable_measure_layouts(), UPC_A_PRICE_LAYOUT])


def test_upc_a_price_label_with_price_check_digit() -> None:
    code13 = make_variable_measure_code("02", "40000", Decimal("12.34"), UPC_CFG)
    # The price check digit of 1234 is 9 (GS1 General Specifications, 4-digit price example uses 2875 -> 9).
    assert code13 == _valid("0240000" + "9" + "1234")
    upc_a = code13[1:]
    result = parse(upc_a, UPC_CFG)
    assert result == VariableMeasure("40000", Decimal("12.34"), None, upc_a, "02")
    # Without the layout configured the same label is just a GTIN-12 the catalog may know.
    assert isinstance(parse(upc_a), Gtin)


def test_upc_a_price_label_with_bad_price_check_digit() -> None:
    upc_a = _valid("240000" + "8" + "1234")  # EAN check digit fine, price check digit wrong
    reason = _unknown_reason(parse(upc_a, UPC_CFG))
    assert reason.startswith("bad check digit in the price")


def test_store_with_fewer_layouts_keeps_other_2x_codes_as_gtin() -> None:
    cfg = BarcodeConfig(variable_measure=[VariableMeasureLayout(prefix="21", value_kind="price", decimals=2)])
    raw = _scale("25", "00007", "00125")
    assert parse(raw, cfg) == Gtin(raw.zfill(14), raw, "GTIN-13", raw)
    assert isinstance(parse(_scale("21", "00007", "00125"), cfg), VariableMeasure)


def test_custom_layout_4_digit_item_and_weight_in_grams_precision() -> None:
    layout = VariableMeasureLayout(
        prefix="28",
        item_ref_digits=4,
        value_kind="weight",
        value_digits=5,
        decimals=3,
        price_check_digit=True,
    )
    cfg = BarcodeConfig(variable_measure=[layout])
    code = make_variable_measure_code("28", "1234", Decimal("2.345"), cfg)
    assert parse(code, cfg) == VariableMeasure("1234", None, Decimal("2.345"), code, "28")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prefix": "2A", "value_kind": "price", "decimals": 2},
        {"prefix": "20", "value_kind": "count", "decimals": 0},
        {"prefix": "20", "value_kind": "price", "decimals": 2, "item_ref_digits": 6},  # 13 digits used
        {"prefix": "20", "value_kind": "price", "decimals": 6},
        {
            "prefix": "2",
            "value_kind": "price",
            "decimals": 2,
            "item_ref_digits": 3,
            "value_digits": 7,
            "price_check_digit": True,
        },
    ],
)
def test_bad_layouts_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        VariableMeasureLayout(**kwargs)  # type: ignore[arg-type]


# --- store-internal codes ----------------------------------------------------------------------------------

INTERNAL = [
    ("R-S001-01-000123", "receipt", "S001-01-000123"),
    ("W-100234", "order", "100234"),
    ("PU-7F3K", "pickup", "7F3K"),
    ("PS-S001-02-000007", "parked", "S001-02-000007"),
    ("RT-S002-01-000001", "return", "S002-01-000001"),
    ("BADGE-0042", "badge", "0042"),
    ("LC-9876543210", "loyalty", "9876543210"),
    ("r-s001-01-000123", "receipt", "S001-01-000123"),  # Caps Lock on a keyboard-wedge scanner
    ("]C0R-S001-01-000123", "receipt", "S001-01-000123"),
    ("]Q1BADGE-7", "badge", "7"),
    ("  PU-1\r\n", "pickup", "1"),
]


@pytest.mark.parametrize(("raw", "kind", "value"), INTERNAL)
def test_internal_codes(raw: str, kind: str, value: str) -> None:
    result = parse(raw)
    assert result == InternalCode(internal_kind=kind, value=value, raw=raw.strip())
    assert result.kind == "internal"
    assert product_key(result) is None


@pytest.mark.parametrize("raw", ["R-", "R-S001_01", "R--1", "R-1-", "W-A B", "BADGE-é", "LC-1.5"])
def test_malformed_internal_codes(raw: str) -> None:
    assert isinstance(parse(raw), Unknown)


def test_custom_internal_prefixes() -> None:
    cfg = BarcodeConfig(internal_prefixes={"P-": "pallet", "PX-": "pallet-export", "99": "staff"})
    assert parse("PX-1", cfg) == InternalCode("pallet-export", "1", "PX-1")
    assert parse("P-1", cfg) == InternalCode("pallet", "1", "P-1")
    assert parse("99123", cfg) == InternalCode("staff", "123", "99123")
    # Default prefixes are gone for this store.
    assert isinstance(parse("R-S001-01-000123", cfg), Unknown)


@pytest.mark.parametrize("prefixes", [{"r-": "receipt"}, {"": "x"}, {"]X": "x"}, {"A B": "x"}, {"Z-": ""}])
def test_bad_internal_prefixes_are_refused(prefixes: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        BarcodeConfig(internal_prefixes=prefixes)


def test_config_cannot_change_after_it_is_made() -> None:
    source = {"R-": "receipt"}
    cfg = BarcodeConfig(internal_prefixes=source)
    source["X-"] = "other"
    assert isinstance(parse("X-1", cfg), Unknown)
    with pytest.raises(TypeError):
        cfg.internal_prefixes["Y-"] = "y"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.variable_measure = []  # type: ignore[misc]


def test_internal_code_examples() -> None:
    assert internal_code("receipt", "S001-01-000123") == "R-S001-01-000123"
    assert internal_code("badge", "0042") == "BADGE-0042"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("nope", "1"),
        ("receipt", ""),
        ("receipt", "s001"),
        ("receipt", "A--B"),
        ("receipt", "A" * MAX_SCAN_LENGTH),
    ],
)
def test_internal_code_refuses(kind: str, value: str) -> None:
    with pytest.raises(ValueError):
        internal_code(kind, value)


def test_internal_code_refuses_a_code_another_prefix_would_swallow() -> None:
    cfg = BarcodeConfig(internal_prefixes={"P-": "pallet", "P-S-": "pallet-ship"})
    with pytest.raises(ValueError):
        internal_code("pallet", "S-1", cfg)
    assert internal_code("pallet", "T-1", cfg) == "P-T-1"


_VALUES = st.from_regex(r"[A-Z0-9]{1,8}(-[A-Z0-9]{1,8}){0,4}", fullmatch=True)


@given(kind=st.sampled_from(sorted(set(DEFAULT_INTERNAL_PREFIXES.values()))), value=_VALUES)
def test_internal_code_is_the_exact_inverse_of_parse(kind: str, value: str) -> None:
    code = internal_code(kind, value)
    assert parse(code) == InternalCode(internal_kind=kind, value=value, raw=code)


# --- unknowns and input hygiene -----------------------------------------------------------------------------

UNKNOWN = [
    ("", "empty scan"),
    ("   \r\n", "empty scan"),
    ("x" * (MAX_SCAN_LENGTH + 1), "scan is 121 characters"),
    ("4006381333931\x00", "contains characters"),
    ("40063813\x0733931", "contains characters"),
    ("café", "contains characters"),
    ("4006381333931€", "contains characters"),
    ("４００６", "full-width"),
    ("hello world", "not a barcode this store knows"),
    ("12345", "not a barcode this store knows"),
    ("123456789", "not a barcode this store knows"),
    ("12345678901", "not a barcode this store knows"),
    ("123456789012345", "not a barcode this store knows"),
    ("4006381 333931", "not a barcode this store knows"),
    ("X-12345", "not a barcode this store knows"),
    ("17250101", "bad check digit"),  # would be AI 17 to biip
    ("1725010110ABC", "not a barcode this store knows"),  # bare AIs that do not start with 00/01/02
]


@pytest.mark.parametrize(("raw", "reason_part"), UNKNOWN)
def test_unknown(raw: str, reason_part: str) -> None:
    result = parse(raw)
    assert isinstance(result, Unknown)
    assert reason_part in result.reason
    assert result.kind == "unknown"
    assert product_key(result) is None


@pytest.mark.parametrize(
    "raw", ["4006381333931\r\n", " 4006381333931 ", "\t4006381333931\n", "4006381333931\r"]
)
def test_surrounding_whitespace_is_stripped(raw: str) -> None:
    assert parse(raw) == Gtin("04006381333931", "4006381333931", "GTIN-13", "4006381333931")


def test_max_length_is_inclusive() -> None:
    raw = "(01)" + G + "(10)" + "A" * (MAX_SCAN_LENGTH - 22)
    assert len(raw) == MAX_SCAN_LENGTH
    assert isinstance(parse(raw), Unknown)  # AI 10 holds at most 20 characters
    raw = "BADGE-" + "A" * (MAX_SCAN_LENGTH - 6)
    assert isinstance(parse(raw), InternalCode)


def test_unknown_reason_quotes_the_scan_briefly() -> None:
    reason = _unknown_reason(parse("Z" * 100))
    assert len(reason) < 100


# --- helpers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "digit"),
    [("400638133393", 1), ("9638507", 4), ("03600029145", 2), ("950110153100", 0), ("37610425002123456", 9)],
)
def test_gtin_check_digit(body: str, digit: int) -> None:
    assert gtin_check_digit(body) == digit


@pytest.mark.parametrize("body", ["", "12a4", "４００", "12 34"])
def test_gtin_check_digit_refuses_non_ascii_digits(body: str) -> None:
    with pytest.raises(ValueError):
        gtin_check_digit(body)


@pytest.mark.parametrize(
    ("s", "valid"),
    [
        ("4006381333931", True),
        ("96385074", True),
        ("036000291452", True),
        (_valid("1001234567890"), True),
        ("4006381333932", False),
        ("04252614", False),  # a UPC-E is not a GTIN string
        ("400638133393", False),
        ("４００６３８１３３３９３１", False),
        ("", False),
        (SSCC, False),
    ],
)
def test_is_valid_gtin(s: str, valid: bool) -> None:
    assert is_valid_gtin(s) is valid


def test_results_are_frozen_and_hashable() -> None:
    results = [
        parse("4006381333931"),
        parse("(01)" + G + "(10)A"),
        parse(SSCC),
        parse(_scale("20", "00042", "00399")),
        parse("R-1"),
        parse("?"),
    ]
    assert [r.kind for r in results] == ["gtin", "gs1", "sscc", "variable_measure", "internal", "unknown"]
    for result in results:
        hash(result)
        with pytest.raises(dataclasses.FrozenInstanceError):
            result.raw = "x"  # type: ignore[misc]


# --- properties --------------------------------------------------------------------------------------------

_SCANNY = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda head, tail: head + tail,
        st.sampled_from(
            [
                "]C1",
                "]d2",
                "]Q3",
                "]e0",
                "]E0",
                "]E3",
                "]E4",
                "]I1",
                "]C0",
                "]",
                "(",
                "(01)",
                "01",
                "00",
                "http://",
                "https://id.gs1.org/01/",
                "R-",
                "BADGE-",
                "2",
                "02",
                "\x1d",
            ]
        ),
        st.text(alphabet="0123456789()\x1d-ABCxyz/?=.%", max_size=60),
    ),
    st.text(alphabet="0123456789", min_size=1, max_size=130),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_SCANNY)
def test_parse_never_raises(raw: str) -> None:
    result = parse(raw)
    assert result.kind in {"gtin", "gs1", "sscc", "variable_measure", "internal", "unknown"}
    if isinstance(result, Gtin):
        assert is_valid_gtin(result.gtin14) and result.gtin14.endswith(result.digits)


@given(body=st.from_regex(r"[013-9][0-9]{11}", fullmatch=True))
def test_any_ean13_with_its_check_digit_is_a_gtin(body: str) -> None:
    assume(body != "0" * 12)  # an all-zero GTIN does not exist
    code = body + _mod10(body)
    assert parse(code) == Gtin(code.zfill(14), code, "GTIN-13", code)


@given(
    prefix=st.sampled_from([f"2{d}" for d in range(10)]),
    item=st.from_regex(r"[0-9]{5}", fullmatch=True),
    units=st.integers(min_value=0, max_value=99999),
)
def test_variable_measure_round_trip_property(prefix: str, item: str, units: int) -> None:
    decimals = 2 if prefix < "25" else 3
    value = Decimal(units).scaleb(-decimals)
    result = parse(make_variable_measure_code(prefix, item, value))
    assert isinstance(result, VariableMeasure)
    assert result.item_ref == item
    assert (result.price if decimals == 2 else result.weight_kg) == value


# --- speed -------------------------------------------------------------------------------------------------


def test_parse_ean13_is_well_under_a_millisecond() -> None:
    parse("4006381333931")  # warm biip's tables
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        parse("4006381333931")
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.0002
