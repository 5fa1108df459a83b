"""Barcode decoders for camera frames: one small interface over zxing-cpp and pyzbar.

This module owns turning an image (a numpy BGR or grayscale frame) into the strings a hardware scanner would
have sent, so the rest of the app parses camera scans and scanner-gun scans the same way:

- GS1 symbols (GS1-128, GS1 DataMatrix, GS1 QR, GS1 DataBar) come out as an element string with ASCII GS
  (``\\x1d``) separators behind the GS1 symbology identifier (``]C1``, ``]d2``, ``]Q3``, ``]e0``), which is the
  form the GS1 parser (biip) reads. zxing-cpp 3.1 marks them with ``ContentType.GS1`` and a symbology identifier
  of its own (``]d8`` for DataMatrix, which biip does not take for GS1), so the identifier is set from the format.
  zbar marks them with its GS1 modifier, which pyzbar does not expose, so `PyzbarDecoder` asks libzbar for it
  through pyzbar's own ctypes wrapper.
- UPC-A comes out in its 13-digit EAN-13 form (a leading ``0``) from both decoders, as both libraries do by
  default: the bars of a UPC-A and of an EAN-13 starting with 0 are the same, so no decoder can tell them apart.
- Symbology names are zxing-cpp's ("EAN-13", "Code 128", "QR Code", "DataMatrix", ...).

`make_decoder(None)` returns the default decoder, chosen from `benchmarks/decoders.py` (zxing-cpp: it reads
DataMatrix, which zbar cannot, and reads more of the rotated, blurred and small codes).
A decoder instance is meant to be used from one thread at a time (one per camera).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import zxingcpp
from pyzbar import wrapper as zbar
from pyzbar.pyzbar import ZBarSymbol

__all__ = [
    "DEFAULT_DECODER",
    "SYMBOLOGIES",
    "Decoder",
    "PyzbarDecoder",
    "Read",
    "ZxingDecoder",
    "make_decoder",
]


@dataclass(frozen=True, slots=True)
class Read:
    """One decoded symbol: the text a scanner would send and the symbology it came from."""

    text: str
    symbology: str


class Decoder(Protocol):
    """Anything that finds barcodes in a frame."""

    name: str

    def decode(self, frame: np.ndarray) -> list[Read]:
        """Return every symbol found in a BGR (H, W, 3) or grayscale (H, W) uint8 frame."""
        ...


# Our symbology names -> (zxing-cpp format, zbar symbol or None where zbar cannot read it).
# UPC-A is read as EAN-13 by zbar (its UPC-A switch would drop the leading 0 and disagree with zxing-cpp).
SYMBOLOGIES: dict[str, tuple[zxingcpp.BarcodeFormat, ZBarSymbol | None]] = {
    "EAN-13": (zxingcpp.BarcodeFormat.EAN13, ZBarSymbol.EAN13),
    "EAN-8": (zxingcpp.BarcodeFormat.EAN8, ZBarSymbol.EAN8),
    "UPC-A": (zxingcpp.BarcodeFormat.UPCA, ZBarSymbol.EAN13),
    "UPC-E": (zxingcpp.BarcodeFormat.UPCE, ZBarSymbol.UPCE),
    "Code 128": (zxingcpp.BarcodeFormat.Code128, ZBarSymbol.CODE128),
    "Code 39": (zxingcpp.BarcodeFormat.Code39, ZBarSymbol.CODE39),
    "Code 93": (zxingcpp.BarcodeFormat.Code93, ZBarSymbol.CODE93),
    "ITF": (zxingcpp.BarcodeFormat.ITF, ZBarSymbol.I25),
    "Codabar": (zxingcpp.BarcodeFormat.Codabar, ZBarSymbol.CODABAR),
    "DataBar": (zxingcpp.BarcodeFormat.DataBar, ZBarSymbol.DATABAR),
    "DataBar Expanded": (zxingcpp.BarcodeFormat.DataBarExp, ZBarSymbol.DATABAR_EXP),
    "QR Code": (zxingcpp.BarcodeFormat.QRCode, ZBarSymbol.QRCODE),
    "DataMatrix": (zxingcpp.BarcodeFormat.DataMatrix, None),
    "PDF417": (zxingcpp.BarcodeFormat.PDF417, None),
    "Aztec": (zxingcpp.BarcodeFormat.Aztec, None),
}

# zbar's names -> ours (zbar's ISBN/UPC variants are switched off, see SYMBOLOGIES).
_ZBAR_NAMES: dict[str, str] = {
    "EAN13": "EAN-13",
    "EAN8": "EAN-8",
    "UPCA": "EAN-13",
    "UPCE": "UPC-E",
    "CODE128": "Code 128",
    "CODE39": "Code 39",
    "CODE93": "Code 93",
    "I25": "ITF",
    "CODABAR": "Codabar",
    "DATABAR": "DataBar",
    "DATABAR_EXP": "DataBar Expanded",
    "QRCODE": "QR Code",
}

# The symbology identifier (ISO/IEC 15424) that announces a GS1 element string in each symbology, as GS1's
# General Specifications list them and biip reads them.
_GS1_IDENTIFIERS: dict[str, str] = {
    "Code 128": "]C1",
    "DataMatrix": "]d2",
    "QR Code": "]Q3",
    "DataBar": "]e0",
    "DataBar Expanded": "]e0",
    "DataBar Limited": "]e0",
}

GS = "\x1d"


def _gs1_text(symbology: str, element_string: str, fallback_identifier: str) -> str:
    """Put the GS1 identifier in front of an element string, dropping a leading FNC1-as-GS if any."""
    identifier = _GS1_IDENTIFIERS.get(symbology, fallback_identifier)
    return identifier + element_string.lstrip(GS)


def _to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"expected a gray or BGR frame, got shape {frame.shape}")


def _wanted(symbologies: Iterable[str] | None) -> list[str]:
    names = list(SYMBOLOGIES) if symbologies is None else list(symbologies)
    unknown = [n for n in names if n not in SYMBOLOGIES]
    if unknown:
        raise ValueError(f"unknown symbologies {unknown}; known: {sorted(SYMBOLOGIES)}")
    return names


class ZxingDecoder:
    """zxing-cpp (3.x) `read_barcodes`, all rotations, inverted codes and downscaling on."""

    name = "zxing-cpp"

    def __init__(self, symbologies: Iterable[str] | None = None) -> None:
        self._formats = zxingcpp.BarcodeFormats([SYMBOLOGIES[n][0] for n in _wanted(symbologies)])

    def decode(self, frame: np.ndarray) -> list[Read]:
        # zxing-cpp takes BGR or gray numpy arrays directly; it needs them C-contiguous (crops and flips are not).
        image = np.ascontiguousarray(frame)
        # TextMode.Plain gives the content as sent (GS stays \x1d), not the human-readable "(01)..." form.
        results = zxingcpp.read_barcodes(image, formats=self._formats, text_mode=zxingcpp.TextMode.Plain)
        reads: list[Read] = []
        for result in results:
            symbology = _zxing_name(result.format)
            text = result.text
            if result.content_type == zxingcpp.ContentType.GS1:
                text = _gs1_text(symbology, text, result.symbology_identifier)
            elif result.format == zxingcpp.BarcodeFormat.UPCA and len(text) == 12:
                symbology, text = "EAN-13", "0" + text
            elif symbology == "UPC-A":
                symbology = "EAN-13"
            reads.append(Read(text=text, symbology=symbology))
        return reads


def _zxing_name(fmt: zxingcpp.BarcodeFormat) -> str:
    for name, (zx, _zb) in SYMBOLOGIES.items():
        if zx == fmt:
            return name
    return str(fmt)


# libzbar calls that pyzbar declares, plus the two it leaves out (type and modifiers), declared the same way
# through pyzbar's loader so both share one loaded library.
_zbar_symbol_get_type = zbar.zbar_function(
    "zbar_symbol_get_type", ctypes.c_int, ctypes.POINTER(zbar.zbar_symbol)
)
_zbar_symbol_get_modifiers = zbar.zbar_function(
    "zbar_symbol_get_modifiers", ctypes.c_uint, ctypes.POINTER(zbar.zbar_symbol)
)
_ZBAR_MOD_GS1 = 1 << 0  # zbar.h: ZBAR_MOD_GS1 = 0, a bit index into the modifier mask
_FOURCC_Y800 = ord("Y") | ord("8") << 8 | ord("0") << 16 | ord("0") << 24


class PyzbarDecoder:
    """zbar through pyzbar's ctypes wrapper. Reads 1D codes and QR, not DataMatrix."""

    name = "pyzbar"

    def __init__(self, symbologies: Iterable[str] | None = None) -> None:
        wanted = _wanted(symbologies)
        self._enabled = {sym for n in wanted if (sym := SYMBOLOGIES[n][1]) is not None}

    def decode(self, frame: np.ndarray) -> list[Read]:
        gray = _to_gray(frame)
        height, width = gray.shape
        pixels = gray.tobytes()  # kept referenced until the scan is done: zbar reads it in place
        reads: list[Read] = []
        scanner = zbar.zbar_image_scanner_create()
        try:
            for symbol in ZBarSymbol:
                if symbol is ZBarSymbol.NONE:
                    continue
                enable = 1 if symbol in self._enabled else 0
                zbar.zbar_image_scanner_set_config(scanner, symbol, zbar.ZBarConfig.CFG_ENABLE, enable)
            image = zbar.zbar_image_create()
            try:
                zbar.zbar_image_set_format(image, _FOURCC_Y800)
                zbar.zbar_image_set_size(image, width, height)
                zbar.zbar_image_set_data(
                    image, ctypes.cast(ctypes.c_char_p(pixels), ctypes.c_void_p), len(pixels), None
                )
                if zbar.zbar_scan_image(scanner, image) < 0:
                    raise ValueError("zbar refused the image")
                symbol_ptr = zbar.zbar_image_first_symbol(image)
                while symbol_ptr:
                    reads.append(_zbar_read(symbol_ptr))
                    symbol_ptr = zbar.zbar_symbol_next(symbol_ptr)
            finally:
                zbar.zbar_image_destroy(image)
        finally:
            zbar.zbar_image_scanner_destroy(scanner)
        return reads


