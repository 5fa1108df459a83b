"""A camera's fast path: decode only the parts of a frame where a code can be, at the scales the whole frame gets.

A full 1280x720 frame costs zxing-cpp about 50 ms (20 fps), while a camera delivers 30; most of the frame is
counter, hand or shelf, and most frames hold no code at all. A printed code is a patch of sharp dark-light edges
close together; a page, a hand, the counter's edge or sensor noise is not. So the frame is made grey once, its
edges found with a 3x3 morphological gradient on a half-size copy (a millisecond), over a threshold that rises
with the sensor's noise; the edge pixels are joined into blobs, thin ones (lines: the edge of a counter, a
rotated frame's border) are opened away, and the decoder runs only on each blob's box (with a quiet-zone
margin). A frame with no such blob is empty and costs the edge pass alone.

Each box is decoded as the whole frame would be: shrunk by 3 first (what zxing-cpp's try_downscale does to a frame
over 500 px: it reads the noisy and blurred codes, and costs a ninth), and where that read nothing (a code of 1 to
2 px per module) at full size, across the frame's whole width for the box's rows (zxing-cpp thresholds a 1D code's
row over the whole row, and a cropped row misses some small or blurred codes). Boxes start on the frame's grid of
3x3 cells and 8x8 binarizer blocks, so a code's pixels are what the whole frame's decode sees. A box that read
nothing and has not changed since the last frame skips its full-size pass for a few frames (RegionDecoder). Where
the boxes would cover most of the frame (a close-up, a busy scene) or the edges are everywhere, the whole frame is
decoded instead.
`benchmarks/devices.py` shows the speed and the codes read against the whole frame's over a set of realistic
frames; `tests/devices/test_regions.py` shows the same codes read at several sizes, angles, contrasts and noise.
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
# The edge threshold is at least this many times the frame's upper-quartile gradient, halved (see _edge_threshold).
NOISE_FACTOR = 5
# ... and at most this (at half size): below a code's edges even with the noise on top.
MAX_THRESHOLD = 120
# A frame whose upper-quartile gradient (at half size) is over this is busy through and through: decode it whole.
BUSY_QUARTILE = 60
_KERNEL3 = np.ones((3, 3), np.uint8)
# A box is tried shrunk by this first (zxing-cpp's own downscale factor) ...
DOWNSCALE = 3
# Boxes start on a grid of this (px): zxing-cpp's 8x8 binarizer blocks, at full size and a third of it.
GRID = 8 * DOWNSCALE
# ... unless that leaves it narrower than this (px): too few pixels for any code.
SMALL_MIN_SIDE = 24
# A box that read nothing is not decoded at full size again while no more than STILL_PIXELS pixels of its
# picture at a third of the size differ from the last frame's by more than STILL_DIFF (of 255: a clean sensor's
# noise is 1 to 2 there, a dim one's 10, a code at 1 px per module coming in 100) ...
STILL_DIFF = 24
STILL_PIXELS = 8
# ... for at most this many frames in a row (then it is, in case a code came into focus without moving).
STILL_FRAMES = 5
# More boxes than this: the scene is busy (a printed page of text); decode the whole frame.
MAX_BOXES = 8


def candidate_boxes(gray: np.ndarray) -> list[tuple[int, int, int, int]] | None:
    """Boxes (x0, y0, x1, y1) that may hold a code, or None where the whole frame should be decoded."""
    height, width = gray.shape
    # Edges on a half-size image: still two samples per bar of a code at 1 px per module (INTER_AREA averages the
    # bars into a grey that still swings), a quarter of the work.
    small = cv2.resize(gray, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    edges = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, _KERNEL3)
    threshold = _edge_threshold(edges)
    if threshold is None:
        return None
    _t, mask = cv2.threshold(edges, threshold, 255, cv2.THRESH_BINARY)
    join = max(3, JOIN_PX // 2) | 1
    mask = cv2.dilate(mask, np.ones((join, join), np.uint8))
    # The join fills a code's bars into a solid patch; a line (the edge of a counter or a shelf, a rotated
    # frame's border) stays as thin as the join made it, and an opening wider than that removes it, also where
    # it touches a code or other lines.
    # Outside the frame counts as empty, so a line running off the frame's edge goes too.
    mask = cv2.morphologyEx(
        mask,
        cv2.MORPH_OPEN,
        np.ones((join + 4, join + 4), np.uint8),
        borderType=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    contours, _hierarchy = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[tuple[int, int, int, int]] = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w * 2 < MIN_SIDE or h * 2 < MIN_SIDE:
            continue
        # A big code (a close-up, a 2D code's large modules) gets a margin to match: a decoder tuned for whole
        # frames misses a code that fills its image edge to edge. The blob's width across (at any angle) sets
        # it, not its length: a line of text is long and says nothing of a code's size.
        (_cx, _cy), (side_a, side_b), _angle = cv2.minAreaRect(contour)
        margin = max(MARGIN, int(min(side_a, side_b)) // 2)
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


def _edge_threshold(edges: np.ndarray) -> int | None:
    """The gradient above which a pixel is an edge: EDGE_THRESHOLD (at half size, half of it), raised over a
    noisy sensor's own swing; None where the frame is busy through and through (decode it whole).

    Most of a frame is not an edge, so its upper quartile measures the noise: under 10 in a clean frame, 40 to 50
    where a dim scene's gain is up, while a printed code's edges stay near 200 and a faded one's near 80. A frame
    whose upper quartile is higher still is a texture, a close-up or worse noise: no box can be told apart."""
    histogram = cv2.calcHist([edges], [0], None, [256], [0, 256]).ravel().cumsum()
    upper_quartile = int(np.searchsorted(histogram, 0.75 * histogram[-1]))
    if upper_quartile > BUSY_QUARTILE:
        return None
    return min(MAX_THRESHOLD, max(EDGE_THRESHOLD // 2, NOISE_FACTOR * upper_quartile // 2))


def _area(box: tuple[int, int, int, int]) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _merge(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Join overlapping boxes (codes side by side, a code and the text under it) until none do, where the
    joined box is no bigger than the two apart: two slanted boxes that touch at a corner stay two, since their
    joined box would add the empty frame between them to the decode."""
    out = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                union = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                if overlap and _area(union) <= _area(a) + _area(b):
                    out[i] = union
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return out


