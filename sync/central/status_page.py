"""The customer's order status page (`GET /o/<token>`): plain HTML, no script, every value escaped.

It shows the order's history as the notices recorded it (the same events the customer was written about), what is
held where, tracking numbers, while the order is ready the pickup QR, and once it is collected or shipped its return
label (a QR of `app.domain.prefixes.return_label`, which the Returns desk scans to find the order). The pickup code is kept only as a hash,
so the page can draw its QR only when the link from the "ready" notice brings the code along (`?code=...`) and the
code checks out against that hash; without it the page says the code is in the e-mail.
"""

from __future__ import annotations

import io
from datetime import datetime
from html import escape

import qrcode
import qrcode.image.svg
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import notices
from sync.central.models import Location, Notice, OrderAccess, Product, WebOrder

EVENT_WORDS = {
    "received": "Order received",
    "ready": "Ready for pickup",
    "picked_up": "Picked up",
    "shipped": "Shipped",
    "cancelled": "Cancelled",
}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:40rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 .25rem}.state{display:inline-block;padding:.15rem .6rem;border-radius:1rem;
background:#e6eefc;color:#1b4fb5;font-weight:600}.cancelled{background:#fde8e8;color:#a61b1b}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}td,th{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #e3e5ea}h2{font-size:1.05rem;margin:1.25rem 0 .25rem}.qr svg{width:12rem;height:12rem}
.code{font:600 1.4rem ui-monospace,monospace;letter-spacing:.15em}.muted{color:#636b7a}
"""


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def qr_svg(data: str) -> str:
    """`data` as an inline SVG QR code (drawn on the server: the page needs no script)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    out = io.BytesIO()
    image.save(out)
    text = out.getvalue().decode()
    return text[text.index("<svg") :]  # without the XML declaration, to sit inside HTML


def render(session: Session, order: WebOrder, code: str | None = None) -> str:
    access = session.get(OrderAccess, order.id)
    events = list(session.scalars(select(Notice).where(Notice.order_id == order.id).order_by(Notice.id)))
    name = (order.customer or {}).get("name") or ""
    status = str(order.status)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        "<meta name='referrer' content='no-referrer'><meta name='robots' content='noindex'>",
        f"<title>Order {escape(order.number)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>Order {escape(order.number)}</h1>",
    ]
    if name:
        parts.append(f"<p>For {escape(name)}</p>")
    css = "state cancelled" if status == protocol.lifecycle.OrderState.CANCELLED else "state"
    parts.append(f"<p>Status: <span class='{css}'>{escape(protocol.lifecycle.words(status))}</span></p>")

    if order.refund_due is not None:
        parts.append(
            f"<p>Payment: the {escape(f'{order.refund_due:.2f}')} you paid online is being refunded.</p>"
        )
    elif order.paid is False:
        parts.append("<p>Payment: to be paid at the store when you collect it.</p>")
    if status == protocol.lifecycle.OrderState.READY:
        parts.append(f"<h2>Ready for pickup at {escape(order.store.name)}</h2>")
        if code and access is not None and notices.check_pickup_code(session, order, code):
            code_text = protocol.pickup.normalize(code)
            parts.append(f"<div class='qr'>{qr_svg(code_text)}</div><p class='code'>{escape(code_text)}</p>")
            parts.append("<p class='muted'>Show this code or QR at the counter.</p>")
        else:
            parts.append(
                "<p class='muted'>Your pickup code is in the e-mail that told you the order is ready.</p>"
            )

    if status in (protocol.lifecycle.OrderState.COLLECTED, protocol.lifecycle.OrderState.SHIPPED):
        # The return label: its QR is what the Returns desk of any store scans to find the order.
        label = protocol.prefixes.return_label(order.number)
        parts.append("<h2>Return label</h2>")
        parts.append(f"<div class='qr'>{qr_svg(label)}</div><p class='code'>{escape(label)}</p>")
        parts.append(
            "<p class='muted'>To return items, print this or show it at the returns desk of a store.</p>"
        )
    parts.append("<h2>Items</h2><table><tr><th>Item</th><th>Qty</th><th>Where</th></tr>")
    for line in order.lines:
        loc = session.get(Location, line.location_id)
        store = loc.store.name if loc is not None else ""
        where = {"reserved": store, "shipped": f"shipped from {store}"}.get(line.state, "not available")
        qty = f"{line.qty.normalize():f}"
        product = session.get(Product, line.product_id)
        item = f"{product.name} ({line.sku})" if product is not None else line.sku
        parts.append(f"<tr><td>{escape(item)}</td><td>{escape(qty)}</td><td>{escape(where)}</td></tr>")
    parts.append("</table>")

    tracking = access.tracking if access is not None else []
    if tracking:
        parts.append("<h2>Tracking</h2><ul>")
        parts += [f"<li>{escape(str(t))}</li>" for t in tracking]
        parts.append("</ul>")

    parts.append("<h2>History</h2><table>")
    for ev in events:
        what = EVENT_WORDS.get(ev.kind, ev.kind)
        if (
            ev.kind == "shipped" and "items" in ev.facts
        ):  # one part of a split order (sync.central.order_parts)
            what = "Shipped, order complete" if ev.facts.get("complete") else "Part shipped"
            what += f" from {ev.facts.get('from', '')}"
            if ev.facts.get("tracking"):
                what += " (tracking " + ", ".join(str(t) for t in ev.facts["tracking"]) + ")"
        parts.append(f"<tr><td>{escape(_when(ev.created_at))}</td><td>{escape(what)}</td></tr>")
    parts.append("</table></main></body></html>")
    return "".join(parts)