def _zbar_read(symbol_ptr: object) -> Read:
    data = ctypes.string_at(
        zbar.zbar_symbol_get_data(symbol_ptr), zbar.zbar_symbol_get_data_length(symbol_ptr)
    )
    zbar_name = ZBarSymbol(_zbar_symbol_get_type(symbol_ptr)).name
    symbology = _ZBAR_NAMES.get(zbar_name, zbar_name)
    # zbar hands QR text over as UTF-8 and 1D codes as bytes < 0x80; anything else is shown, not dropped.
    text = data.decode("utf-8", errors="replace")
    if zbar_name == "UPCA" and len(text) == 12:
        text = "0" + text
    if _zbar_symbol_get_modifiers(symbol_ptr) & _ZBAR_MOD_GS1:
        text = _gs1_text(symbology, text, "")
    return Read(text=text, symbology=symbology)


DEFAULT_DECODER = "zxing-cpp"

_DECODERS: dict[str, type[ZxingDecoder] | type[PyzbarDecoder]] = {
    "zxing-cpp": ZxingDecoder,
    "zxing": ZxingDecoder,
    "pyzbar": PyzbarDecoder,
    "zbar": PyzbarDecoder,
}


def make_decoder(name: str | None = None, symbologies: Iterable[str] | None = None) -> Decoder:
    """Build a decoder by name ("zxing-cpp" or "pyzbar"); None gives the default (the benchmark's winner)."""
    key = DEFAULT_DECODER if name is None else name.strip().lower()
    try:
        cls = _DECODERS[key]
    except KeyError:
        raise ValueError(f"unknown decoder {name!r}; choose one of {sorted(_DECODERS)}") from None
    return cls(symbologies)
