"""Store credit and gift card balances, kept by the central store for every till of the chain.

A customer's store credit (account: the customer's id) and a gift card's balance (account: its code, upper case)
are money the chain owes. Tills send each change as an event (`balance.issued`: a refund to store credit, a tender
taken back; `balance.spent`: a tender), with its own id: applied once (the event's id is the exactly-once guard, the
change's id names its ledger row). The balance is the sum of its changes.

What a till may spend. A till spends against its view of the balance: the last balance the central store gave it
(in its store's feed, or an online lookup: `GET /v1/balances/{kind}/{account}`) plus its own changes not yet sent.
While it cannot reach the central store it may also spend at most `balances.offline_limit` (a till setting, by
default 50.00) of one account in changes not yet sent (app.services.balances states the rule). So an offline
till can overspend by at most that limit: another till (or store) spent the same money meanwhile.

Reconciling. The central store never refuses a spend (the customer has left with the goods): a spend that takes a
balance below zero is applied, and a `balance_overspent` review item (service.review) says by how much, for a
person to settle.

Every store's feed. Each change is published to the feed of the store whose till sent it, as a `balance` change
(`key` "<kind>:<account>", the balance after it), so every till of that store knows it at once; and it is marked
pending for every other store (`BalancePending`), which `publish_pending` (after each push) puts into each of those
feeds, one store and its lock per transaction (taking another store's lock while holding this one's could
deadlock two stores pushing at once), with the balance as it is then. Store credit is a customer's: a store whose
feed never had that customer gets the customer's newest record first, so its tills can attach them and spend the
credit. So credit issued at one store is spendable at every store's tills, online lookup or not.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from sync import protocol
from sync.central import ledger
from sync.central.ledger import Rejected
from sync.central.models import (
    Balance,
    BalanceEntry,
    BalancePending,
    FeedChange,
    StockException,
    Store,
    Terminal,
    utcnow,
)

ZERO = Decimal(0)


def account_of(kind: str, account: str) -> str:
    """A gift card's code is matched without regard to case (as typed or scanned); a customer id as it is."""
    return account.strip().upper() if kind == "gift_card" else account.strip()


def balance_payload(row: Balance) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "account": row.account,
        "balance": ledger.money_text(row.balance),
        "updated_at": row.updated_at.isoformat(),
    }


def lookup(session: Session, kind: str, account: str) -> dict[str, Any]:
    """The balance as the central store knows it now (an account with no changes yet has 0 and `known` false)."""
    if kind not in protocol.BALANCE_KINDS:
        raise Rejected(f"unknown balance kind {kind!r}: store_credit or gift_card")
    row = session.get(Balance, (kind, account_of(kind, account)))
    if row is None:
        return {"kind": kind, "account": account_of(kind, account), "balance": "0.00", "known": False}
    return {**balance_payload(row), "known": True}


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _locked(session: Session, kind: str, account: str) -> Balance:
    """The balance row, made if new, under its row lock. Made with INSERT .. ON CONFLICT DO NOTHING: two stores'
    tills (each under its own store's lock) may touch a new account at once, and neither may fail on it."""
    session.execute(
        _insert(session)(Balance)
        .values(kind=kind, account=account, balance=ZERO, stores=[], updated_at=utcnow())
        .on_conflict_do_nothing()
    )
    stmt = select(Balance).where(Balance.kind == kind, Balance.account == account).with_for_update()
    return session.execute(stmt.execution_options(populate_existing=True)).scalar_one()


