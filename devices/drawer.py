"""The cash drawer: it hangs off the receipt printer's drawer port and opens on an ESC/POS pulse.

Its own setting, `devices.drawer` ({"via": "receipt_printer", "pin": 2 or 5}), says which connector pin it is
wired to; `drawer_pin` reads it (the receipt printer's settings are only where the pulse is sent).
"""

from __future__ import annotations

from typing import Any

from devices.printers.connectors import Connector

PINS = (2, 5)


def drawer_pin(drawer: Any, printer: Any = None) -> int:
    """The pin the `devices.drawer` setting names. A receipt printer's older "drawer_pin" counts only where the
    drawer setting names none; ValueError for a pin no drawer port has."""
    pin: Any = drawer.get("pin") if isinstance(drawer, dict) else None
    if pin is None and isinstance(printer, dict):
        pin = printer.get("drawer_pin")
    try:
        value = int(pin if pin is not None else 2)
    except (TypeError, ValueError):
        raise ValueError(f"Drawer settings: pin {pin!r} is not 2 or 5.") from None
    if value not in PINS:
        raise ValueError(f"Drawer settings: pin {value} is not 2 or 5 (the two pins of a drawer port).")
    return value


def open_drawer(connector: Connector, pin: int = 2) -> None:
    """Send the drawer-kick pulse on connector pin 2 or 5 through the receipt printer's connector.

    Raises NotSent / MaybeSent like any job; a MaybeSent drawer kick must not be repeated automatically.
    """
    from devices.printers.escpos_render import drawer_kick_bytes

    connector.send(drawer_kick_bytes(pin))
