"""Camera, serial, wedge and fake scanners, driven by real video files, real pyserial ports and real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import serial
import zxingcpp

from devices.scanners.camera import CameraScanner
from devices.scanners.decoders import make_decoder
from devices.scanners.fake import FakeScanner
from devices.scanners.serial_scanner import SerialScanner
from devices.scanners.wedge import (
    GS,
    WedgeConfig,
    azerty_to_digits,
    is_scanner_burst,
    restore_group_separators,
    strip_affixes,
)
from tests.waiting import wait_for

EAN = "4006381333931"


# --- camera -----------------------------------------------------------------------------------------------


def write_video(path: Path, frames: int, code_from: int = 0, code_until: int | None = None) -> Path:
    """An MJPG .avi at 25 fps, 640x480, showing an EAN-13 in frames [code_from, code_until)."""
    code = np.asarray(zxingcpp.create_barcode(EAN, zxingcpp.BarcodeFormat.EAN13).to_image(scale=3))
    code_bgr = cv2.cvtColor(code, cv2.COLOR_GRAY2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (640, 480))
    assert writer.isOpened()
    for i in range(frames):
        frame = np.full((480, 640, 3), 235, np.uint8)
        if code_from <= i < (frames if code_until is None else code_until):
            y, x = 150, 150
            frame[y : y + code.shape[0], x : x + code.shape[1]] = code_bgr
        writer.write(frame)
    writer.release()
    return path


class FrameClock:
    """A clock that advances 40 ms (25 fps) per frame, so hold-off tests do not depend on decode speed."""

    def __init__(self) -> None:
        self.now = 0.0
        self.frames = 0

    def on_frame(self, frame: np.ndarray) -> None:
        assert frame.shape == (480, 640, 3)
        self.frames += 1
        self.now = self.frames * 0.04

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("decoder_name", ["zxing-cpp", "pyzbar"])
def test_camera_reports_a_code_once_within_the_hold_off(tmp_path: Path, decoder_name: str) -> None:
    video = write_video(tmp_path / "ean.avi", frames=30)  # 1.2 s of video, code in every frame
    clock = FrameClock()
    reads: list[tuple[str, float]] = []
    errors: list[str] = []
    scanner = CameraScanner(
        str(video),
        make_decoder(decoder_name),
        on_read=lambda code: reads.append((code, clock())),
        on_frame=clock.on_frame,
        on_error=errors.append,
        hold_off_s=1.5,
        clock=clock,
    )
    scanner.start()
    assert scanner.wait(10)
    assert clock.frames == 30
    assert reads == [(EAN, 0.04)]
    assert errors == []


def test_camera_reports_again_after_the_hold_off(tmp_path: Path) -> None:
    video = write_video(tmp_path / "ean.avi", frames=80)  # 3.2 s: reported at 0.04, 1.56 and 3.08 s
    clock = FrameClock()
    times: list[float] = []
    scanner = CameraScanner(
        str(video),
        make_decoder(None),
        on_read=lambda code: times.append(clock()),
        on_frame=clock.on_frame,
        clock=clock,
    )
    scanner.start()
    assert scanner.wait(10)
    assert times == pytest.approx([0.04, 1.56, 3.08])


def test_camera_hold_off_follows_the_last_report_not_the_last_sighting(tmp_path: Path) -> None:
    # Code visible 0-0.4 s, gone, back at 2.0 s: that is a new scan (the hold-off has passed).
    video = write_video(tmp_path / "gap.avi", frames=60, code_from=0, code_until=10)
    clock = FrameClock()
    codes: list[float] = []
    scanner = CameraScanner(
        str(video),
        make_decoder(None),
        on_read=lambda c: codes.append(clock()),
        on_frame=clock.on_frame,
        clock=clock,
    )
    scanner.start()
    assert scanner.wait(10)
    assert codes == pytest.approx([0.04])

    video2 = write_video(tmp_path / "back.avi", frames=60, code_from=50)
    clock2 = FrameClock()
    codes2: list[float] = []
    scanner2 = CameraScanner(
        str(video2),
        make_decoder(None),
        on_read=lambda c: codes2.append(clock2()),
        on_frame=clock2.on_frame,
        clock=clock2,
    )
    scanner2.start()
    assert scanner2.wait(10)
    assert codes2 == pytest.approx([51 * 0.04])


def test_camera_that_fails_to_open_reports_and_stops_cleanly(tmp_path: Path) -> None:
    errors: list[str] = []
    scanner = CameraScanner(
        str(tmp_path / "missing.avi"), make_decoder(None), on_read=print, on_error=errors.append
    )
    scanner.start()
    assert scanner.wait(5)
    assert len(errors) == 1 and "could not be opened" in errors[0]


def test_camera_device_that_fails_to_open_is_retried_until_stopped() -> None:
    opened: list[int | str] = []

    class Closed:
        def isOpened(self) -> bool:
            return False

        def release(self) -> None:
            pass

    def factory(source: int | str) -> Any:
        opened.append(source)
        return Closed()

    errors: list[str] = []
    scanner = CameraScanner(
        7, make_decoder(None), on_read=print, on_error=errors.append, reopen_s=0.01, capture_factory=factory
    )
    scanner.start()
    wait_for(lambda: len(opened) >= 3)
    started = time.monotonic()
    scanner.stop()
    assert time.monotonic() - started < 1.0
    assert not scanner.running
    assert set(opened) == {7} and all("could not be opened" in e for e in errors)


def test_camera_stop_joins_quickly_during_a_live_stream(tmp_path: Path) -> None:
    video = write_video(tmp_path / "long.avi", frames=400)
    frames: list[int] = []
    scanner = CameraScanner(
        str(video), make_decoder(None), on_read=lambda c: None, on_frame=lambda f: frames.append(1)
    )
    scanner.start()
    wait_for(lambda: len(frames) >= 5)
    started = time.monotonic()
    scanner.stop()
    assert time.monotonic() - started < 1.0
    assert not scanner.running and len(frames) < 400


# --- serial ------------------------------------------------------------------------------------------------


def test_serial_loop_url_reads_codes_with_any_line_end() -> None:
    ports: list[Any] = []

    def opener(url: str, **kwargs: Any) -> Any:
        port = serial.serial_for_url(url, **kwargs)
        ports.append(port)
        return port

    reads: list[str] = []
    statuses: list[str] = []
    scanner = SerialScanner("loop://", on_read=reads.append, on_status=statuses.append, opener=opener)
    scanner.start()
    try:
        wait_for(lambda: statuses == ["connected"])
        ports[0].write(b"4006381333931\r0036000291452\n]C10109506000134352" + GS.encode() + b"21X\r\n")
        ports[0].write(b"HALF")  # no terminator yet: not a scan
        wait_for(lambda: len(reads) == 3)
        time.sleep(0.2)
        assert reads == [EAN, "0036000291452", "]C10109506000134352\x1d21X"]
        ports[0].write(b"-CODE\r")
        wait_for(lambda: len(reads) == 4)
        assert reads[3] == "HALF-CODE"
    finally:
        scanner.stop()
    assert not scanner.running
    assert statuses == ["connected", "disconnected"]


def test_serial_feed_splits_and_rejects() -> None:
    reads: list[str] = []
    errors: list[str] = []
    scanner = SerialScanner("loop://", on_read=reads.append, on_error=errors.append)
    assert scanner.feed(b"12345\r") == ["12345"]
    assert scanner.feed(b"678\r") == ["678"]
    assert scanner.feed(b"\n9\r\n\r\n") == ["9"]  # CRLF split across reads makes no empty scan
    assert scanner.feed(b"caf\xe9\r") == []
    assert len(errors) == 1 and "non-ASCII" in errors[0]
    etx = SerialScanner("loop://", terminator=b"\x03", on_read=reads.append)
    assert etx.feed(b"A\rB\x03C") == ["A\rB"]
    assert reads == ["12345", "678", "9", "A\rB"]


class DroppableServer:
    """A TCP server on 127.0.0.1 standing in for a serial-to-Ethernet scanner that can be unplugged."""

    def __init__(self) -> None:
        self.port = 0
        self.listener: socket.socket | None = None
        self.client: socket.socket | None = None
        self.up()

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(1)
        listener.settimeout(5)
        self.port = listener.getsockname()[1]
        self.listener = listener

    def accept(self) -> None:
        assert self.listener is not None
        self.client, _ = self.listener.accept()

    def send(self, data: bytes) -> None:
        assert self.client is not None
        self.client.sendall(data)

    def drop(self) -> None:
        for sock in (self.client, self.listener):
            if sock is not None:
                sock.close()
        self.client = self.listener = None


@pytest.fixture
def server() -> Iterator[DroppableServer]:
    srv = DroppableServer()
    yield srv
    srv.drop()


def test_serial_socket_reconnects_after_the_scanner_is_unplugged(server: DroppableServer) -> None:
    reads: list[str] = []
    errors: list[str] = []
    statuses: list[str] = []
    lock = threading.Lock()

    def status(s: str) -> None:
        with lock:
            statuses.append(s)

    scanner = SerialScanner(
        f"socket://127.0.0.1:{server.port}",
        terminator=b"\r\n",
        on_read=reads.append,
        on_error=errors.append,
        on_status=status,
        reconnect_s=0.05,
    )
    scanner.start()
    try:
        server.accept()
        wait_for(lambda: statuses == ["connected"])
        server.send(b"4006381333931\r\nPARTIAL")
        wait_for(lambda: reads == [EAN])

        server.drop()  # unplugged: connection and listener gone
        wait_for(lambda: statuses == ["connected", "disconnected"])
        time.sleep(0.2)  # a few refused reconnects while it is away
        assert scanner.status == "disconnected"

        server.up()  # plugged back in on the same port
        server.accept()
        wait_for(lambda: statuses == ["connected", "disconnected", "connected"])
        server.send(b"96385074\r\n")
        wait_for(lambda: len(reads) == 2)
    finally:
        scanner.stop()
    assert reads == [EAN, "96385074"]  # the half code from before the drop was not reported
    assert any("disconnected" in e for e in errors)
    assert sum("not available" in e for e in errors) == 1  # refused retries are said once, not each time


def test_serial_port_that_never_opens_is_retried_until_stopped() -> None:
    attempts: list[str] = []

    def opener(url: str, **kwargs: Any) -> Any:
        attempts.append(url)
        raise serial.SerialException(f"could not open port {url}")

    errors: list[str] = []
    scanner = SerialScanner("/dev/ttyNOPE", on_error=errors.append, opener=opener, reconnect_s=0.01)
    scanner.start()
    wait_for(lambda: len(attempts) >= 3)
    scanner.stop()
    assert not scanner.running and scanner.status == "disconnected"
    assert len(errors) == 1


# --- wedge -------------------------------------------------------------------------------------------------


def test_strip_affixes() -> None:
    cfg = WedgeConfig(prefix="]S", suffix="#", terminator="enter")
    assert strip_affixes("]S4006381333931#\r", cfg) == EAN
    assert strip_affixes("4006381333931#\n", cfg) == EAN
    assert strip_affixes("4006381333931", cfg) == EAN
    assert strip_affixes("]S12\t", WedgeConfig(prefix="]S", terminator="tab")) == "12"
    assert strip_affixes("A]S", WedgeConfig(prefix="]S")) == "A]S"  # the prefix only counts at the start


def test_azerty_digit_row_is_recognised() -> None:
    # 4006381333931 typed by a US-configured scanner into a French layout
    assert azerty_to_digits('\'àà-"_&"""ç"&') == EAN
    assert azerty_to_digits("&é\"'(-è_çà") == "1234567890"
    assert azerty_to_digits("é1") == "21"
    assert azerty_to_digits(EAN) is None  # nothing to repair
    assert azerty_to_digits("ABC&") is None  # letters moved too: cannot be repaired
    assert azerty_to_digits("") is None


