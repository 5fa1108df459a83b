"""Barcode rules of the store: every scanned string becomes exactly one typed result.

This module owns the answer to "what did the cashier just scan?". `parse` takes the raw text a scanner (keyboard
wedge, serial, camera decoder) delivered and returns one of `Gtin`, `Gs1`, `Sscc`, `VariableMeasure`,
`InternalCode` or `Unknown`; it never raises. The GS1 heavy lifting (check digits, UPC-E expansion, symbology
identifiers, the application identifier table, dates and decimals inside element strings, Digital Link URIs)
is done by `biip`, imported on first use (it takes a tenth of a second to import, so the till's start does not pay
for it; `load_gs1` imports it ahead, when the app is idle): a plain EAN/UPC, an SSCC or an internal code is read
without it. `biip.parse` itself returns *every* reading it can make of a string, some of them wrong
for a shop counter, so this module chooses the reading from the form of the scan instead:

* the text is stripped of surrounding whitespace / CR / LF, must be printable ASCII (plus the GS separator
  ``\\x1d``) and at most `MAX_SCAN_LENGTH` characters; full-width digits from a non-ASCII keyboard mode are refused
  with a reason (biip would accept them as a GTIN);
* a plain run of 8, 12, 13 or 14 digits is only ever a GTIN (or UPC-E / variable-measure label): a bad check
  digit is ``Unknown("bad check digit ...")``, never a GS1 message with AI 400 or AI 15 as biip would also read it;
* 8 digits starting with 0 or 1 that are a valid UPC-E are read as UPC-E and expanded to UPC-A (biip's top-level
  result would call them GTIN-8); other valid 8-digit codes are GTIN-8. A scanner that sends AIM symbology
  identifiers settles this: ``]E4`` is always EAN-8, ``]E0`` + 8 digits always UPC-E;
* a plain run of 18 digits is an SSCC;
* GS1 element strings are read when the scanner says so (``]C1``, ``]e0``, ``]d2``, ``]Q3``, ``]J1``), when a GS
  separator is present, in the human-readable ``(01)...(10)...`` form, as a GS1 Digital Link ``http(s)://`` URI,
  or when a bare string starts with AI 00 + 18 digits or AI 01/02 + 14 digits. Anything else is not guessed at:
  biip reads e.g. a long run of 9s as repeated AI 99, which no label here means;
* inside GS1 data a GTIN, SSCC or GLN with a bad check digit makes the whole scan ``Unknown("bad check digit ...")``
  (biip only flags the element), as does an AI repeated with different values.

Variable-measure (scale) labels are EAN-13 codes in the restricted-circulation range whose layout each store
configures in `BarcodeConfig.variable_measure`. The default (`default_variable_measure_layouts`) is the common
European one: ``PP IIIII VVVVV C`` with prefix ``PP`` in 20..29, a 5-digit item reference, a 5-digit value and the
EAN check digit; prefixes 20-24 carry a price with 2 decimals, 25-29 a weight in kg with 3 decimals. The layouts
match on the 13-digit form, so a US UPC-A price label (number system 2) is the prefix ``"02"`` layout
`UPC_A_PRICE_LAYOUT`, which a store adds to its list when it needs it. A code in the 2x range that matches no
layout stays a plain `Gtin`, so a store can key its own fixed-price items in the catalog.

Store-internal codes (receipts, orders, pickups, badges, ...) are ``PREFIX + VALUE`` with the prefixes from
`BarcodeConfig.internal_prefixes`; `internal_code` builds them and is the exact inverse of `parse` for them.
Scanners with Caps Lock on invert letter case, so internal codes are matched case-insensitively; their values
only hold ``A-Z``, ``0-9`` and ``-`` and are returned upper-case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, TypeAlias

from app.domain import prefixes
from app.domain.scan_results import (
    Gs1,
    Gtin,
    GtinFormat,
    InternalCode,
    ScanResult,
    Sscc,
    Unknown,
    VariableMeasure,
)

if TYPE_CHECKING:
    from biip import ParseConfig
    from biip.gs1_element_strings import GS1ElementStrings

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_INTERNAL_PREFIXES",
    "MAX_SCAN_LENGTH",
    "UPC_A_PRICE_LAYOUT",
    "BarcodeConfig",
    "Gs1",
    "Gtin",
    "GtinFormat",
    "InternalCode",
    "ScanKind",
    "ScanResult",
    "Sscc",
    "Unknown",
    "VariableMeasure",
    "VariableMeasureLayout",
    "default_variable_measure_layouts",
    "gtin_check_digit",
    "internal_code",
    "is_valid_gtin",
    "load_gs1",
    "make_variable_measure_code",
    "parse",
    "product_key",
]

MAX_SCAN_LENGTH = 120
"""Longest scan accepted. GS1 DataMatrix on goods stays well below; longer text is a misfire or pasted junk."""

GS = "\x1d"

ScanKind: TypeAlias = Literal["gtin", "gs1", "sscc", "variable_measure", "internal", "unknown"]

# The store's own codes: the prefixes are defined once, in app.domain.prefixes.
DEFAULT_INTERNAL_PREFIXES: Mapping[str, str] = MappingProxyType(dict(prefixes.KINDS))

# Printable ASCII plus GS: the only characters a scan may hold.
_ALLOWED = re.compile(r"[\x20-\x7e\x1d]*")
_FULL_WIDTH_DIGITS = re.compile(r"[\uff10-\uff19]")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_INTERNAL_VALUE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
# A bare GS1 element string (no symbology identifier, no GS) is only believed when it starts the way real
# product and logistics labels do: SSCC (00) or GTIN (01, 02) with their full fixed-length data.
_BARE_GS1_START = re.compile(r"(?:00[0-9]{18}|0[12][0-9]{14})")
_GTIN_FORMATS: dict[int, GtinFormat] = {8: "GTIN-8", 12: "GTIN-12", 13: "GTIN-13", 14: "GTIN-14"}
# ]E3 is an EAN/UPC with a 2- or 5-digit add-on; the total length tells which main code it carries.
_ADD_ON_MAIN_LENGTH = {15: 13, 18: 13, 14: 12, 17: 12, 10: 8, 13: 8}


@cache
def _biip_config() -> ParseConfig:
    from biip import ParseConfig

    return ParseConfig()


def load_gs1() -> None:
    """Import the GS1 library now (about a tenth of a second), so that the first GS1, UPC-E, scale-label or
    symbology-prefixed scan does not wait for it. The app calls this once its window shows."""
    _biip_config()


# --- configuration -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class VariableMeasureLayout:
    """How one prefix of scale labels is laid out, on the 13-digit (EAN-13) form of the code:
    ``prefix + item reference + [price check digit] + value + EAN check digit``."""

    prefix: str
    value_kind: Literal["price", "weight"]
    decimals: int
    item_ref_digits: int = 5
    value_digits: int = 5
    price_check_digit: bool = False

    def __post_init__(self) -> None:
        if not _ASCII_DIGITS.fullmatch(self.prefix):
            raise ValueError(f"variable-measure prefix must be digits, got {self.prefix!r}")
        if self.value_kind not in ("price", "weight"):
            raise ValueError(f"value_kind must be 'price' or 'weight', got {self.value_kind!r}")
        if self.item_ref_digits < 1 or self.value_digits < 1 or self.decimals < 0:
            raise ValueError("item_ref_digits and value_digits must be positive, decimals not negative")
        if self.decimals > self.value_digits:
            raise ValueError("decimals cannot exceed value_digits")
        if self.price_check_digit and self.value_digits not in (4, 5):
            # GS1 defines the price/weight check digit for 4- and 5-digit values only.
            raise ValueError("a price check digit needs a 4- or 5-digit value")
        used = len(self.prefix) + self.item_ref_digits + int(self.price_check_digit) + self.value_digits
        if used != 12:
            raise ValueError(
                f"layout {self.prefix!r} uses {used} digits; it must use 12 (plus the check digit)"
            )


def default_variable_measure_layouts() -> list[VariableMeasureLayout]:
    """The default scale-label layouts: prefixes 20-24 price with 2 decimals, 25-29 weight in kg with 3 decimals;
    each ``PP IIIII VVVVV C`` (5-digit item reference, 5-digit value, no price check digit)."""
    return [VariableMeasureLayout(prefix=f"2{d}", value_kind="price", decimals=2) for d in range(5)] + [
        VariableMeasureLayout(prefix=f"2{d}", value_kind="weight", decimals=3) for d in range(5, 10)
    ]


UPC_A_PRICE_LAYOUT = VariableMeasureLayout(
    prefix="02", value_kind="price", decimals=2, item_ref_digits=5, value_digits=4, price_check_digit=True
)
"""US UPC-A random-weight price label ``2 IIIII P VVVV C`` (as EAN-13: ``02 IIIII P VVVV C``); not in the default."""


@dataclass(frozen=True, slots=True)
class BarcodeConfig:
    """Per-store barcode policy. Sequences and mappings are copied, so a config cannot change after it is made."""

    variable_measure: Sequence[VariableMeasureLayout] = field(
        default_factory=default_variable_measure_layouts, hash=False
    )
    internal_prefixes: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_INTERNAL_PREFIXES), hash=False
    )
    # Longest prefix first, so "PU-" is tried before a store's possible "P-".
    _prefixes_longest_first: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        layouts = tuple(self.variable_measure)
        for layout in layouts:
            if not isinstance(layout, VariableMeasureLayout):
                raise TypeError(f"expected VariableMeasureLayout, got {layout!r}")
        prefixes = dict(self.internal_prefixes)
        for prefix, kind in prefixes.items():
            if not re.fullmatch(r"[!-~]+", prefix) or prefix != prefix.upper() or prefix[0] in "](":
                raise ValueError(
                    f"internal prefix {prefix!r} must be upper-case printable ASCII, not starting with ] or ("
                )
            if not kind:
                raise ValueError(f"internal prefix {prefix!r} needs a kind")
        object.__setattr__(self, "variable_measure", layouts)
        object.__setattr__(self, "internal_prefixes", MappingProxyType(prefixes))
        ordered = tuple(sorted(prefixes.items(), key=lambda item: -len(item[0])))
        object.__setattr__(self, "_prefixes_longest_first", ordered)


DEFAULT_CONFIG = BarcodeConfig()


# --- check digits ---------------------------------------------------------------------------------------------


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of `body` (a GTIN or SSCC without its last digit). ASCII digits only: Python's
    ``isdecimal`` also accepts full-width and other scripts' digits, which a barcode never holds."""
    if not _ASCII_DIGITS.fullmatch(body):
        raise ValueError(f"expected ASCII digits, got {body!r}")
    return _mod10(body)


