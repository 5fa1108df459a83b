"""A weighing scale on a serial port (RS-232, USB-CDC, or a serial-to-Ethernet box), read once when asked.

The Pack bench weighs each box: where the store set `devices.scale` to ``{"type": "serial", "port": ...}``, F4 asks
the scale for its weight instead of the packer typing it. Most bench scales answer a request command (``W`` + CR
by default; ``command`` in the setting, empty for a scale that sends continuously) with one line such as
``ST,GS,+  1.250kg``, ``   1.250 kg`` or ``0.480KG``: the weight, its unit (kg, g, lb, oz) and often a status,
where ``US`` (unstable) or ``OL`` (overload) mean the reading cannot be used. Ports are opened through
`serial.serial_for_url`, so ``/dev/ttyUSB0``, ``COM3`` and ``socket://host:port`` all work. No Qt: the screen reads
it on a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import serial

__all__ = ["ScaleConfig", "ScaleError", "config_from_setting", "parse_reading", "read_weight"]

_READING = re.compile(r"([+-]?)\s*(\d+(?:[.,]\d+)?)\s*(kg|g|lb|oz)?", re.IGNORECASE)
_TO_KG = {
    "kg": Decimal(1),
    "g": Decimal("0.001"),
    "lb": Decimal("0.45359237"),
    "oz": Decimal("0.028349523125"),
}
_MAX_LINE = 128


class ScaleError(Exception):
    """The scale gave no usable weight; the message says what to do."""


@dataclass(frozen=True)
class ScaleConfig:
    port: str
    baudrate: int = 9600
    command: bytes = b"W\r"
    timeout_s: float = 2.0


def config_from_setting(value: Any) -> ScaleConfig | None:
    """The `devices.scale` setting as a config; None where no scale is set up. ValueError names what is wrong."""
    if not isinstance(value, dict) or value.get("type") != "serial":
        return None
    port = str(value.get("port") or "").strip()
    if not port:
        raise ValueError("Scale: give the serial port (e.g. /dev/ttyUSB0 or COM3).")
    try:
        baudrate = int(value.get("baudrate") or 9600)
        timeout = float(value.get("timeout_s") or 2.0)
    except (TypeError, ValueError):
        raise ValueError("Scale: the baud rate and time-out are numbers.") from None
    command = value.get("command", "W\r")
    return ScaleConfig(port, baudrate, str(command).encode("ascii", "replace"), timeout)


def parse_reading(line: bytes | str) -> Decimal:
    """The weight in kg (3 places) of one line a scale sent; ScaleError for an unsteady, overloaded or empty one."""
    text = line.decode("ascii", "replace") if isinstance(line, bytes) else line
    upper = text.upper()
    if re.search(r"\bOL\b", upper) or "OVER" in upper:
        raise ScaleError("The scale is overloaded: take the box off and check it.")
    if re.search(r"\bUS\b", upper) or "?" in text:
        raise ScaleError("The scale is not steady yet: wait a moment, then weigh again (F4).")
    match = _READING.search(text)
    if match is None:
        raise ScaleError(
            f"The scale sent something that is not a weight ({text.strip()[:30]!r}): type the weight."
        )
    sign, number, unit = match.groups()
    kg = Decimal(number.replace(",", ".")) * _TO_KG[(unit or "kg").lower()]
    if sign == "-" or kg <= 0:
        raise ScaleError("The scale reads nothing: put the box on it (and zero it when it is empty).")
    return kg.quantize(Decimal("0.001"))


def read_weight(config: ScaleConfig, opener: Callable[..., Any] = serial.serial_for_url) -> Decimal:
    """Ask the scale once and read its answer (one line); ScaleError says why when there is no usable weight."""
    try:
        port = opener(config.port, baudrate=config.baudrate, timeout=config.timeout_s)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise ScaleError(
            f"The scale on {config.port} cannot be opened ({exc}): check it is plugged in."
        ) from exc
    try:
        port.reset_input_buffer()
        if config.command:
            port.write(config.command)
        data = b""
        while len(data) < _MAX_LINE:
            chunk = port.read(1)
            if not chunk:
                break  # the time-out: no (more) answer
            if chunk in b"\r\n":
                if data.strip():
                    break
                continue
            data += chunk
    except (serial.SerialException, OSError) as exc:
        raise ScaleError(f"The scale on {config.port} stopped answering ({exc}): type the weight.") from exc
    finally:
        port.close()
    if not data.strip():
        raise ScaleError(f"No answer from the scale on {config.port}: check it is on, or type the weight.")
    return parse_reading(data)
