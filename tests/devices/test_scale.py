"""The bench scale on a serial port: what common scales send is read as kg (g, lb and oz converted), an unsteady,
overloaded or empty reading is refused with what to do, and a scale behind a serial-to-Ethernet box (socket://) is
asked with its command and answers one line."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest

from devices.scale import ScaleConfig, ScaleError, config_from_setting, parse_reading, read_weight


@pytest.mark.parametrize(
    ("line", "kg"),
    [
        (b"ST,GS,+  1.250kg\r\n", "1.250"),
        (b"   0.480 kg", "0.480"),
        (b"0,75KG", "0.750"),
        (b"ST,NT,  1250 g", "1.250"),
        (b"2.5 lb", "1.134"),
        (b"  3.100", "3.100"),
    ],
)
def test_readings_are_kilograms(line: bytes, kg: str) -> None:
    assert parse_reading(line) == Decimal(kg)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"US,GS,+  1.250kg", "not steady"),
        (b"OL,GS,+ 99.999kg", "overloaded"),
        (b"ST,GS,+  0.000kg", "reads nothing"),
        (b"ST,GS,-  0.120kg", "reads nothing"),
        (b"ERR", "not a weight"),
    ],
)
def test_unusable_readings_say_what_to_do(line: bytes, says: str) -> None:
    with pytest.raises(ScaleError, match=says):
        parse_reading(line)


def test_the_setting() -> None:
    assert config_from_setting(None) is None and config_from_setting({"type": "none"}) is None
    cfg = config_from_setting({"type": "serial", "port": "/dev/ttyUSB0", "baudrate": 4800, "command": "P\r"})
    assert cfg == ScaleConfig("/dev/ttyUSB0", 4800, b"P\r", 2.0)
    with pytest.raises(ValueError, match="serial port"):
        config_from_setting({"type": "serial"})


@contextmanager
def serve_scale() -> Iterator[tuple[str, list[bytes]]]:
    """A scale behind a serial-to-Ethernet box: answers each `W` + CR with its reading; its socket:// URL and the
    requests it was sent."""
    server = socket.create_server(("127.0.0.1", 0))
    asked: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                request = conn.recv(16)
                asked.append(request)
                if request == b"W\r":
                    conn.sendall(b"\r\nST,GS,+  2.345kg\r\n")
                else:
                    conn.recv(16)  # a command it does not know: silence, until the other end gives up

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"socket://127.0.0.1:{server.getsockname()[1]}", asked
    finally:
        server.close()


@pytest.fixture
def scale() -> Iterator[tuple[str, list[bytes]]]:
    with serve_scale() as served:
        yield served


def test_a_scale_is_asked_and_read(scale: tuple[str, list[bytes]]) -> None:
    url, asked = scale
    assert read_weight(ScaleConfig(url, timeout_s=2)) == Decimal("2.345")
    assert asked == [b"W\r"]
    with pytest.raises(ScaleError, match="No answer"):
        read_weight(ScaleConfig(url, command=b"X\r", timeout_s=0.3))


def test_a_scale_that_is_not_there() -> None:
    with pytest.raises(ScaleError, match="cannot be opened"):
        read_weight(ScaleConfig("/dev/no-such-scale", timeout_s=0.2))