def test_group_separator_substitute() -> None:
    cfg = WedgeConfig(gs_substitute="~")
    assert restore_group_separators("]C10109506000134352~21X", cfg) == "]C10109506000134352\x1d21X"
    assert restore_group_separators("a~b", WedgeConfig()) == "a~b"


def test_scanner_burst_timing() -> None:
    cfg = WedgeConfig(max_gap_ms=50, min_length=3)
    assert is_scanner_burst([0, 10, 22, 30], cfg)
    assert not is_scanner_burst([0, 10, 90, 100], cfg)  # a person's pause
    assert not is_scanner_burst([0, 10], cfg)  # too short to be a code
    with pytest.raises(ValueError):
        WedgeConfig(terminator="space")  # type: ignore[arg-type]


# --- fake --------------------------------------------------------------------------------------------------


def test_fake_scanner_replays_in_order() -> None:
    reads: list[str] = []
    fake = FakeScanner([EAN, "96385074", "RET-1-2-3"], on_read=reads.append, interval_s=0.01)
    fake.start()
    assert fake.wait(5)
    assert reads == [EAN, "96385074", "RET-1-2-3"]
    reads.clear()
    fake.replay()
    assert reads == [EAN, "96385074", "RET-1-2-3"]


def test_fake_scanner_repeat_stops_on_request() -> None:
    reads: list[str] = []
    fake = FakeScanner(["A", "B"], on_read=reads.append, interval_s=0.005, repeat=True)
    fake.start()
    wait_for(lambda: len(reads) >= 5)
    fake.stop()
    assert not fake.running
    assert reads[:4] == ["A", "B", "A", "B"]