def _mod10(digits: str) -> int:
    """The GS1 standard check digit (General Specifications 7.9.1) of ASCII `digits`: weights 3, 1, 3, ... from
    the right. Here rather than biip's `gs1_standard_check_digit` (the same figure, pinned by a test) so that a
    plain EAN/UPC scan does not import biip."""
    odd = sum(map(int, digits[-1::-2]))
    even = sum(map(int, digits[-2::-2]))
    return -(3 * odd + even) % 10


def _price_weight_check_digit(value: str) -> int:
    from biip.checksums import gs1_price_weight_check_digit

    return gs1_price_weight_check_digit(value)


def is_valid_gtin(s: str) -> bool:
    """True for an 8, 12, 13 or 14 ASCII-digit GTIN with a correct check digit (a UPC-E is not a GTIN string)."""
    if len(s) not in _GTIN_FORMATS or not _ASCII_DIGITS.fullmatch(s):
        return False
    return _mod10(s[:-1]) == int(s[-1])


def product_key(result: ScanResult) -> str | None:
    """The GTIN-14 to look a product up by: for a `Gtin`, and for a `Gs1` that carries AI (01)."""
    if isinstance(result, Gtin | Gs1):
        return result.gtin14
    return None


# --- parsing --------------------------------------------------------------------------------------------------