def apply_change(session: Session, terminal: Terminal, ev: protocol.Event, spent: bool) -> None:
    """Apply one `balance.issued` or `balance.spent` from a till (see the module's rule)."""
    p = protocol.BalanceChange.model_validate(ev.payload)
    if session.get(BalanceEntry, p.id) is not None:
        raise Rejected(f"balance change {p.id} is already recorded")
    key = (p.kind, account_of(p.kind, p.account))
    row = _locked(session, key[0], key[1])
    before = row.balance
    signed = -p.amount if spent else p.amount
    row.balance = before + signed
    row.updated_at = utcnow()
    if terminal.store_id not in row.stores:
        row.stores = [*row.stores, terminal.store_id]
    session.add(
        BalanceEntry(
            id=p.id,
            kind=key[0],
            account=key[1],
            amount=signed,
            balance_after=row.balance,
            reason=p.reason,
            cause=p.cause or "",
            store_id=terminal.store_id,
            terminal_id=terminal.id,
            event_id=ev.id,
        )
    )
    if spent and row.balance < 0:
        short = min(p.amount, -row.balance)
        session.add(
            StockException(
                store_id=terminal.store_id,
                kind="balance_overspent",
                sku="",
                location="",
                detail={
                    "balance": key[0],
                    "account": key[1],
                    "spent": ledger.money_text(p.amount),
                    "had": ledger.money_text(before),
                    "over": ledger.money_text(short),
                    "till_saw": ledger.money_text(p.seen) if p.seen is not None else None,
                    "cause": p.cause,
                    "terminal": terminal.code,
                },
                event_id=ev.id,
            )
        )
    session.flush()
    ledger.emit(
        session, terminal.store_id, protocol.CHANGE_BALANCE, f"{key[0]}:{key[1]}", balance_payload(row)
    )
    _mark_pending(session, terminal.store_id, key[0], key[1])


def _mark_pending(session: Session, sender: int, kind: str, account: str) -> None:
    """Every other store's feed is to have this balance (`publish_pending`); a row already pending stays one."""
    rows = [
        {"store_id": store_id, "kind": kind, "account": account}
        for store_id in session.scalars(select(Store.id).where(Store.id != sender))
    ]
    if rows:
        session.execute(_insert(session)(BalancePending).values(rows).on_conflict_do_nothing())


def _customer_record(session: Session, store_id: int, customer_id: str) -> dict[str, Any] | None:
    """The customer's newest record in any store's feed, when the feed of `store_id` has none yet."""
    mine = session.scalar(
        select(FeedChange.seq)
        .where(
            FeedChange.store_id == store_id,
            FeedChange.type == protocol.CHANGE_CUSTOMER,
            FeedChange.key == customer_id,
        )
        .limit(1)
    )
    if mine is not None:
        return None
    payload: dict[str, Any] | None = session.scalar(
        select(FeedChange.payload)
        .where(FeedChange.type == protocol.CHANGE_CUSTOMER, FeedChange.key == customer_id)
        .order_by(FeedChange.created_at.desc(), FeedChange.seq.desc())
        .limit(1)
    )
    return payload


def publish_pending(factory: sessionmaker[Session]) -> int:
    """Put the balances pending for a store into its feed (see the module), one store and its lock per
    transaction; returns how many. Called after each push, so another store's tills have it at their next pull."""
    with factory() as session:
        stores = sorted(set(session.scalars(select(BalancePending.store_id))))
    done = 0
    for store_id in stores:
        with factory.begin() as session:
            ledger.lock_store(session, store_id)
            pending = session.scalars(select(BalancePending).where(BalancePending.store_id == store_id)).all()
            for p in sorted(pending, key=lambda r: (r.kind, r.account)):
                row = session.get(Balance, (p.kind, p.account))
                if row is not None:
                    if p.kind == "store_credit":
                        record = _customer_record(session, store_id, p.account)
                        if record is not None:
                            ledger.emit(session, store_id, protocol.CHANGE_CUSTOMER, p.account, record)
                    ledger.emit(
                        session,
                        store_id,
                        protocol.CHANGE_BALANCE,
                        f"{p.kind}:{p.account}",
                        balance_payload(row),
                    )
                    done += 1
                session.execute(
                    delete(BalancePending).where(
                        BalancePending.store_id == store_id,
                        BalancePending.kind == p.kind,
                        BalancePending.account == p.account,
                    )
                )
    return done
