"""A camera's fast path: decode only the parts of a frame where a code can be, at full resolution.

A full 1280x720 frame costs zxing-cpp about 50 ms (20 fps), while a camera delivers 30; most of the frame is
counter, hand or shelf, and most frames hold no code at all. A printed code is a patch of sharp dark-light edges
close together; a page, a hand or sensor noise is not. So the frame is made grey once, its edges found with a 3x3
morphological gradient (a few ms), the edge pixels grouped into blobs, and the decoder runs only on each blob's box
(with a quiet-zone margin) at full resolution. A frame with no such blob is empty and costs the edge pass alone.

Nothing is read at a lower resolution than the full frame's, so a code the full frame reads is read here as long as
its box is found: the edge threshold is below any readable code's contrast, the blobs are joined generously, and
where the boxes would cover most of the frame (a close-up, a busy scene) the whole frame is decoded instead.
`benchmarks/devices.py` shows the speed; `tests/devices/test_regions.py` shows the same codes read at several sizes,
angles and contrasts as from the whole frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from devices.scanners.decoders import Decoder, Read, _to_gray

__all__ = ["RegionDecoder", "candidate_boxes"]

# A gradient over this (of 255) is an edge: a dark bar on a light page gives 100 and more, the sensor noise of a
# camera 10 to 25. A code printed with less contrast than this is not read by the decoders either.
EDGE_THRESHOLD = 40
# Edges closer than this (px) join into one blob: a code's bars are at most a few modules apart.
JOIN_PX = 15
# A blob smaller than this (px, either side) is a speck, not a code: an EAN-8 at 1 px per module is 67 wide.
MIN_SIDE = 12
# Around a blob, at least: a code's quiet zone (10 modules at up to 4 px) and outer bars the edge pass may thin.
MARGIN = 40
# Boxes covering more than this share of the frame: decode the whole frame, it is as quick and sees everything.
WHOLE_FRAME_SHARE = 0.6
# More boxes than this: the scene is busy (a printed page of text); decode the whole frame.
MAX_BOXES = 8


def candidate_boxes(gray: np.ndarray) -> list[tuple[int, int, int, int]] | None:
    """Boxes (x0, y0, x1, y1) that may hold a code, or None where the whole frame should be decoded."""
    height, width = gray.shape
    # Edges on a half-size image: still two samples per bar of a code at 1 px per module (INTER_AREA averages the
    # bars into a grey that still swings), a quarter of the work.
    small = cv2.resize(gray, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    edges = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    _t, mask = cv2.threshold(edges, EDGE_THRESHOLD // 2, 255, cv2.THRESH_BINARY)
    join = max(3, JOIN_PX // 2) | 1
    mask = cv2.dilate(mask, np.ones((join, join), np.uint8))
    count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes: list[tuple[int, int, int, int]] = []
    for i in range(1, count):
        x, y, w, h, _area = (int(v) for v in stats[i])
        if w * 2 < MIN_SIDE or h * 2 < MIN_SIDE:
            continue
        # A big code (a close-up, a 2D code's large modules) gets a margin to match: a decoder tuned for whole
        # frames misses a code that fills its image edge to edge.
        margin = max(MARGIN, max(w, h) // 2)
        boxes.append(
            (
                max(0, x * 2 - margin),
                max(0, y * 2 - margin),
                min(width, (x + w) * 2 + margin),
                min(height, (y + h) * 2 + margin),
            )
        )
    boxes = _merge(boxes)
    if len(boxes) > MAX_BOXES:
        return None
    covered = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes)
    if covered > WHOLE_FRAME_SHARE * width * height:
        return None
    return boxes


def _merge(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Join overlapping boxes (their margins overlap: parts of one code, or codes side by side) until none do."""
    out = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return out


class RegionDecoder:
    """Any decoder, run on the boxes of a frame that may hold a code (see the module's text)."""

    def __init__(self, inner: Decoder) -> None:
        self.inner = inner
        self.name = inner.name

    def decode(self, frame: np.ndarray) -> list[Read]:
        gray = _to_gray(frame)
        boxes = candidate_boxes(gray)
        if boxes is None:
            return self.inner.decode(gray)
        reads: list[Read] = []
        for x0, y0, x1, y1 in boxes:
            for read in self.inner.decode(gray[y0:y1, x0:x1]):
                if read not in reads:
                    reads.append(read)
        return reads