def parse(raw: str, config: BarcodeConfig | None = None) -> ScanResult:
    """Turn one scanned string into a typed result. Never raises; what it cannot accept is `Unknown`."""
    cfg = DEFAULT_CONFIG if config is None else config
    # str.strip also removes stray GS at either end, which carries no data there.
    text = raw.strip()
    if not text:
        return Unknown(text, "empty scan: nothing was read, scan again")
    if len(text) > MAX_SCAN_LENGTH:
        return Unknown(
            text, f"scan is {len(text)} characters long; the longest this store accepts is {MAX_SCAN_LENGTH}"
        )
    if not _ALLOWED.fullmatch(text):
        if _FULL_WIDTH_DIGITS.search(text):
            return Unknown(
                text,
                "full-width digits: the scanner or keyboard is in a non-ASCII input mode; "
                "switch it to ASCII (half-width) and scan again",
            )
        return Unknown(text, "contains characters a barcode never holds (non-ASCII or control characters)")

    if text.startswith("]"):
        return _parse_with_symbology(text, cfg)
    return _parse_plain(text, text, cfg, gs1_allowed=True)


def _parse_with_symbology(text: str, cfg: BarcodeConfig) -> ScanResult:
    from biip import BiipException
    from biip.symbology import GS1Symbology, SymbologyIdentifier

    try:
        sid = SymbologyIdentifier.extract(text)
    except (BiipException, ValueError, IndexError):
        return Unknown(text, f"unknown symbology identifier {text[:3]!r}: check the scanner's AIM ID setting")
    data = text[len(sid) :].lstrip(GS)
    if not data:
        return Unknown(text, "the scanner sent a symbology identifier but no data: scan again")
    symbology = sid.gs1_symbology
    if symbology is None:
        # A non-GS1 symbology (plain Code 128, QR, Code 39, ...): its data is read like a bare scan, but it
        # cannot carry GS1 element strings, so none are guessed at.
        return _parse_plain(data, text, cfg, gs1_allowed=False)
    if symbology in GS1Symbology.with_gs1_messages():
        if data.startswith(("http://", "https://")) and symbology in GS1Symbology.with_gs1_digital_link_uri():
            return _from_digital_link(data, text)
        return _from_gs1_message(data, text, hri=False)
    if symbology is GS1Symbology.EAN_13:
        allowed: tuple[int, ...] = (8, 12, 13)
    elif symbology is GS1Symbology.EAN_8:
        allowed = (8,)
    elif symbology is GS1Symbology.ITF_14:
        allowed = (14,)
    elif symbology is GS1Symbology.EAN_13_WITH_ADD_ON:
        # The add-on (magazine issue, book price) is not used at the counter; the main code is.
        main_length = _ADD_ON_MAIN_LENGTH.get(len(data))
        if main_length is None or not _ASCII_DIGITS.fullmatch(data):
            return Unknown(text, "not a barcode this store knows: malformed EAN/UPC with add-on")
        data = data[:main_length]
        allowed = (main_length,)
    else:
        return Unknown(text, f"not a barcode this store knows: {symbology.name} data")
    if len(data) not in allowed or not _ASCII_DIGITS.fullmatch(data):
        return Unknown(
            text, f"not a barcode this store knows: {len(data)} characters in a {symbology.name} code"
        )
    return _from_digits(data, text, cfg, upc_e=len(data) == 8 and symbology is not GS1Symbology.EAN_8)


