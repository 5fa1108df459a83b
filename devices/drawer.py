"""The cash drawer: it hangs off the receipt printer's drawer port and opens on an ESC/POS pulse."""

from __future__ import annotations

from devices.printers.connectors import Connector


def open_drawer(connector: Connector, pin: int = 2) -> None:
    """Send the drawer-kick pulse on connector pin 2 or 5 through the receipt printer's connector.

    Raises NotSent / MaybeSent like any job; a MaybeSent drawer kick must not be repeated automatically.
    """
    from devices.printers.escpos_render import drawer_kick_bytes

    connector.send(drawer_kick_bytes(pin))
