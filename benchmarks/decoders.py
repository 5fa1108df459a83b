"""Read rate and speed of the camera decoders (zxing-cpp, pyzbar) on generated codes; prints tables.

Run: `.venv/bin/python benchmarks/decoders.py [--repeats N] [--variants K]`.
Each symbology (EAN-13, UPC-A, Code 128, GS1-128, QR, GS1 DataMatrix) is drawn at 3 px per module into a
640x480 frame with some print texture, then spoiled six ways (clean, rotated 7 deg, rotated 30 deg, blurred,
noisy, small = 1.5 px per module). A read counts only if the decoder returns exactly the expected text.
Speed is the median decode time of one full frame (with a code, and without one, which is most of what a
camera sees) at 640x480 and 1280x720.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import cv2
import numpy as np
import zxingcpp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from devices.scanners.decoders import Decoder, PyzbarDecoder, ZxingDecoder  # noqa: E402

F = zxingcpp.BarcodeFormat

# (name, format, gs1, make content from a variant number, expected decoded text)
SYMBOLS: list[tuple[str, zxingcpp.BarcodeFormat, bool, Callable[[int], str], Callable[[str], str]]] = [
    ("EAN-13", F.EAN13, False, lambda i: f"400638133{i:03d}"[:12], lambda c: c + _check(c)),
    ("UPC-A", F.UPCA, False, lambda i: f"03600029{i:03d}", lambda c: "0" + c + _check(c)),
    ("Code 128", F.Code128, False, lambda i: f"RET-1-2-{i:04d}", lambda c: c),
    (
        "GS1-128",
        F.Code128,
        True,
        lambda i: f"(01)09506000134352(10)L{i:02d}(21){i:02d}",
        lambda c: "]C10109506000134352" + f"10L{c[23:25]}\x1d21{c[-2:]}",
    ),
    ("QR", F.QRCode, False, lambda i: f"https://shop.example/o/{i:06d}", lambda c: c),
    (
        "GS1 DataMatrix",
        F.DataMatrix,
        True,
        lambda i: f"(01)09506000134352(17)261231(10)LOT{i:03d}",
        lambda c: "]d201095060001343521726123110" + c[-6:],
    ),
]


def _check(digits: str) -> str:
    """GS1 check digit of the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A light, slightly uneven page, like a label under shop lighting."""
    base = np.linspace(205, 245, width, dtype=np.float32)[None, :].repeat(height, 0)
    base += rng.normal(0, 4, (height, width)).astype(np.float32)
    return np.clip(base, 0, 255).astype(np.uint8)


def place(
    code: np.ndarray,
    height: int,
    width: int,
    rng: np.random.Generator,
    scene: Callable[[int, int, np.random.Generator], np.ndarray] = background,
    anywhere: bool = False,
) -> np.ndarray:
    """The code on a `scene` frame: in the middle, or `anywhere` (a random spot at least 10 px in)."""
    frame = scene(height, width, rng)
    code = code[: height - 20, : width - 20]
    y = (height - code.shape[0]) // 2
    x = (width - code.shape[1]) // 2
    if anywhere:
        y = int(rng.integers(10, height - code.shape[0] - 9))
        x = int(rng.integers(10, width - code.shape[1] - 9))
    frame[y : y + code.shape[0], x : x + code.shape[1]] = np.minimum(
        frame[y : y + code.shape[0], x : x + code.shape[1]], code
    )
    return frame


def rotate(frame: np.ndarray, degrees: float) -> np.ndarray:
    h, w = frame.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(frame, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=225)


def conditions(
    code: np.ndarray,
    rng: np.random.Generator,
    height: int = 480,
    width: int = 640,
    scene: Callable[[int, int, np.random.Generator], np.ndarray] = background,
) -> dict[str, np.ndarray]:
    """The code spoiled six ways (see the module's text); on a bigger `scene` it is placed anywhere in it."""
    anywhere = scene is not background

    def at(c: np.ndarray) -> np.ndarray:
        return place(c, height, width, rng, scene, anywhere)

    clean = at(code)
    noisy = np.clip(clean.astype(np.float32) + rng.normal(0, 28, clean.shape), 0, 255).astype(np.uint8)
    small_code = cv2.resize(code, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # 1.5 px per module
    return {
        "clean": clean,
        "rot 7": rotate(clean, 7),
        "rot 30": rotate(clean, 30),
        "blurred": cv2.GaussianBlur(clean, (0, 0), 1.6),
        "noisy": noisy,
        "small": at(small_code),
    }


def render(content: str, fmt: zxingcpp.BarcodeFormat, gs1: bool) -> np.ndarray:
    """3 px per module, or 2 where the code would not fit a 640 px frame (GS1-128): whole pixels per module,
    since a resample to a fraction of a pixel spoils a clean code before the test starts."""
    kwargs = {"gs1": True} if gs1 else {}
    barcode = zxingcpp.create_barcode(content, fmt, **kwargs)
    for scale in (3, 2):
        code = np.asarray(barcode.to_image(scale=scale))
        if code.shape[1] <= 620:
            return code
    raise ValueError(f"{content!r} does not fit a 640 px frame at 2 px per module")


def read_rates(decoders: list[Decoder], variants: int) -> None:
    rng = np.random.default_rng(2026)
    cond_names = ["clean", "rot 7", "rot 30", "blurred", "noisy", "small"]
    hits = {(d.name, s[0], c): 0 for d in decoders for s in SYMBOLS for c in cond_names}
    for name, fmt, gs1, content_of, expected_of in SYMBOLS:
        for i in range(variants):
            content = content_of(i + 1)
            expected = expected_of(content)
            for cond, frame in conditions(render(content, fmt, gs1), rng).items():
                for decoder in decoders:
                    if any(r.text == expected for r in decoder.decode(frame)):
                        hits[(decoder.name, name, cond)] += 1

    print(f"\nRead rate ({variants} codes per cell, 640x480 frames)")
    header = f"{'symbology':<16}" + "".join(f"{c:>9}" for c in cond_names) + f"{'all':>9}"
    for decoder in decoders:
        print(f"\n[{decoder.name}]")
        print(header)
        total = 0
        for name, *_ in SYMBOLS:
            row = [hits[(decoder.name, name, c)] for c in cond_names]
            total += sum(row)
            print(
                f"{name:<16}"
                + "".join(f"{v / variants:>9.0%}" for v in row)
                + f"{sum(row) / (variants * 6):>9.0%}"
            )
        col = [sum(hits[(decoder.name, s[0], c)] for s in SYMBOLS) for c in cond_names]
        cells = variants * len(SYMBOLS)
        print(f"{'all':<16}" + "".join(f"{v / cells:>9.0%}" for v in col) + f"{total / (cells * 6):>9.0%}")


def speeds(decoders: list[Decoder], repeats: int) -> None:
    rng = np.random.default_rng(7)
    ean = render("4006381333931", F.EAN13, False)
    print(f"\nDecode time per frame, median of {repeats} (ms) and frames per second")
    print(f"{'decoder':<12}{'frame':<12}{'EAN-13 ms':>11}{'fps':>8}{'empty ms':>11}{'fps':>8}")
    for height, width in [(480, 640), (720, 1280)]:
        with_code = cv2.cvtColor(place(ean, height, width, rng), cv2.COLOR_GRAY2BGR)
        empty = cv2.cvtColor(background(height, width, rng), cv2.COLOR_GRAY2BGR)
        for decoder in decoders:
            assert decoder.decode(with_code), f"{decoder.name} missed the speed test code"
            figures = []
            for frame in (with_code, empty):
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    decoder.decode(frame)
                    times.append(time.perf_counter() - start)
                ms = statistics.median(times) * 1000
                figures += [ms, 1000 / ms]
            print(
                f"{decoder.name:<12}{f'{width}x{height}':<12}{figures[0]:>11.1f}{figures[1]:>8.0f}{figures[2]:>11.1f}{figures[3]:>8.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed decodes per cell (median)")
    parser.add_argument(
        "--variants", type=int, default=10, help="different codes per symbology and condition"
    )
    args = parser.parse_args()
    decoders: list[Decoder] = [ZxingDecoder(), PyzbarDecoder()]
    print(
        f"zxing-cpp {zxingcpp.__version__ if hasattr(zxingcpp, '__version__') else ''}  opencv {cv2.__version__}"
    )
    read_rates(decoders, args.variants)
    speeds(decoders, args.repeats)


if __name__ == "__main__":
    main()