def _parse_plain(data: str, text: str, cfg: BarcodeConfig, *, gs1_allowed: bool) -> ScanResult:
    if gs1_allowed and GS in data:
        return _from_gs1_message(data, text, hri=False)
    if data.startswith("("):
        return _from_gs1_message(data, text, hri=True)
    if data.startswith(("http://", "https://")):
        return _from_digital_link(data, text)
    internal = _match_internal(data, text, cfg)
    if internal is not None:
        return internal
    if _ASCII_DIGITS.fullmatch(data):
        if len(data) in _GTIN_FORMATS:
            return _from_digits(data, text, cfg, upc_e=len(data) == 8)
        if len(data) == 18:
            return _from_sscc(data, text)
    if gs1_allowed and _BARE_GS1_START.match(data):
        return _from_gs1_message(data, text, hri=False)
    return Unknown(text, f"not a barcode this store knows: {_shown(data)}")


def _from_digits(digits: str, text: str, cfg: BarcodeConfig, *, upc_e: bool) -> ScanResult:
    """A plain numeric code of GTIN length; `upc_e` allows the UPC-E reading of 8 digits."""
    if upc_e and digits[0] in "01":
        from biip import BiipException
        from biip.upc import Upc

        try:
            upc = Upc.parse(digits)
        except BiipException:
            upc = None
        if upc is not None:
            gtin12 = upc.as_upc_a()
            return Gtin(gtin14=gtin12.zfill(14), digits=gtin12, format="GTIN-12", raw=text)
    expected = _mod10(digits[:-1])
    if expected != int(digits[-1]):
        return Unknown(
            text,
            f"bad check digit in {digits}: expected {expected}, got {digits[-1]}; scan again or key the number in",
        )
    gtin14 = digits.zfill(14)
    if gtin14 == "0" * 14:
        return Unknown(text, "not a barcode this store knows: all zeros")
    if len(digits) in (12, 13) or (len(digits) == 14 and digits[0] == "0"):
        measured = _from_variable_measure(gtin14[1:], text, cfg)
        if measured is not None:
            return measured
    return Gtin(gtin14=gtin14, digits=digits, format=_GTIN_FORMATS[len(digits)], raw=text)