Box = tuple[int, int, int, int]


class RegionDecoder:
    """Any decoder, run on the boxes of a frame that may hold a code (see the module's text).

    A camera sees the same counter frame after frame: a box that read nothing, whose picture (at a third of the
    size) has not changed since, reads nothing again, so its full-size pass is left out for up to
    `STILL_FRAMES` frames. A code coming into view changes its box; one that only comes into focus may wait
    those few frames. One instance per camera: it remembers the last frame's boxes."""

    def __init__(self, inner: Decoder) -> None:
        self.inner = inner
        self.name = inner.name
        # box -> (its picture at a third of the size, frames its full-size pass has been left out)
        self._unread: dict[Box, tuple[np.ndarray, int]] = {}

    def decode(self, frame: np.ndarray) -> list[Read]:
        gray = _to_gray(frame)
        boxes = candidate_boxes(gray)
        if boxes is None:
            self._unread = {}
            return self.inner.decode(gray)
        height, width = gray.shape
        reads: list[Read] = []
        unread: dict[Box, tuple[np.ndarray, int]] = {}
        full_size: list[tuple[Box, np.ndarray]] = []
        for x0, y0, x1, y1 in boxes:
            # On the whole frame's grid: of 3x3 cells, so the shrunk box is the shrunk frame's pixels exactly, and
            # of the binarizer's 8x8 blocks at both sizes, so a code's pixels go black and white as in the frame
            # (and a box jittering by a pixel from frame to frame stays the same box).
            box = (
                x0 - x0 % GRID,
                y0 - y0 % GRID,
                min(width, -(-x1 // GRID) * GRID),
                min(height, -(-y1 // GRID) * GRID),
            )
            crop = gray[box[1] : box[3], box[0] : box[2]]
            found, small = self._decode_small(crop)
            _add(reads, found)
            if found:
                continue
            before = self._unread.get(box)
            if (
                small is not None
                and before is not None
                and before[1] < STILL_FRAMES
                and _still(before[0], small)
            ):
                unread[box] = (small, before[1] + 1)
            else:
                full_size.append((box, small if small is not None else crop))
        # Full size, across the whole frame's width: a 1D code's rows are read with a threshold from the whole
        # row, as in the whole frame, and a cropped row can tip a small or blurred code either way.
        for y0, y1, in_band in _bands(full_size):
            # A code the small pass read elsewhere in these rows is read again here; only a new one counts.
            new = [read for read in self.inner.decode(gray[y0:y1]) if read not in reads]
            _add(reads, new)
            if not new:
                for box, small in in_band:
                    unread[box] = (small, 0)
        self._unread = unread
        return reads

    def _decode_small(self, crop: np.ndarray) -> tuple[list[Read], np.ndarray | None]:
        """The box at a third of the size (what zxing-cpp's try_downscale does to a frame over 500 px): a ninth
        of the pixels, and its averaging reads the noisy and blurred codes. Returns the reads and the small
        picture (None where the box is too small to shrink)."""
        height, width = crop.shape
        if min(height, width) < DOWNSCALE * SMALL_MIN_SIDE:
            return [], None
        # Whole cells only: INTER_AREA by an exact factor is the plain 3x3 average.
        whole = crop[: height - height % DOWNSCALE, : width - width % DOWNSCALE]
        small = cv2.resize(whole, (width // DOWNSCALE, height // DOWNSCALE), interpolation=cv2.INTER_AREA)
        return self.inner.decode(small), small


def _add(reads: list[Read], found: list[Read]) -> None:
    for read in found:
        if read not in reads:
            reads.append(read)


def _bands(
    boxes: list[tuple[Box, np.ndarray]],
) -> list[tuple[int, int, list[tuple[Box, np.ndarray]]]]:
    """The boxes' rows as bands (y0, y1, boxes in it), overlapping rows joined so no row is decoded twice."""
    bands: list[tuple[int, int, list[tuple[Box, np.ndarray]]]] = []
    for item in sorted(boxes, key=lambda b: b[0][1]):
        box = item[0]
        if bands and box[1] < bands[-1][1]:
            y0, y1, items = bands[-1]
            bands[-1] = (y0, max(y1, box[3]), [*items, item])
        else:
            bands.append((box[1], box[3], [item]))
    return bands


def _still(before: np.ndarray, now: np.ndarray) -> bool:
    """The same picture but for sensor noise: hardly a pixel (at a third of the size) changed by more than
    STILL_DIFF. Counted, not averaged: a small code coming into a large box changes a few pixels a lot."""
    if before.shape != now.shape:
        return False
    _t, changed = cv2.threshold(cv2.absdiff(before, now), STILL_DIFF, 255, cv2.THRESH_BINARY)
    return cv2.countNonZero(changed) <= STILL_PIXELS
