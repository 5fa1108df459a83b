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
person to settle. Each change is published to the feed of the store whose till sent it, as a `balance` change
(`key` "<kind>:<account>", the balance after it), so every till of that store knows it at once; a till of another
store learns it by the online lookup (publishing into every store's feed would take every store's lock at once).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import ledger
from sync.central.ledger import Rejected
from sync.central.models import Balance, BalanceEntry, StockException, Terminal, utcnow

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


def _locked(session: Session, kind: str, account: str) -> Balance:
    """The balance row, made if new, under its row lock. Made with INSERT .. ON CONFLICT DO NOTHING: two stores'
    tills (each under its own store's lock) may touch a new account at once, and neither may fail on it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Balance)
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
