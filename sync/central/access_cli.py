"""The stores', terminals' and storefront keys' commands of `counterline-central` (registered by sync.central.cli):
`create-store`, `set-store-tax`, `set-store-coordinates`, `enroll-terminal`, `revoke-terminal`, `create-api-key` and
`revoke-key`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from sync.central import service


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    store = sub.add_parser("create-store", parents=[common], help="create a store and its locations")
    store.add_argument("code")
    store.add_argument("name")
    store.add_argument("--currency", default="EUR")
    store.add_argument("--locale", default="en")
    store.add_argument("--timezone", default="UTC")

    enrol = sub.add_parser("enroll-terminal", parents=[common], help="print a one-time enrolment code")
    enrol.add_argument("store")
    enrol.add_argument("terminal_code")
    enrol.add_argument("--hours", type=float, default=24.0, help="hours the code stays valid")

    store_tax = sub.add_parser(
        "set-store-tax", parents=[common], help="set how a store's tills tax and round (sent to them by sync)"
    )
    store_tax.add_argument("store")
    store_tax.add_argument(
        "--mode", choices=service.TAX_MODES, default=None, help="shelf prices include tax or not"
    )
    store_tax.add_argument(
        "--rounding",
        choices=service.TAX_ROUNDINGS,
        default=None,
        help="round tax per line, per rate or per order",
    )
    store_tax.add_argument("--cash-step", default=None, help="cash rounding step: 0.05, 0.10 or 0 for none")

    where = sub.add_parser("set-store-coordinates", parents=[common], help="where a store is, for routing")
    where.add_argument("store")
    where.add_argument("latitude")
    where.add_argument("longitude")

    key = sub.add_parser("create-api-key", parents=[common], help="print a new storefront API key")
    key.add_argument("--label", default="")
    key.add_argument("--store", action="append", default=[], help="a store the key is for (repeatable)")
    key.add_argument("--all-stores", action="store_true", help="the key is for every store of the chain")

    revoke_key = sub.add_parser(
        "revoke-key", parents=[common], help="revoke a storefront API key (by its id or the key itself)"
    )
    revoke_key.add_argument("key")

    revoke_terminal = sub.add_parser(
        "revoke-terminal",
        parents=[common],
        help="end a terminal's token (and a replaced one still in its grace) at once; enrol it again to return",
    )
    revoke_terminal.add_argument("store")
    revoke_terminal.add_argument("terminal_code")


def _create_store(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory.begin() as s:
        store = service.create_store(s, args.code, args.name, args.currency, args.locale, args.timezone)
        print(f"store {store.code} created with locations floor, backroom, quarantine")
    return 0


def _enroll_terminal(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    from datetime import timedelta

    if not 0 < args.hours <= 24 * 30:
        raise service.CentralError("--hours must be between 0 and 720")
    with factory.begin() as s:
        code = service.issue_enrolment_code(s, args.store, args.terminal_code, timedelta(hours=args.hours))
    print(code)
    return 0


def _set_store_tax(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    if args.mode is None and args.rounding is None and args.cash_step is None:
        raise service.CentralError("give --mode, --rounding or --cash-step (or several)")
    with factory.begin() as s:
        store = service.set_store_tax(s, args.store, args.mode, args.rounding, args.cash_step)
        step = store.cash_rounding or "none"
        print(
            f"store {store.code}: tax {store.tax_mode}, rounded per {store.tax_rounding}, cash rounding {step}; "
            "its tills take it at their next sync"
        )
    return 0


def _set_store_coordinates(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    try:
        lat, lon = float(args.latitude), float(args.longitude)
    except ValueError:
        raise service.CentralError(
            "latitude and longitude are numbers in degrees, e.g. 51.5072 -0.1276"
        ) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise service.CentralError("latitude is between -90 and 90, longitude between -180 and 180")
    with factory.begin() as s:
        store = service.get_store(s, args.store)
        store.latitude, store.longitude = lat, lon
        print(f"store {store.code} is at {lat}, {lon}")
    return 0


def _create_api_key(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    """The key on stdout (for a script to keep), what it is for on stderr."""
    with factory.begin() as s:
        key_id, key = service.create_api_key(s, args.label, args.store, args.all_stores)
        stores = ", ".join(sorted({c.upper() for c in args.store}))
    scope = "every store" if args.all_stores else f"store(s) {stores}"
    print(key)
    print(
        f"API key {key_id} for {scope}; revoke it with `counterline-central revoke-key {key_id}`",
        file=sys.stderr,
    )
    return 0


def _revoke_key(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory.begin() as s:
        row = service.revoke_api_key(s, args.key)
        print(f"API key {row.id} ({row.label or 'no label'}) revoked: refused from the next request on")
    return 0


def _revoke_terminal(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory.begin() as s:
        terminal = service.revoke_terminal(s, args.store, args.terminal_code)
        print(
            f"terminal {terminal.code} of store {terminal.store.code} revoked: its token is refused from the next "
            "request on; enrol it again (enroll-terminal) to bring it back"
        )
    return 0


COMMANDS: dict[str, Callable[[sessionmaker[Session], argparse.Namespace], int]] = {
    "create-store": _create_store,
    "enroll-terminal": _enroll_terminal,
    "set-store-tax": _set_store_tax,
    "set-store-coordinates": _set_store_coordinates,
    "create-api-key": _create_api_key,
    "revoke-key": _revoke_key,
    "revoke-terminal": _revoke_terminal,
}