def _from_variable_measure(code13: str, text: str, cfg: BarcodeConfig) -> ScanResult | None:
    """Read a scale label whose (valid) EAN-13 form is `code13`, or None when no layout claims it."""
    for layout in cfg.variable_measure:
        if not code13.startswith(layout.prefix):
            continue
        pos = len(layout.prefix)
        item_ref = code13[pos : pos + layout.item_ref_digits]
        pos += layout.item_ref_digits
        price_check = None
        if layout.price_check_digit:
            price_check = int(code13[pos])
            pos += 1
        value_digits = code13[pos : pos + layout.value_digits]
        if price_check is not None:
            expected = _price_weight_check_digit(value_digits)
            if expected != price_check:
                return Unknown(
                    text,
                    f"bad check digit in the {layout.value_kind} of scale label {code13}: "
                    f"expected {expected}, got {price_check}; weigh or label the item again",
                )
        value = Decimal(value_digits).scaleb(-layout.decimals)
        if layout.value_kind == "price":
            return VariableMeasure(item_ref, value, None, text, layout.prefix)
        return VariableMeasure(item_ref, None, value, text, layout.prefix)
    return None


def _from_sscc(digits: str, text: str) -> ScanResult:
    expected = _mod10(digits[:-1])
    if expected != int(digits[-1]):
        return Unknown(text, f"bad check digit in SSCC {digits}: expected {expected}, got {digits[-1]}")
    return Sscc(sscc=digits, raw=text)


def _from_gs1_message(data: str, text: str, *, hri: bool) -> ScanResult:
    from biip import BiipException
    from biip.gs1_messages import GS1Message

    try:
        if hri:
            message = GS1Message.parse_hri(data, config=_biip_config())
        else:
            message = GS1Message.parse(data, config=_biip_config())
    except (BiipException, ValueError) as exc:
        return Unknown(text, f"not a barcode this store knows: GS1 data could not be read ({exc})")
    return _from_element_strings(message.element_strings, text)


def _from_digital_link(data: str, text: str) -> ScanResult:
    from biip import BiipException
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI

    try:
        uri = GS1DigitalLinkURI.parse(data, config=_biip_config())
    except (BiipException, ValueError):
        return Unknown(
            text, f"not a barcode this store knows: a web address, not a GS1 Digital Link ({_shown(data)})"
        )
    return _from_element_strings(uri.element_strings, text)


def _from_element_strings(elements: GS1ElementStrings, text: str) -> ScanResult:
    ais: dict[str, str] = {}
    gtin14 = sscc = lot = serial = None
    expiry: date | None = None
    net_weight_kg: Decimal | None = None
    price: Decimal | None = None
    for element in elements:
        ai = element.ai.ai
        value = element.value
        if ais.setdefault(ai, value) != value:
            return Unknown(text, f"GS1 AI ({ai}) appears twice with different values: misprinted label")
        # biip keeps a bad GTIN/SSCC/GLN as an element with an error; for us it is a misread or a bad label.
        if element.gtin_error or element.sscc_error or element.gln_error:
            return Unknown(text, f"bad check digit in GS1 AI ({ai}) {value}: scan again or check the label")
        if ai == "01":
            gtin14 = value
        elif ai == "00":
            sscc = value
        elif ai == "10":
            lot = value
        elif ai == "17":
            expiry = element.date
        elif ai == "21":
            serial = value
        elif ai.startswith("310"):
            net_weight_kg = element.decimal
        elif ai.startswith("392"):
            price = element.decimal
    if not ais:
        return Unknown(text, "GS1 barcode with no data")
    if sscc is not None and len(ais) == 1:
        return Sscc(sscc=sscc, raw=text)
    return Gs1(
        gtin14=gtin14,
        sscc=sscc,
        lot=lot,
        expiry=expiry,
        serial=serial,
        net_weight_kg=net_weight_kg,
        price=price,
        ais=ais,
        raw=text,
    )


