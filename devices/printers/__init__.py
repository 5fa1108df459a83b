"""Printers: render device-neutral documents to printer bytes and move them through connectors.

`render(document, target, **opts)` turns an `app.documents` Document into ESC/POS, ZPL or PDF bytes;
`make_connector(config)` gives the connector that sends them. Renderers are imported on first use so a
terminal that only prints PDFs never loads python-escpos, and vice versa.
"""

from __future__ import annotations

from typing import Any, Literal

from app.documents.model import Document
from devices.printers.connectors import (
    Connector,
    MaybeSent,
    NotSent,
    PrinterError,
    PrinterStatus,
    make_connector,
)

Target = Literal["escpos", "zpl", "pdf"]


def render(document: Document, target: Target, **opts: Any) -> bytes:
    """Bytes for `document` in the printer language `target`; opts go to render_escpos / render_zpl /
    render_pdf (profile, logos, qr_size, barcode_height / dpi, media / roll_mm)."""
    if target == "escpos":
        from devices.printers.escpos_render import render_escpos

        return render_escpos(document, **opts)
    if target == "zpl":
        from devices.printers.zpl_render import render_zpl

        return render_zpl(document, **opts)
    if target == "pdf":
        from devices.printers.pdf_render import render_pdf

        return render_pdf(document, **opts)
    raise ValueError(f"unknown print target {target!r}")


__all__ = [
    "Connector",
    "MaybeSent",
    "NotSent",
    "PrinterError",
    "PrinterStatus",
    "Target",
    "make_connector",
    "render",
]
