"""Feed retention's command of `counterline-central` (registered by sync.central.cli): `compact-feed --keep-days N`
(one run; from cron or a systemd timer, e.g. nightly). See service.feed.compact_feed."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from sync.central import service

DEFAULT_KEEP_DAYS = 90


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    compact = sub.add_parser(
        "compact-feed",
        parents=[common],
        help="remove change-feed entries older than --keep-days that a later entry of the same key replaces; "
        "a till further behind takes a snapshot",
    )
    compact.add_argument(
        "--keep-days",
        type=float,
        default=DEFAULT_KEEP_DAYS,
        help=f"keep every entry of the last N days (default {DEFAULT_KEEP_DAYS})",
    )


def _compact_feed(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    if not 0 <= args.keep_days <= 100_000:
        raise service.CentralError("--keep-days must be from 0 to 100000")
    with factory.begin() as s:
        done = service.compact_feed(s, args.keep_days)
    for store in done:
        print(
            f"{store.store}: {store.removed} feed entries removed; tills below seq {store.floor} take a snapshot"
        )
    return 0


COMMANDS: dict[str, Callable[[sessionmaker[Session], argparse.Namespace], int]] = {
    "compact-feed": _compact_feed,
}
