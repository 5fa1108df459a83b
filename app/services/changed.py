"""What a transaction changed, read from the transaction itself, so screens need not be told (or guess).

`watch(session)` collects the tables a transaction writes: the rows flushed (after_flush: new, changed, deleted)
and the bulk statements run through it (do_orm_execute: insert, update, delete). `changes_of(tables)` turns them
into the `Changes` screens redraw by. The op helper (ui/ops.py) watches every call and reports the result once it
has committed; a service may still return a `Changes` of its own (notes for the message bar): both are merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.services.base import Changes

# Which redraw each table's rows concern. A table not named here (the audit log, number sequences, approvals)
# concerns no screen's list.
FLAGS: dict[str, tuple[str, ...]] = {
    "print_jobs": ("print_queue",),
    "shifts": ("shift",),
    "cash_movements": ("shift",),
    "orders": ("sale", "orders"),
    "order_lines": ("sale",),
    "payments": ("sale",),
    "stock_movements": ("stock",),
    "stock_balances": ("stock",),
    "central_stock": ("stock",),
    "deliveries": ("stock",),  # a delivery expected (from sync) or received
    "cycle_counts": ("stock",),  # a count set up (here or by the central store), posted or cancelled
    "outbox": ("outbox",),
    "parked_changes": ("outbox",),
    "products": ("catalog",),
    "barcodes": ("catalog",),
    "departments": ("catalog",),
    "tax_classes": ("catalog",),
    "staff_users": ("staff",),
    "settings": ("settings",),
    "stores": ("settings",),
    "terminal": ("settings",),
}


def watch(session: Session) -> set[str]:
    """The set of table names this session writes from now on (filled as it flushes and executes)."""
    tables: set[str] = set()

    def flushed(sess: Session, _ctx: UOWTransaction) -> None:
        for obj in chain(sess.new, sess.dirty, sess.deleted):
            table = getattr(obj, "__table__", None)
            if table is not None:
                tables.add(table.name)

    def executed(state: ORMExecuteState) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            table: Any = getattr(state.statement, "table", None)
            name = getattr(table, "name", None)
            if isinstance(name, str):
                tables.add(name)

    event.listen(session, "after_flush", flushed)
    event.listen(session, "do_orm_execute", executed)
    return tables


def changes_of(tables: Iterable[str]) -> Changes:
    """The redraws the written tables call for."""
    changes = Changes()
    for table in tables:
        for flag in FLAGS.get(table, ()):
            setattr(changes, flag, True)
    return changes
