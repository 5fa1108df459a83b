"""The hold window's commands of `counterline-central` (registered by sync.central.cli): `set-hold-window STORE
DAYS` and `expire-orders` (one run; from cron or a systemd timer, e.g. every 15 minutes)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from sync.central import hold


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    window = sub.add_parser(
        "set-hold-window",
        parents=[common],
        help=f"days a ready pickup or curbside order is held before it expires (default {hold.DEFAULT_HOLD_DAYS})",
    )
    window.add_argument("store")
    window.add_argument("days", type=int)
    expire = sub.add_parser(
        "expire-orders",
        parents=[common],
        help="remind customers a day before their pickup's hold window ends, and expire the orders past it",
    )
    expire.add_argument("--store", default=None, help="only this store's orders")


def _set_hold_window(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory.begin() as s:
        store = hold.set_hold_window(s, args.store, args.days)
        print(f"{store.code}: ready pickup and curbside orders are held {store.hold_days} days")
    return 0


def _expire_orders(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    report = hold.expire_orders(factory, store=args.store)
    print(f"reminded {len(report.reminded)}, expired {len(report.expired)}, failed {len(report.errors)}")
    for number in report.reminded:
        print(f"  reminded {number}")
    for number in report.expired:
        print(f"  expired {number}")
    for error in report.errors[:20]:
        print(f"  error {error}")
    return 1 if report.errors else 0


COMMANDS: dict[str, Callable[[sessionmaker[Session], argparse.Namespace], int]] = {
    "set-hold-window": _set_hold_window,
    "expire-orders": _expire_orders,
}
