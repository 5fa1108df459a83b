"""The chain's reports over HTTP: `GET /v1/reports/{name}?from=&to=&store=` (JSON, for an office key in
`X-Office-Key`) and `GET /office/reports` (an HTML page for the chain's office: a form, a table per store and for
the chain, and an inline SVG bar chart; no script), opened with a signed link (`counterline-central office-link`)
or the key's header. Registered on the API by sync.central.api.

No `from __future__ import annotations` here: FastAPI reads the routes' annotations, and `ReadDb` is local to
`register`, where a postponed annotation could not be resolved."""

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Response
from sqlalchemy.orm import Session, sessionmaker

from sync.central import office, reports
from sync.central.models import utcnow
from sync.central.reports import figures
from sync.central.service.base import CentralError, Forbidden
from sync.central.status_page import _STYLE as _BASE_STYLE

_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_COLOURS = ("#2563eb", "#9ca3af")
_STYLE = (
    _BASE_STYLE
    + "main{max-width:1100px}table{margin-bottom:1em}td.n,th.n{text-align:right}form{margin:1em 0}"
    + "form label{margin-right:.8em}h2{margin-top:1.4em}.note{color:#4b5563}"
)


def _stores(s: Session, who: office.OfficeKey, store: str | None) -> list[str] | None:
    """The stores a request may see: the one asked for (if the key allows it), else all the key allows."""
    if store:
        codes = [c.strip().upper() for c in store.split(",") if c.strip()]
        refused = [c for c in codes if not who.allows(c)]
        if refused:
            raise Forbidden(f"this office key does not cover store {', '.join(refused)}")
        return codes
    if "*" in who.stores:
        return None
    return sorted(who.stores)


def _period(first: str | None, last: str | None) -> tuple[date, date]:
    today = utcnow().date()
    a = reports.parse_day(first, "first") if first else today - timedelta(days=6)
    b = reports.parse_day(last, "last") if last else today
    return a, b


def _cell(kind: str, value: Any) -> str:
    if value == "" or value is None:
        return ""
    if kind == "money":
        return f"{Decimal(value):,.2f}"
    if kind in ("minutes", "percent"):
        return f"{Decimal(value):,.1f}"
    return str(value)


def _table(f: figures.Figure, rows: list[figures.Row]) -> str:
    head = "".join(
        f"<th class='{'n' if kind != 'text' else ''}'>{escape(title)}</th>" for title, kind in f.columns
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='{'n' if kind != 'text' else ''}'>{escape(_cell(kind, v))}</td>"
            for (_t, kind), v in zip(f.columns, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    if not rows:
        body = f"<tr><td colspan='{len(f.columns)}'>Nothing in this period.</td></tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


def bar_chart(f: figures.Figure, rows: list[figures.Row], width: int = 720) -> str:
    """Horizontal bars, one group per row, one bar per chart column: an inline SVG, nothing fetched."""
    if not rows or not f.chart_values:
        return ""
    if f.chart_sums:  # one bar per label, its rows summed (as the till's screen draws it)
        bars = figures.summed_by_label(rows, f.chart_label, f.chart_values)
        labels = [label for label, _sums in bars]
        series = [(f.columns[i][0], [sums[k] for _label, sums in bars]) for k, i in enumerate(f.chart_values)]
    else:
        labels = [str(r[f.chart_label]) for r in rows]
        series = [(f.columns[i][0], [Decimal(str(r[i] or 0)) for r in rows]) for i in f.chart_values]
    high = max([Decimal(1), *(v for _n, vs in series for v in vs)])
    label_w, bar_h, gap = 170, 16, 10
    group = bar_h * len(series) + gap
    height = 30 + group * len(labels)
    span = width - label_w - 90
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
        f"aria-label='{escape(f.title)}' font-family='sans-serif' font-size='12'>"
    ]
    x = label_w
    for i, (name, _vs) in enumerate(series):
        out.append(f"<rect x='{x}' y='6' width='12' height='12' fill='{_COLOURS[i % 2]}'/>")
        out.append(f"<text x='{x + 16}' y='16'>{escape(name)}</text>")
        x += 40 + 7 * len(name)
    for r, text in enumerate(labels):
        top = 28 + r * group
        label = escape(text)[:30]
        out.append(f"<text x='{label_w - 6}' y='{top + group / 2}' text-anchor='end'>{label}</text>")
        for i, (_name, vs) in enumerate(series):
            w = max(0, int(span * vs[r] / high))
            y = top + i * bar_h
            out.append(
                f"<rect class='bar' x='{label_w}' y='{y}' width='{w}' height='{bar_h - 2}' "
                f"fill='{_COLOURS[i % 2]}'/>"
            )
            out.append(f"<text x='{label_w + w + 4}' y='{y + bar_h - 4}'>{escape(str(vs[r]))}</text>")
    out.append("</svg>")
    return "".join(out)


def render(report: reports.ChainReport, link: str, store: str | None) -> str:
    f = report.figure
    options = "".join(
        f"<option value='{k}'{' selected' if k == f.key else ''}>{escape(fig.title)}</option>"
        for k, fig in reports.FIGURES.items()
    )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        "<meta name='referrer' content='no-referrer'><meta name='robots' content='noindex'>",
        f"<title>{escape(f.title)}: the chain</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>{escape(f.title)}</h1>",
        f"<p>{report.first.isoformat()} to {report.last.isoformat()}, each store's local days</p>",
        "<form method='get' action='/office/reports'>",
        f"<label>Report <select name='name'>{options}</select></label>",
        f"<label>From <input type='date' name='from' value='{report.first.isoformat()}'></label>",
        f"<label>To <input type='date' name='to' value='{report.last.isoformat()}'></label>",
        f"<label>Store <input name='store' size='6' value='{escape(store or '')}'></label>",
        f"<input type='hidden' name='link' value='{escape(link)}'>" if link else "",
        "<button type='submit'>Show</button></form>",
        f"<p class='note'>{escape(f.note)}</p>",
        "<h2 id='chain'>The chain</h2>",
        bar_chart(f, report.chain),
        _table(f, report.chain),
    ]
    for s in report.stores:
        parts.append(f"<h2 id='store-{escape(s.code)}'>{escape(s.code)} · {escape(s.name)}</h2>")
        parts.append(_table(f, s.rows))
    parts.append("</main></body></html>")
    return "".join(parts)


