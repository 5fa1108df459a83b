"""Camera scanner: reads frames with OpenCV, decodes them and reports each code once per hold-off.

This module owns the camera worker thread. It knows nothing of Qt: the UI wraps it and forwards the callbacks
(called on the worker thread) to the GUI thread with signals. A camera is a noisy scanner: the same code stays
in view for many frames, so a code is reported again only once `hold_off_s` has passed since it was last
reported. A device that cannot be opened, or that stops delivering frames (unplugged), is reported through
`on_error` and opened again every `reopen_s` until `stop()`; a video file (used by tests and the demo) is
read once to its end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from devices.scanners.decoders import Decoder
from devices.scanners.regions import RegionDecoder
from devices.scanners.worker import ScannerThread

__all__ = ["CameraScanner"]


class CameraScanner(ScannerThread):
    """Frames from `cv2.VideoCapture(source)` (a device index or a video file path) into scans."""

    def __init__(
        self,
        source: int | str,
        decoder: Decoder,
        on_read: Callable[[str], None],
        on_frame: Callable[[np.ndarray], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        hold_off_s: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
        reopen_s: float = 2.0,
        capture_factory: Callable[..., Any] = cv2.VideoCapture,
        fast_path: bool = True,
    ) -> None:
        self.source = source
        # The fast path decodes only the parts of a frame where a code can be (devices.scanners.regions): a
        # 1280x720 camera keeps its 30 fps; the whole frame is decoded where it cannot tell.
        self.decoder: Decoder = RegionDecoder(decoder) if fast_path else decoder
        self._on_read = on_read
        self._on_frame = on_frame
        self._on_error = on_error
        self._hold_off_s = hold_off_s
        self._clock = clock
        self._reopen_s = reopen_s
        self._capture_factory = capture_factory
        super().__init__()
        self.thread_name = f"camera-scanner-{source}"
        # code -> clock time it was last reported; touched only by the worker thread
        self._last_reported: dict[str, float] = {}

    @property
    def is_file(self) -> bool:
        """A path is replayed once; a device index is kept open (and reopened) until stopped."""
        return isinstance(self.source, str)

    def process_frame(self, frame: np.ndarray) -> list[str]:
        """Decode one frame and report the codes that are outside their hold-off; returns those codes."""
        if self._on_frame is not None:
            self._on_frame(frame)
        reads = self.decoder.decode(frame)
        now = self._clock()
        # Forget codes whose hold-off has passed so the table stays as small as what is in view.
        self._last_reported = {
            code: t for code, t in self._last_reported.items() if now - t < self._hold_off_s
        }
        reported: list[str] = []
        for read in reads:
            if read.text in self._last_reported or read.text in reported:
                continue
            self._last_reported[read.text] = now
            reported.append(read.text)
            self._on_read(read.text)
        return reported

    def _error(self, message: str) -> None:
        if self._on_error is not None:
            self._on_error(message)

    def _run(self) -> None:
        while not self._stop.is_set():
            capture = self._capture_factory(self.source)
            try:
                if not capture.isOpened():
                    self._error(f"Camera {self.source!r} could not be opened")
                else:
                    self._read_until_stopped(capture)
            except Exception as exc:  # a faulty callback or decoder must not kill the camera silently
                self._error(f"Camera {self.source!r} stopped: {exc}")
            finally:
                capture.release()
            if self.is_file:
                return
            self._stop.wait(self._reopen_s)

    def _read_until_stopped(self, capture: cv2.VideoCapture) -> None:
        while not self._stop.is_set():
            ok, frame = capture.read()
            if not ok or frame is None:
                if not self.is_file:
                    self._error(f"Camera {self.source!r} stopped delivering frames")
                return
            self.process_frame(frame)
