"""Decoders read real generated barcodes, and GS1 symbols come back as element strings the GS1 parser reads."""

from __future__ import annotations

import biip
import cv2
import numpy as np
import pytest
import zxingcpp

from devices.scanners.decoders import PyzbarDecoder, Read, ZxingDecoder, make_decoder

GS1_HRI = "(01)09506000134352(17)201225(10)ABC123(21)XYZ"
GS1_ELEMENT_STRING = "01095060001343521720122510ABC123\x1d21XYZ"


def frame_of(content: str, fmt: zxingcpp.BarcodeFormat, *, gs1: bool = False, bgr: bool = True) -> np.ndarray:
    """A camera-like frame: the code at 3 px per module, centred on a white background of 640x480 or more."""
    kwargs = {"gs1": True} if gs1 else {}
    code = np.asarray(zxingcpp.create_barcode(content, fmt, **kwargs).to_image(scale=3))
    height, width = max(480, code.shape[0] + 60), max(640, code.shape[1] + 60)
    frame = np.full((height, width), 255, np.uint8)
    y, x = (height - code.shape[0]) // 2, (width - code.shape[1]) // 2
    frame[y : y + code.shape[0], x : x + code.shape[1]] = code
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if bgr else frame


DECODERS = [ZxingDecoder(), PyzbarDecoder()]
IDS = [d.name for d in DECODERS]

RETAIL = [
    ("4006381333931", zxingcpp.BarcodeFormat.EAN13, Read("4006381333931", "EAN-13")),
    ("96385074", zxingcpp.BarcodeFormat.EAN8, Read("96385074", "EAN-8")),
    # UPC-A comes out in its EAN-13 form from both decoders (same bars).
    ("036000291452", zxingcpp.BarcodeFormat.UPCA, Read("0036000291452", "EAN-13")),
    ("RET-0001-02-000042", zxingcpp.BarcodeFormat.Code128, Read("RET-0001-02-000042", "Code 128")),
    # A Code 128 that merely looks like GS1 data is not GS1: no identifier may be invented for it.
    ("0109506000134352", zxingcpp.BarcodeFormat.Code128, Read("0109506000134352", "Code 128")),
    (
        "https://example.com/o/42?x=ü",
        zxingcpp.BarcodeFormat.QRCode,
        Read("https://example.com/o/42?x=ü", "QR Code"),
    ),
]


@pytest.mark.parametrize("decoder", DECODERS, ids=IDS)
@pytest.mark.parametrize(("content", "fmt", "expected"), RETAIL, ids=[r[0] for r in RETAIL])
def test_reads_plain_codes(decoder: ZxingDecoder | PyzbarDecoder, content: str, fmt, expected: Read) -> None:
    assert decoder.decode(frame_of(content, fmt)) == [expected]
    assert decoder.decode(frame_of(content, fmt, bgr=False)) == [expected]


@pytest.mark.parametrize("decoder", DECODERS, ids=IDS)
def test_gs1_128_is_an_element_string_with_c1(decoder: ZxingDecoder | PyzbarDecoder) -> None:
    reads = decoder.decode(frame_of(GS1_HRI, zxingcpp.BarcodeFormat.Code128, gs1=True))
    assert reads == [Read("]C1" + GS1_ELEMENT_STRING, "Code 128")]
    parsed = biip.parse(reads[0].text)
    assert parsed.gs1_message is not None
    assert [(e.ai.ai, e.value) for e in parsed.gs1_message.element_strings] == [
        ("01", "09506000134352"),
        ("17", "201225"),
        ("10", "ABC123"),
        ("21", "XYZ"),
    ]


def test_gs1_datamatrix_is_an_element_string_with_d2() -> None:
    reads = ZxingDecoder().decode(frame_of(GS1_HRI, zxingcpp.BarcodeFormat.DataMatrix, gs1=True))
    assert reads == [Read("]d2" + GS1_ELEMENT_STRING, "DataMatrix")]
    parsed = biip.parse(reads[0].text)
    assert parsed.symbology_identifier is not None
    assert parsed.symbology_identifier.gs1_symbology is not None  # "]d8" as zxing-cpp says would not be
    assert parsed.gs1_message is not None
    assert {e.ai.ai: e.value for e in parsed.gs1_message.element_strings}["10"] == "ABC123"


@pytest.mark.parametrize("decoder", DECODERS, ids=IDS)
def test_gs1_qr_is_an_element_string_with_q3(decoder: ZxingDecoder | PyzbarDecoder) -> None:
    reads = decoder.decode(
        frame_of("(01)09506000134352(10)L1(21)S9", zxingcpp.BarcodeFormat.QRCode, gs1=True)
    )
    assert reads == [Read("]Q3010950600013435210L1\x1d21S9", "QR Code")]


def test_plain_datamatrix_has_no_gs1_identifier() -> None:
    reads = ZxingDecoder().decode(frame_of("BIN-A-03", zxingcpp.BarcodeFormat.DataMatrix))
    assert reads == [Read("BIN-A-03", "DataMatrix")]


def test_pyzbar_cannot_read_datamatrix() -> None:
    assert PyzbarDecoder().decode(frame_of(GS1_HRI, zxingcpp.BarcodeFormat.DataMatrix, gs1=True)) == []


@pytest.mark.parametrize("decoder", DECODERS, ids=IDS)
def test_empty_and_noise_frames_give_nothing(decoder: ZxingDecoder | PyzbarDecoder) -> None:
    rng = np.random.default_rng(7)
    assert decoder.decode(np.full((480, 640, 3), 255, np.uint8)) == []
    assert decoder.decode(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)) == []


@pytest.mark.parametrize("decoder", DECODERS, ids=IDS)
def test_several_codes_in_one_frame(decoder: ZxingDecoder | PyzbarDecoder) -> None:
    left = frame_of("4006381333931", zxingcpp.BarcodeFormat.EAN13, bgr=False)
    right = frame_of("SHELF-12", zxingcpp.BarcodeFormat.Code128, bgr=False)
    both = np.hstack([left, right])
    assert sorted(decoder.decode(both), key=lambda r: r.text) == [
        Read("4006381333931", "EAN-13"),
        Read("SHELF-12", "Code 128"),
    ]


@pytest.mark.parametrize("name", ["zxing-cpp", "pyzbar"])
def test_symbology_filter(name: str) -> None:
    only_qr = make_decoder(name, symbologies=["QR Code"])
    assert only_qr.decode(frame_of("4006381333931", zxingcpp.BarcodeFormat.EAN13)) == []
    assert only_qr.decode(frame_of("Q-1", zxingcpp.BarcodeFormat.QRCode)) == [Read("Q-1", "QR Code")]


def test_make_decoder() -> None:
    assert isinstance(make_decoder(None), ZxingDecoder)  # the benchmark's winner
    assert isinstance(make_decoder("pyzbar"), PyzbarDecoder)
    assert isinstance(make_decoder("ZXing-cpp"), ZxingDecoder)
    with pytest.raises(ValueError, match="unknown decoder"):
        make_decoder("opencv")
    with pytest.raises(ValueError, match="unknown symbologies"):
        make_decoder(None, symbologies=["Code 11"])


def test_rejects_frames_that_are_not_images() -> None:
    with pytest.raises(ValueError):
        PyzbarDecoder().decode(np.zeros((4, 4, 2), np.uint8))
