"""Device throughput: camera frames decoded per second, and a 40-line receipt built and encoded to ESC/POS.

    .venv/bin/python benchmarks/devices.py [--quick] [--seconds S] [--receipts N] [--variants K]

Camera stream: a counter scene (printed lines, a hand's shadow, the counter's edge; `counter`) with an EAN-13 at
3 px per module held somewhere in it, or without it (most of what a counter camera sees), each frame with fresh
sensor noise, in BGR as a camera delivers them, goes through `CameraScanner.process_frame` (decode, then the
hold-off that reports a code once) for a fixed time: frames per second for zxing-cpp and pyzbar at 640x480 and
1280x720, with the camera's fast path (`devices.scanners.regions`) and without it (the whole frame decoded).
Camera read rate: every symbology of `benchmarks/decoders.py`, six ways spoiled (rotated, blurred, noisy, small),
anywhere on a different counter scene each, 1280x720: codes read by the fast path and by the whole frame, and
frames per second (every frame a new scene, so nothing is remembered from the frame before).
Speeds are given by the clock and by the thread's CPU time: on a machine shared with other work the clock
shows the load, the CPU time what the decode costs.
Receipt: `build_receipt` lays out 40 lines (weighed, discounted and voided among them) as a
`Document` and `render(document, "escpos")` encodes it through python-escpos' Dummy printer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

# Run as a script, this folder comes first on sys.path and this very file would be imported as `devices`.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]
os.environ.setdefault(
    "ESCPOS_CAPABILITIES_PICKLE_DIR", os.path.join(tempfile.gettempdir(), "counterline-escpos")
)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import zxingcpp  # noqa: E402

from app.documents.receipt import (  # noqa: E402
    ReceiptData,
    ReceiptLine,
    TaxSummaryRow,
    TenderLine,
    build_receipt,
)
from benchmarks.decoders import SYMBOLS, background, conditions, place, render  # noqa: E402
from benchmarks.lookup import pct  # noqa: E402
from devices.printers import render as render_document  # noqa: E402
from devices.scanners.camera import CameraScanner  # noqa: E402
from devices.scanners.decoders import Decoder, PyzbarDecoder, ZxingDecoder  # noqa: E402

CODE = "4006381333931"
SIZES = [(480, 640), (720, 1280)]
CAMERA_FPS = 30  # a common webcam rate: below it the decoder drops frames


def frames(
    height: int, width: int, with_code: bool, count: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """`count` frames of one counter scene (`counter`: printed lines, a shadow, the counter's edge), with the
    code held somewhere in it or not, each with fresh sensor noise; BGR like `cv2.VideoCapture.read()`."""
    ean = render(CODE, zxingcpp.BarcodeFormat.EAN13, False)
    scene = (
        place(ean, height, width, rng, counter, anywhere=True) if with_code else counter(height, width, rng)
    )
    out = []
    for _ in range(count):
        gray = np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8)
        out.append(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    return out


def camera_fps(
    decoder: Decoder, shots: list[np.ndarray], seconds: float, expect: bool, fast_path: bool = True
) -> tuple[float, float]:
    """Frames per second through the camera worker's per-frame step, for at least `seconds`: by the clock, and
    by this thread's CPU time (what an unloaded machine would see; other processes share this one)."""
    reads: list[str] = []
    camera = CameraScanner(0, decoder, reads.append, hold_off_s=3600, fast_path=fast_path)
    for shot in shots[:2]:  # warm-up, and a check that the code is read at all
        camera.process_frame(shot)
    if expect and CODE not in reads:
        raise RuntimeError(f"{decoder.name} did not read the test code")
    done = 0
    start, cpu = time.perf_counter(), time.thread_time()
    while (elapsed := time.perf_counter() - start) < seconds or done < len(shots):
        camera.process_frame(shots[done % len(shots)])
        done += 1
    return done / elapsed, done / (time.thread_time() - cpu)


def counter(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A counter as a till camera sees it: an uneven page with printed lines across its top, a hand's soft
    shadow somewhere and the dark counter edge along the bottom."""
    frame = background(height, width, rng)
    for _ in range(int(rng.integers(3, 7))):
        x = int(rng.integers(0, width // 2))
        y = int(rng.integers(20, max(21, height // 5)))
        text = f"Harbour Store  Lot {int(rng.integers(1000, 9999))}  Best before 12/2027"
        cv2.putText(
            frame, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(0.5, 1.0)), 50, 1, cv2.LINE_AA
        )
    shadow = np.zeros((height, width), np.float32)
    centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
    cv2.ellipse(shadow, centre, (width // 8, height // 5), float(rng.uniform(0, 180)), 0, 360, 60.0, -1)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 25)
    edge = height - int(rng.integers(height // 14, height // 7))
    frame = np.clip(frame.astype(np.float32) - shadow, 0, 255)
    frame[edge:] = frame[edge:] * 0.35
    return frame.astype(np.uint8)


def scene_set(
    variants: int, height: int, width: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, str]]:
    """(BGR frame, expected text): each symbology of `benchmarks/decoders.py` six ways, anywhere on a counter."""
    out = []
    for _name, fmt, gs1, content_of, expected_of in SYMBOLS:
        for i in range(variants):
            content = content_of(i + 1)
            for frame in conditions(render(content, fmt, gs1), rng, height, width, counter).values():
                out.append((cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), expected_of(content)))
    return out


def read_set(
    decoder: Decoder, shots: list[tuple[np.ndarray, str]], fast_path: bool
) -> tuple[set[int], float, float]:
    """The frames whose code was read (exactly the expected text), every frame of the set decoded once, and
    frames per second by the clock and by CPU time (as `camera_fps`)."""
    camera = CameraScanner(0, decoder, lambda code: None, fast_path=fast_path)
    read: set[int] = set()
    start, cpu = time.perf_counter(), time.thread_time()
    for i, (frame, expected) in enumerate(shots):
        if any(r.text == expected for r in camera.decoder.decode(frame)):
            read.add(i)
    return read, len(shots) / (time.perf_counter() - start), len(shots) / (time.thread_time() - cpu)


def receipt_data(lines: int) -> ReceiptData:
    """A 40-line basket as the sales service hands it to the receipt: figures already computed."""
    items = []
    for i in range(lines):
        if i % 9 == 4:
            qty, unit, price = Decimal("0.734") + Decimal(i) / 1000, "kg", Decimal("2.99")
        else:
            qty, unit, price = Decimal(1 + i % 3), "ea", Decimal(f"{1 + i % 23}.{(i * 37) % 100:02d}")
        amount = (qty * price).quantize(Decimal("0.01"))
        discount = None
        if i % 7 == 3:
            discount = "10% off: promo"
            amount -= (amount / 10).quantize(Decimal("0.01"))
        items.append(
            ReceiptLine(
                f"Harbour item number {i + 1} Family Pack", qty, unit, price, amount, discount, i % 17 == 16
            )
        )
    total = sum((x.amount for x in items if not x.voided), Decimal(0))
    std = (total * Decimal("0.6")).quantize(Decimal("0.01"))
    tax_std = (std * Decimal("0.23") / Decimal("1.23")).quantize(Decimal("0.01"))
    return ReceiptData(
        store_name="Counterline Demo Store",
        address_lines=["1 Harbour Street", "Dublin D02 XY45"],
        receipt_number="S001-01-000123",
        timestamp=datetime(2026, 3, 1, 17, 5, tzinfo=UTC),
        tz_name="Europe/Dublin",
        cashier="Casey",
        terminal="01",
        lines=items,
        subtotal=total,
        tax_rows=[
            TaxSummaryRow("STD", Decimal("0.23"), std - tax_std, tax_std),
            TaxSummaryRow("ZERO", Decimal("0"), total - std, Decimal(0)),
        ],
        tax_total=tax_std,
        total=total,
        tenders=[
            TenderLine("Card", total - Decimal(20), card_last4="4242", approval_code="A1B2C3"),
            TenderLine("Cash", Decimal(20)),
        ],
        customer="Jordan Byrne",
        footer=["Thank you for shopping with us", "Returns within 30 days with this receipt"],
        currency="EUR",
        locale="en_IE",
    )


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs (a few seconds)")
    ap.add_argument("--seconds", type=float, help="decode time per cell (default 3; quick 0.5)")
    ap.add_argument("--receipts", type=int, help="receipts built and encoded (default 300; quick 50)")
    ap.add_argument("--lines", type=int, default=40, help="lines on the receipt")
    ap.add_argument(
        "--variants",
        type=int,
        help="codes per symbology and condition in the read-rate set (default 5; quick 2)",
    )
    args = ap.parse_args()
    seconds = args.seconds or (0.5 if args.quick else 3.0)
    runs = args.receipts or (50 if args.quick else 300)
    args.variants = args.variants or (2 if args.quick else 5)
    rng = np.random.default_rng(7)
    decoders: list[Decoder] = [ZxingDecoder(), PyzbarDecoder()]

    print(
        f"Camera decode through CameraScanner.process_frame, {seconds:g} s per cell, frames per second by the "
        "clock (cpu: by this thread's CPU time, what an unloaded machine gives)"
    )
    print(
        f"{'decoder':<12}{'frame':<12}{'code fps':>10}{'cpu':>6}{'empty fps':>11}{'cpu':>6}"
        f"   keeps up with {CAMERA_FPS} fps (cpu)"
    )
    for height, width in SIZES:
        with_code = frames(height, width, True, 8, rng)
        empty = frames(height, width, False, 8, rng)
        for decoder in decoders:
            for fast in (True, False):
                code_wall, code_cpu = camera_fps(decoder, with_code, seconds, expect=True, fast_path=fast)
                empty_wall, empty_cpu = camera_fps(decoder, empty, seconds, expect=False, fast_path=fast)
                keeps = "yes" if min(code_wall, empty_wall) >= CAMERA_FPS else "no"
                keeps += " (yes)" if min(code_cpu, empty_cpu) >= CAMERA_FPS else " (no)"
                how = "" if fast else "  (whole frame, fast path off)"
                print(
                    f"{decoder.name:<12}{f'{width}x{height}':<12}{code_wall:>10.0f}{code_cpu:>6.0f}"
                    f"{empty_wall:>11.0f}{empty_cpu:>6.0f}   {keeps}{how}"
                )

    height, width = 720, 1280
    shots = scene_set(args.variants, height, width, np.random.default_rng(2026))
    print(
        f"\nRead rate and speed on {len(shots)} different frames at {width}x{height}: {len(SYMBOLS)} symbologies x "
        f"{args.variants} codes x 6 conditions (clean, rot 7, rot 30, blurred, noisy, small), on a counter"
    )
    print(
        f"{'decoder':<12}{'path':<14}{'read':>6}{'of':>5}{'fps':>7}{'cpu':>6}"
        "   of the whole frame's reads: fast path's / missed"
    )
    for decoder in decoders:
        whole, whole_fps, whole_cpu = read_set(decoder, shots, fast_path=False)
        fast, fast_fps, fast_cpu = read_set(decoder, shots, fast_path=True)
        print(
            f"{decoder.name:<12}{'whole frame':<14}{len(whole):>6}{len(shots):>5}{whole_fps:>7.1f}{whole_cpu:>6.1f}"
        )
        print(
            f"{decoder.name:<12}{'fast path':<14}{len(fast):>6}{len(shots):>5}{fast_fps:>7.1f}{fast_cpu:>6.1f}"
            f"   {len(fast & whole)}/{len(whole)} / {len(whole - fast)}"
        )

    data = receipt_data(args.lines)
    start = time.perf_counter()
    first = render_document(build_receipt(data), "escpos")  # loads python-escpos and its printer profiles
    cold = (time.perf_counter() - start) * 1000
    print(f"\n{args.lines}-line receipt to ESC/POS bytes, {runs} runs (ms)")
    print(f"{'roll':<8}{'step':<22}{'p50':>8}{'p99':>8}{'max':>8}{'bytes':>8}")
    for width, roll in ((48, "80 mm"), (32, "58 mm")):
        doc = build_receipt(data, width)
        out = render_document(doc, "escpos")
        steps = {
            "build_receipt": timed(lambda w=width: build_receipt(data, w), runs),
            "render escpos": timed(lambda d=doc: render_document(d, "escpos"), runs),
            "build + render": timed(lambda w=width: render_document(build_receipt(data, w), "escpos"), runs),
        }
        for step, samples in steps.items():
            size = f"{len(out):>8}" if step == "build + render" else ""
            print(
                f"{roll:<8}{step:<22}{statistics.median(samples):>8.2f}{pct(samples, 0.99):>8.2f}"
                f"{max(samples):>8.2f}{size}"
            )
    print(f"first receipt after start (imports python-escpos, loads its profiles): {cold:.0f} ms")
    assert first.startswith(b"\x1b@") and b"TOTAL" in first


if __name__ == "__main__":
    main()
