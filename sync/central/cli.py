"""Command line of the central store: serve the API and run the operator's chores.

`counterline-central [--database-url URL] COMMAND ...`; the URL also comes from COUNTERLINE_CENTRAL_DATABASE_URL
and defaults to `sqlite:///central.db`. Every command migrates the database first. Bad input ends with one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sync import protocol
from sync.central import (
    access_cli,
    counts,
    deliveries,
    hold_cli,
    notices,
    report_cli,
    retention_cli,
    routing,
    service,
    serving,
    stock,
)
from sync.central.db import database_url, make_engine, make_sessionmaker, migrate
from sync.central.models import Location, Store, TaxClass, Terminal

EXIT_BAD_INPUT = 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    # SUPPRESS keeps a subcommand's absent option from hiding the one given before the subcommand.
    common.add_argument(
        "--database-url", default=argparse.SUPPRESS, help="SQLAlchemy URL of the central database"
    )
    parser = _Parser(prog="counterline-central", description="Counterline central store service")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL of the central database")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", parents=[common], help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument(
        "--docs",
        action="store_true",
        help="also serve /docs, /redoc and /openapi.json (off by default; or COUNTERLINE_CENTRAL_DOCS=1)",
    )
    serve.add_argument(
        "--send-notices",
        action="store_true",
        help="also send customer notices in the background (SMTP from COUNTERLINE_CENTRAL_SMTP_*, else .eml files)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes sharing the port (default 1); with PostgreSQL, several hosts may serve one database",
    )

    send = sub.add_parser(
        "send-notices",
        parents=[common],
        help="send pending customer notices (SMTP from COUNTERLINE_CENTRAL_SMTP_HOST, else a folder of .eml files)",
    )
    send.add_argument(
        "--outbox", type=Path, default=None, help="folder for .eml files when no SMTP host is set"
    )
    send.add_argument(
        "--loop", action="store_true", help="keep sending every --interval seconds until stopped"
    )
    send.add_argument("--interval", type=float, default=10.0)

    access_cli.add_commands(sub, common)

    tax = sub.add_parser("set-tax-class", parents=[common], help="create or change a tax class")
    tax.add_argument("code")
    tax.add_argument("rate", help="fraction, e.g. 0.20 for 20 %%")
    tax.add_argument("--name", default="")

    catalog = sub.add_parser("import-catalog", parents=[common], help="import products from a CSV file")
    catalog.add_argument("file", type=Path)

    order = sub.add_parser("place-order", parents=[common], help="place a test web order")
    order.add_argument("store")
    order.add_argument("--sku", action="append", required=True)
    order.add_argument("--qty", action="append", required=True)
    order.add_argument("--fulfilment", choices=["pickup", "curbside", "ship"], default="pickup")
    order.add_argument("--number", default=None)
    order.add_argument(
        "--ship-to", default=None, metavar="LAT,LON", help="where a shipped order goes (routing)"
    )
    order.add_argument(
        "--pay-at-pickup", action="store_true", help="not paid online: the store takes the payment at pickup"
    )

    imp = sub.add_parser(
        "import-stock",
        parents=[common],
        help="set on-hand per location from a CSV sku,location,quantity (a count)",
    )
    imp.add_argument("store")
    imp.add_argument("file", type=Path)
    imp.add_argument("--reason", required=True, help="why the count (e.g. 'opening stock')")
    imp.add_argument("--reference", default="")

    receive = sub.add_parser(
        "receive", parents=[common], help="receive goods at a store (purchase or transfer in)"
    )
    receive.add_argument("store")
    receive.add_argument("--sku", action="append", required=True)
    receive.add_argument("--qty", action="append", required=True)
    receive.add_argument("--location", default="floor")
    receive.add_argument("--source", choices=["purchase", "transfer"], default="purchase")
    receive.add_argument("--reference", default="")

    move = sub.add_parser("transfer", parents=[common], help="send stock to another store (in transit)")
    move.add_argument("from_store")
    move.add_argument("to_store")
    move.add_argument("--sku", action="append", required=True)
    move.add_argument("--qty", action="append", required=True)
    move.add_argument("--from-location", default="floor")
    move.add_argument(
        "--reference", default="", help="the transfer's number (the receiving store's delivery)"
    )
    deliveries.add_commands(sub, common)
    hold_cli.add_commands(sub, common)
    retention_cli.add_commands(sub, common)
    report_cli.add_commands(sub, common)
    counts.add_commands(sub, common)

    safety = sub.add_parser(
        "set-safety-stock", parents=[common], help="keep a quantity back from web orders (store, sku or both)"
    )
    safety.add_argument("qty")
    safety.add_argument("--store", default=None)
    safety.add_argument("--sku", default=None)

    avail = sub.add_parser(
        "availability", parents=[common], help="on hand, reserved, safety and available of a sku"
    )
    avail.add_argument("sku")

    trace = sub.add_parser("order-trace", parents=[common], help="how a web order was routed (for support)")
    trace.add_argument("order")

    handback = sub.add_parser(
        "hand-back", parents=[common], help="a store cannot fulfil a line: route it again"
    )
    handback.add_argument("order")
    handback.add_argument("line", type=int)
    handback.add_argument("missing")
    handback.add_argument("--reason", choices=["short", "damaged"], default="short")

    cancel = sub.add_parser("cancel-order", parents=[common], help="cancel a web order by number or id")
    cancel.add_argument("number")

    sub.add_parser("status", parents=[common], help="print each store's feed head, terminals and exceptions")

    trail = sub.add_parser(
        "audit", parents=[common], help="check each terminal's audit chain as received: gaps and broken links"
    )
    trail.add_argument("--store", default=None)

    review = sub.add_parser("exceptions", parents=[common], help="list exceptions for review, or resolve one")
    review.add_argument("--store", default=None)
    review.add_argument("--all", action="store_true", help="include resolved ones")
    review.add_argument("--resolve", type=int, default=None, metavar="ID", help="mark exception ID resolved")

    limits = sub.add_parser(
        "set-return-limits",
        parents=[common],
        help="the chain-wide rolling limit of returns without a receipt",
    )
    limits.add_argument("--items", type=int, default=None, help="items per customer in the window")
    limits.add_argument("--amount", default=None, help="refunds per customer in the window, e.g. 150.00")
    limits.add_argument("--days", type=int, default=None, help="the rolling window in days")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        return _run(args)
    except service.CentralError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except ArgumentError as exc:
        print(f"error: bad database URL: {exc}", file=sys.stderr)
    except OperationalError as exc:
        print(f"error: cannot use the database: {str(exc.orig).splitlines()[0]}", file=sys.stderr)
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
    return EXIT_BAD_INPUT


def _run(args: argparse.Namespace) -> int:
    url = database_url(args.database_url)
    if args.command == "serve":
        return serving.serve(url, args.host, args.port, args.docs or None, args.send_notices, args.workers)
    engine = make_engine(url)
    try:
        migrate(engine=engine)
        return _COMMANDS[args.command](make_sessionmaker(engine), args)
    finally:
        engine.dispose()


def _send_notices(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    transport = notices.transport_from_env(args.outbox)
    where = getattr(transport, "folder", None) or f"{getattr(transport, 'host', '')} (SMTP)"
    while True:
        report = notices.send_pending(factory, transport)
        if report.sent or report.retried or report.failed or report.skipped or not args.loop:
            print(
                f"notices to {where}: {report.sent} sent, {report.retried} to retry, {report.failed} failed, "
                f"{report.skipped} skipped",
                flush=True,
            )
            for error in report.errors[:5]:
                print(f"  {error}", flush=True)
        if not args.loop:
            return 0
        try:
            time.sleep(args.interval)
        except KeyboardInterrupt:  # Ctrl-C between rounds: a notice being sent is never cut off halfway
            return 0


def _set_tax_class(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory.begin() as s:
        code = service.set_tax_class(s, args.code, args.rate, args.name).code
    with factory() as s:  # what was stored, read back: the rate is kept exactly or refused
        tax = s.get(TaxClass, code)
        assert tax is not None
        rate = tax.rate.normalize()
        print(f"tax class {tax.code} set to {rate:f} ({(rate * 100).normalize():f} %), kept exactly")
    return 0


def _import_catalog(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise service.CentralError(f"{args.file} is not UTF-8 text") from exc
    with factory.begin() as s:
        count = service.import_catalog(s, text)
    print(f"imported {count} products")
    return 0


def _place_order(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    if len(args.sku) != len(args.qty):
        raise service.CentralError("give one --qty for each --sku")
    lines = []
    for sku, qty in zip(args.sku, args.qty, strict=True):
        try:
            amount = Decimal(qty)
        except InvalidOperation as exc:
            raise service.CentralError(f"quantity {qty!r} is not a number") from exc
        if not amount.is_finite() or amount <= 0:
            raise service.CentralError(f"quantity {qty!r} must be more than 0")
        lines.append(protocol.OrderLineRequest(sku=sku, qty=amount))
    ship_to = None
    if args.ship_to is not None:
        lat, _, lon = args.ship_to.partition(",")
        try:
            ship_to = protocol.GeoPoint(latitude=Decimal(lat.strip()), longitude=Decimal(lon.strip()))
        except (InvalidOperation, ValueError):
            raise service.CentralError("--ship-to is LAT,LON in degrees, e.g. 53.48,-2.24") from None
    request = protocol.OrderRequest(
        store=args.store,
        number=args.number,
        fulfilment=args.fulfilment,
        lines=lines,
        ship_to=ship_to,
        paid=False if args.pay_at_pickup else None,
    )
    with factory.begin() as s:
        order = service.place_order(s, request)
        print(order.number)
    return 0


def _stock_lines(skus: list[str], qtys: list[str]) -> list[stock.StockLine]:
    if len(skus) != len(qtys):
        raise service.CentralError("give one --qty for each --sku")
    return [
        stock.StockLine(sku, stock.parse_qty(q, f"quantity of {sku}"))
        for sku, q in zip(skus, qtys, strict=True)
    ]


def _import_stock(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise service.CentralError(f"{args.file} is not UTF-8 text") from exc
    with factory.begin() as s:
        doc = stock.import_on_hand(s, args.store, text, args.reason, args.reference)
        print(
            f"counted {doc.lines} line(s) at {args.store.upper()} ({doc.reason}); its tills see it at their next sync"
        )
    return 0


def _receive(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    lines = _stock_lines(args.sku, args.qty)
    with factory.begin() as s:
        doc = stock.receive(
            s, args.store, lines, location=args.location, source=args.source, reference=args.reference
        )
        print(f"received {doc.lines} line(s) at {args.store.upper()} {args.location} ({doc.reason})")
    return 0


def _transfer(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    return deliveries.run_transfer(factory, args, _stock_lines(args.sku, args.qty))


def _set_safety_stock(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    qty = stock.parse_qty(args.qty, "safety stock", allow_zero=True)
    with factory.begin() as s:
        stock.set_safety_stock(s, args.store, args.sku, qty)
    scope = " of ".join(x for x in (args.sku, args.store and f"store {args.store.upper()}") if x)
    print(f"safety stock {qty} kept back from web orders at each location ({scope})")
    return 0


def _availability(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory() as s:
        rows = stock.availability(s, args.sku)
    print(f"{'store':<6} {'location':<10} {'on hand':>10} {'reserved':>10} {'safety':>10} {'available':>10}")
    for r in rows:
        print(
            f"{r['store']:<6} {r['location']:<10} {r['on_hand']:>10} {r['reserved']:>10} {r['safety']:>10} "
            f"{r['available']:>10}"
        )
    return 0


def _order_trace(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory() as s:
        order, rows = routing.traces(s, args.order)
        print(f"order {order.number} ({order.fulfilment}, {order.status})")
        for t in rows:
            print(f"{t.at:%Y-%m-%d %H:%M:%S} {t.kind}: {t.outcome}")
            print(f"  rule: {t.rule}")
            for c in t.candidates:
                dist = f" {c['distance_km']} km" if "distance_km" in c else ""
                seen = ", ".join(f"{sku} {v['available']} available" for sku, v in c["stock"].items())
                print(f"  candidate {c['store']}/{c['location']}{dist}: {seen or 'none'}")
            for ch in t.chosen:
                print(
                    f"  chose line {ch['line']} {ch['sku']} x {ch['qty']} from {ch['store']}/{ch['location']}"
                )
    return 0


def _hand_back(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    missing = stock.parse_qty(args.missing, "missing quantity")
    with factory.begin() as s:
        order = routing.hand_back(s, args.order, args.line, missing, args.reason, by="cli")
        line = order.lines[args.line - 1]
        # A pickup keeps what is left on the line; the missing part, when it found no place, is the last line.
        last = order.lines[-1]
        if line.state != "reserved" or (
            last is not line and last.sku == line.sku and last.state != "reserved"
        ):
            print(
                f"order {order.number}: line {args.line} handed back; no location can take it, nothing is held"
            )
        else:
            where = ", ".join(
                f"{ln.qty} at {loc.store.code}/{loc.code}"
                for ln in order.lines
                if ln.sku == line.sku and ln.state == "reserved" and (loc := s.get(Location, ln.location_id))
            )
            print(
                f"order {order.number}: line {args.line} handed back and routed again ({line.sku}: {where})"
            )
    return 0


def _cancel_order(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory.begin() as s:
        order = service.cancel_order(s, args.number, by="cli")
        print(f"order {order.number} cancelled")
    return 0


def _status(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory() as s:
        print(
            json.dumps({"protocol_version": protocol.PROTOCOL_VERSION, "stores": service.status_summary(s)})
        )
    return 0


def _exceptions(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    if args.resolve is not None:
        with factory.begin() as s:
            service.resolve_exception(s, args.resolve)
        print(f"exception {args.resolve} resolved")
        return 0
    with factory() as s:
        rows = service.list_exceptions(s, args.store, args.all)
    for row in rows:
        where = f"{row['sku']}@{row['location']}" if row["sku"] else ""
        print(f"{row['id']:>6}  {row['store']:<6} {row['kind']:<22} {where:<24} {json.dumps(row['detail'])}")
    print(f"{len(rows)} exception(s)" + ("" if args.all else " open"))
    return 0


def _set_return_limits(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    """Set the parts given; print the limits in force."""
    given = {"items": args.items, "amount": args.amount, "days": args.days}
    if args.amount is not None:
        try:
            amount = Decimal(args.amount)
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise service.CentralError("--amount: give money in whole cents, e.g. 150.00")
    if any(isinstance(v, int) and v < 0 for v in given.values()):
        raise service.CentralError("--items and --days cannot be negative")
    with factory.begin() as s:
        for part, value in given.items():
            if value is not None:
                service.set_central_setting(s, f"returns.no_receipt_{part}", value)
        shown = {part: service.central_setting(s, f"returns.no_receipt_{part}") for part in given}
    print(json.dumps(shown))
    return 0


def _audit(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    """Exit 1 where a terminal's received chain has a gap or a broken link."""
    bad = 0
    with factory() as s:
        query = select(Terminal).join(Store).order_by(Store.code, Terminal.code)
        if args.store:
            query = query.where(Store.code == args.store.upper())
        for terminal in s.scalars(query):
            head = service.audit_head(s, terminal.id)
            state = "ok"
            if head.missing or head.broken_at is not None:
                bad += 1
                state = "PROBLEM:"
                if head.missing:
                    state += f" entries missing {head.missing}"
                if head.broken_at is not None:
                    state += f" chain broken at {head.broken_at}"
            print(
                f"{terminal.store.code:<6} {terminal.code:<6} {head.count:>8} entries, last {head.last_seq}  {state}"
            )
    return 1 if bad else 0


_COMMANDS = {
    "set-tax-class": _set_tax_class,
    "import-catalog": _import_catalog,
    "place-order": _place_order,
    "send-notices": _send_notices,
    "cancel-order": _cancel_order,
    "import-stock": _import_stock,
    "receive": _receive,
    "transfer": _transfer,
    "expect-delivery": deliveries.run_expect,
    "delivery-differences": deliveries.run_differences,
    "set-safety-stock": _set_safety_stock,
    "availability": _availability,
    "order-trace": _order_trace,
    "hand-back": _hand_back,
    "status": _status,
    "exceptions": _exceptions,
    "set-return-limits": _set_return_limits,
    "audit": _audit,
    **access_cli.COMMANDS,
    **hold_cli.COMMANDS,
    **retention_cli.COMMANDS,
    **report_cli.COMMANDS,
    **counts.COMMANDS,
}


if __name__ == "__main__":
    sys.exit(main())
