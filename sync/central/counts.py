"""Cycle counts set up at the central store: `counterline-central count-setup STORE --location floor [--department
D ...] [--sku S ...]` records the count and sends it to the store's tills as a `count` change of its feed; a till
adds it to its open counts, its associates count it and its manager posts it (`stock.count` events back)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from uuid6 import uuid7

from sync import protocol
from sync.central import ledger, service
from sync.central.models import CountSetup, Location, Product


def setup_count(
    session: Session,
    store_code: str,
    location: str,
    departments: list[str] | None = None,
    skus: list[str] | None = None,
    title: str = "",
) -> CountSetup:
    store = service.get_store(session, store_code)
    if (
        session.scalar(select(Location).where(Location.store_id == store.id, Location.code == location))
        is None
    ):
        raise service.NotFound(f"store {store.code} has no location {location!r}")
    wanted = sorted({s.strip().upper() for s in skus or [] if s.strip()})
    known = set(session.scalars(select(Product.sku).where(Product.sku.in_(wanted))))
    missing = [s for s in wanted if s not in known]
    if missing:
        raise service.NotFound(f"no product {', '.join(missing)}")
    payload = protocol.CountSetup(
        id=uuid7(),
        location=location,
        departments=sorted({d.strip() for d in departments or [] if d.strip()}),
        skus=wanted,
        title=title,
    )
    seq = ledger.emit(
        session, store.id, protocol.CHANGE_COUNT, str(payload.id), payload.model_dump(mode="json")
    )
    row = CountSetup(
        id=payload.id,
        store_id=store.id,
        location=location,
        scope={"departments": payload.departments, "skus": payload.skus},
        title=title,
        seq=seq,
    )
    session.add(row)
    return row


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    setup = sub.add_parser(
        "count-setup", parents=[common], help="send a store's tills a cycle count of a location to do"
    )
    setup.add_argument("store")
    setup.add_argument("--location", default="floor")
    setup.add_argument("--department", action="append", default=[], help="count this department (repeatable)")
    setup.add_argument("--sku", action="append", default=[], help="count this item (repeatable)")
    setup.add_argument("--title", default="")


def _count_setup(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory.begin() as s:
        row = setup_count(s, args.store, args.location, args.department, args.sku, args.title)
        print(f"count {row.id} sent to store {args.store.upper()} (feed seq {row.seq})")
    return 0


COMMANDS: dict[str, Callable[[sessionmaker[Session], argparse.Namespace], int]] = {
    "count-setup": _count_setup
}