def _match_internal(data: str, text: str, cfg: BarcodeConfig) -> ScanResult | None:
    upper = data.upper()
    for prefix, kind in cfg._prefixes_longest_first:
        if upper.startswith(prefix):
            value = upper[len(prefix) :]
            if not _INTERNAL_VALUE.fullmatch(value):
                return Unknown(
                    text,
                    f"{kind} code {_shown(data)} is malformed: after {prefix!r} only A-Z, 0-9 and single '-' "
                    "between them are allowed",
                )
            return InternalCode(internal_kind=kind, value=value, raw=text)
    return None


def _shown(data: str) -> str:
    """The scan as quoted in a message: GS made visible, long text cut."""
    visible = data.replace(GS, "<GS>")
    return repr(visible if len(visible) <= 40 else visible[:37] + "...")


# --- builders -------------------------------------------------------------------------------------------------


def internal_code(kind: str, value: str, config: BarcodeConfig | None = None) -> str:
    """The barcode text for an internal code: the inverse of `parse` (``parse(internal_code(k, v))`` is
    ``InternalCode(k, v, ...)``). Uses the first prefix configured for `kind`."""
    cfg = DEFAULT_CONFIG if config is None else config
    prefix = next((p for p, k in cfg.internal_prefixes.items() if k == kind), None)
    if prefix is None:
        raise ValueError(f"no internal prefix is configured for kind {kind!r}")
    if not _INTERNAL_VALUE.fullmatch(value):
        raise ValueError(f"internal code value {value!r} must be A-Z, 0-9 and single '-' between them")
    code = prefix + value
    if len(code) > MAX_SCAN_LENGTH:
        raise ValueError(f"internal code is {len(code)} characters; at most {MAX_SCAN_LENGTH} scan")
    # A longer prefix of another kind could swallow this code ("P-" + "S-1" would read as "PS-1").
    parsed = _match_internal(code, code, cfg)
    if not isinstance(parsed, InternalCode) or parsed.internal_kind != kind:
        raise ValueError(f"{code!r} would scan as another kind of code with this store's prefixes")
    return code


def make_variable_measure_code(
    prefix: str, item_ref: str, value: Decimal, config: BarcodeConfig | None = None
) -> str:
    """Build the 13-digit scale label for `item_ref` with `value` (a price, or a weight in kg) under the layout
    for `prefix`. Refuses a value with more decimals than the layout holds rather than rounding it."""
    cfg = DEFAULT_CONFIG if config is None else config
    layout = next((lay for lay in cfg.variable_measure if lay.prefix == prefix), None)
    if layout is None:
        raise ValueError(f"no variable-measure layout for prefix {prefix!r}")
    if len(item_ref) != layout.item_ref_digits or not _ASCII_DIGITS.fullmatch(item_ref):
        raise ValueError(f"item_ref must be {layout.item_ref_digits} digits, got {item_ref!r}")
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValueError(f"value must be a finite, non-negative Decimal, got {value!r}")
    scaled = value.scaleb(layout.decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {layout.decimals} decimals")
    units = int(scaled)
    if units >= 10**layout.value_digits:
        raise ValueError(f"{value} does not fit {layout.value_digits} digits with {layout.decimals} decimals")
    value_digits = str(units).zfill(layout.value_digits)
    price_check = str(_price_weight_check_digit(value_digits)) if layout.price_check_digit else ""
    body = layout.prefix + item_ref + price_check + value_digits
    return body + str(gtin_check_digit(body))