def register(app: FastAPI, readers: sessionmaker[Session]) -> None:
    def reading() -> Iterator[Session]:
        with readers.begin() as s:
            yield s

    ReadDb = Annotated[Session, Depends(reading, scope="function")]

    def by_key(s: Session, key: str | None) -> office.OfficeKey:
        who = office.check_key(s, key or "")
        if who is None:
            raise HTTPException(401, "missing, unknown or revoked office key (X-Office-Key)")
        return who

    @app.get("/v1/reports/{name}")
    def chain_report(
        name: str,
        s: ReadDb,
        x_office_key: Annotated[str | None, Header(max_length=200)] = None,
        first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
        last: Annotated[str | None, Query(alias="to", max_length=10)] = None,
        store: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """A chain report (fulfilment or tenders) by store and for the chain, for the chain's office (not a till,
        not the shop)."""
        who = by_key(s, x_office_key)
        a, b = _period(first, last)
        return reports.as_json(reports.run(s, name, a, b, _stores(s, who, store)))

    @app.get("/office/reports", include_in_schema=False)
    def office_page(
        s: ReadDb,
        name: Annotated[str, Query(max_length=40)] = "pickups",
        first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
        last: Annotated[str | None, Query(alias="to", max_length=10)] = None,
        store: Annotated[str | None, Query(max_length=200)] = None,
        link: Annotated[str | None, Query(max_length=80)] = None,
        x_office_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Response:
        who = office.check_link(s, link) if link else office.check_key(s, x_office_key or "")
        if who is None:
            return Response(
                "This link has expired or was revoked: ask for a new one (counterline-central office-link).\n",
                status_code=401,
                media_type="text/plain",
                headers=_PAGE_HEADERS,
            )
        try:
            a, b = _period(first, last)
            report = reports.run(s, name, a, b, _stores(s, who, store))
        except CentralError as exc:
            return Response(f"{exc}\n", status_code=422, media_type="text/plain", headers=_PAGE_HEADERS)
        return Response(render(report, link or "", store), media_type="text/html", headers=_PAGE_HEADERS)


def page_url(base: str, token: str, **params: str) -> str:
    return f"{base.rstrip('/')}/office/reports?{urlencode({**params, 'link': token})}"
