"""The camera's fast path (decode only where a code can be) reads every code the whole frame reads."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

from devices.scanners.camera import CameraScanner
from devices.scanners.decoders import PyzbarDecoder, Read, ZxingDecoder
from devices.scanners.regions import STILL_FRAMES, RegionDecoder, candidate_boxes

F = zxingcpp.BarcodeFormat
CODES = [
    ("4006381333931", F.EAN13, False),
    ("96385074", F.EAN8, False),
    ("RET-0001-02-000042", F.Code128, False),
    ("(01)09506000134352(10)L42", F.Code128, True),
    ("https://shop.example/o/000042", F.QRCode, False),
    ("(01)09506000134352(17)261231(10)LOT042", F.DataMatrix, True),
]


def page(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A light, uneven page with sensor noise, as a counter camera sees it."""
    base = np.linspace(200, 245, width, dtype=np.float32)[None, :].repeat(height, 0)
    base += rng.normal(0, 5, (height, width)).astype(np.float32)
    return np.clip(base, 0, 255).astype(np.uint8)


def scene(
    content: str, fmt: F, gs1: bool, scale: int, where: str, angle: float, contrast: float
) -> np.ndarray:
    rng = np.random.default_rng(abs(hash((content, scale, where, angle))) % 2**32)
    code = np.asarray(
        zxingcpp.create_barcode(content, fmt, **({"gs1": True} if gs1 else {})).to_image(scale=scale)
    )
    # Print contrast: black ink gives bars of 0, a faded label greyer ones.
    code = (255 - (255 - code.astype(np.float32)) * contrast).astype(np.uint8)
    height, width = 720, 1280
    frame = page(height, width, rng)
    h, w = code.shape
    if h > height - 10 or w > width - 10:
        pytest.skip("the code does not fit the frame at this size")
    y = {"centre": (height - h) // 2, "corner": 5, "edge": height - h - 5}[where]
    x = {"centre": (width - w) // 2, "corner": 5, "edge": (width - w) // 3}[where]
    patch = frame[y : y + h, x : x + w]
    frame[y : y + h, x : x + w] = np.minimum(patch, code)
    if angle:
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        frame = cv2.warpAffine(frame, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=225)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


CASES = [
    (content, fmt, gs1, scale, where, angle, contrast)
    for content, fmt, gs1 in CODES
    for scale, where, angle, contrast in (
        (1, "centre", 0, 1.0),  # 1 px per module: at the edge of what a decoder reads at all
        (2, "corner", 0, 1.0),
        (3, "edge", 7, 0.6),
        (4, "centre", 30, 1.0),
        (2, "centre", 0, 0.35),  # a faded label
        (8, "centre", 0, 1.0),  # a close-up
    )
]


@pytest.mark.parametrize("decoder", [ZxingDecoder(), PyzbarDecoder()], ids=["zxing-cpp", "pyzbar"])
@pytest.mark.parametrize(
    ("content", "fmt", "gs1", "scale", "where", "angle", "contrast"),
    CASES,
    ids=[f"{c[1].name}-x{c[3]}-{c[4]}-{c[5]}deg-{c[6]}" for c in CASES],
)
def test_the_fast_path_reads_what_the_whole_frame_reads(
    decoder: ZxingDecoder | PyzbarDecoder,
    content: str,
    fmt: F,
    gs1: bool,
    scale: int,
    where: str,
    angle: float,
    contrast: float,
) -> None:
    frame = scene(content, fmt, gs1, scale, where, angle, contrast)
    # What this decoder reads from the code printed clean: a whole-frame read of anything else is a misread
    # (zbar now and then finds an ITF inside a Code 128), which the fast path need not repeat.
    drawn = set(decoder.decode(scene(content, fmt, gs1, 3, "centre", 0, 1.0)))
    if not drawn:
        pytest.skip(f"{decoder.name} does not read {fmt.name} at all")
    whole = set(decoder.decode(frame)) & drawn
    fast = set(RegionDecoder(decoder).decode(frame))
    assert whole <= fast


def test_an_empty_frame_has_no_boxes_and_a_code_one_box_around_it() -> None:
    empty = cv2.cvtColor(scene("4006381333931", F.EAN13, False, 3, "centre", 0, 0.0), cv2.COLOR_BGR2GRAY)
    assert candidate_boxes(empty) == []
    gray = cv2.cvtColor(scene("4006381333931", F.EAN13, False, 3, "corner", 0, 1.0), cv2.COLOR_BGR2GRAY)
    boxes = candidate_boxes(gray)
    assert boxes is not None and len(boxes) == 1
    x0, y0, x1, y1 = boxes[0]
    assert x0 == 0 and y0 == 0 and x1 < 800 and y1 < 450  # the code's corner of the frame, not the frame


def test_two_codes_far_apart_are_both_read() -> None:
    left = scene("4006381333931", F.EAN13, False, 3, "corner", 0, 1.0)
    right = scene("RET-0001-02-000042", F.Code128, False, 2, "edge", 0, 1.0)
    frame = np.minimum(left, right)
    texts = {r.text for r in RegionDecoder(ZxingDecoder()).decode(frame)}
    assert texts == {"4006381333931", "RET-0001-02-000042"}


def test_a_busy_frame_is_decoded_whole() -> None:
    # Eighteen codes apart from each other: more boxes than are worth decoding one by one.
    frame = np.full((720, 1280), 230, np.uint8)
    qr = np.asarray(zxingcpp.create_barcode("https://shop.example/o/1", F.QRCode).to_image(scale=2))
    for row in range(3):
        for col in range(6):
            y, x = 20 + row * 230, 20 + col * 210
            frame[y : y + qr.shape[0], x : x + qr.shape[1]] = qr
    assert candidate_boxes(frame) is None
    # Edges everywhere (a texture, or noise past any code's contrast): nothing to tell apart either.
    rng = np.random.default_rng(3)
    assert candidate_boxes(rng.integers(0, 255, (720, 1280), np.uint8)) is None


def test_a_noisy_frame_still_has_one_box_around_its_code() -> None:
    """A dim scene's sensor noise is edges everywhere; the threshold rises over it and the code stays a box."""
    clean = cv2.cvtColor(scene("4006381333931", F.EAN13, False, 3, "centre", 0, 1.0), cv2.COLOR_BGR2GRAY)
    noise = np.random.default_rng(5).normal(0, 28, clean.shape)
    noisy = np.clip(clean.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    boxes = candidate_boxes(noisy)
    assert boxes is not None and len(boxes) == 1
    x0, y0, x1, y1 = boxes[0]
    assert (x1 - x0) * (y1 - y0) < 0.15 * 1280 * 720
    # The whole frame reads it only shrunk by 3 (the noise averages out); the box is tried that way too.
    decoder = ZxingDecoder()
    assert [r.text for r in decoder.decode(noisy)] == ["4006381333931"]
    assert zxingcpp.read_barcodes(noisy, try_downscale=False) == []
    assert [r.text for r in RegionDecoder(decoder).decode(noisy)] == ["4006381333931"]


def test_a_code_too_fine_for_a_third_of_the_size_is_read_at_full_size() -> None:
    """The fast path tries each box at a third of the size first; a code at 1 px per module only reads at
    full size."""
    frame = cv2.cvtColor(scene("RET-0001-02-000042", F.Code128, False, 1, "edge", 0, 1.0), cv2.COLOR_BGR2GRAY)
    decoder = ZxingDecoder()
    third = cv2.resize(frame, (1280 // 3, 720 // 3), interpolation=cv2.INTER_AREA)
    assert decoder.decode(third) == []
    assert [r.text for r in RegionDecoder(decoder).decode(frame)] == ["RET-0001-02-000042"]


def test_lines_across_the_frame_are_not_boxes() -> None:
    """The counter's edge and a rotated frame's border are long thin edges, not codes: no box to decode."""
    frame = np.full((720, 1280), 225, np.uint8)
    frame[600:] = 70
    cv2.line(frame, (0, 100), (1279, 260), 40, 2)
    assert candidate_boxes(frame) == []


def test_the_camera_uses_the_fast_path_unless_told_not_to() -> None:
    camera = CameraScanner(0, ZxingDecoder(), lambda code: None)
    assert isinstance(camera.decoder, RegionDecoder)
    plain = CameraScanner(0, ZxingDecoder(), lambda code: None, fast_path=False)
    assert isinstance(plain.decoder, ZxingDecoder)
    frame = scene("4006381333931", F.EAN13, False, 3, "centre", 0, 1.0)
    assert camera.process_frame(frame) == ["4006381333931"]


class CountingDecoder:
    """zxing-cpp, counting the full-size decodes (pictures bigger than a third of the box)."""

    def __init__(self) -> None:
        self.inner = ZxingDecoder()
        self.name = self.inner.name
        self.pictures: list[tuple[int, int]] = []

    def decode(self, frame: np.ndarray) -> list[Read]:
        self.pictures.append(frame.shape[:2])
        return self.inner.decode(frame)


def printed_lines(rng: np.random.Generator) -> np.ndarray:
    """A printed label: a thick border round two lines of text, one box to the fast path."""
    frame = page(720, 1280, rng)
    cv2.rectangle(frame, (60, 40), (900, 320), 40, 14)
    for y in (100, 290):
        cv2.putText(frame, "Harbour Store  Lot 4445  Best before 12/2027", (100, y), 0, 1.2, 40, 2)
    return frame


def test_a_still_box_that_read_nothing_waits_but_a_code_coming_into_it_is_read_at_once() -> None:
    rng = np.random.default_rng(11)
    decoder = CountingDecoder()
    fast = RegionDecoder(decoder)
    text = printed_lines(rng)
    # A code of 1 px per module (only full size reads it) between the printed lines: inside their box.
    code = np.asarray(zxingcpp.create_barcode("RET-0001-02-000042", F.Code128).to_image(scale=1))
    with_code = text.copy()
    with_code[150 : 150 + code.shape[0], 400 : 400 + code.shape[1]] = np.minimum(
        with_code[150 : 150 + code.shape[0], 400 : 400 + code.shape[1]], code
    )
    assert candidate_boxes(text) == candidate_boxes(with_code)

    def noisy(frame: np.ndarray) -> np.ndarray:
        return np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)

    assert fast.decode(noisy(text)) == []
    first = len(decoder.pictures)
    assert fast.decode(noisy(text)) == []
    # The same lines again: tried at a third of the size only.
    assert len(decoder.pictures) - first < first
    assert [r.text for r in fast.decode(noisy(with_code))] == ["RET-0001-02-000042"]


def test_a_still_box_is_decoded_at_full_size_again_every_few_frames() -> None:
    """In case a code changed too little to tell (came into focus without moving), a still box gets its
    full-size pass again after STILL_FRAMES frames without one."""
    rng = np.random.default_rng(12)
    text = printed_lines(rng)
    decoder = CountingDecoder()
    fast = RegionDecoder(decoder)
    full_size: list[int] = []
    for _ in range(2 * (STILL_FRAMES + 1)):
        decoder.pictures.clear()
        assert fast.decode(np.clip(text + rng.normal(0, 2, text.shape), 0, 255).astype(np.uint8)) == []
        largest = max(h * w for h, w in decoder.pictures)
        full_size.append(
            sum(h * w == largest for h, w in decoder.pictures) if len(decoder.pictures) > 1 else 0
        )
    assert full_size == ([1] + [0] * STILL_FRAMES) * 2
