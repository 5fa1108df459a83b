"""The Pay dialog's balance look-up (ui.balance_lookup) against the real central store in process: a till whose
view of a customer's store credit is stale (spent at another store's till, not pulled yet) takes the central
store's balance before the tender, so it cannot spend the money twice; out of reach, the tender goes ahead on the
till's own view within its offline limit."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.db.models import Customer
from app.services import balances, customers
from app.services.base import UserError
from sync.client import Retryable
from tests.sync.fleet import Hub, Till
from tests.sync.test_balances import pay_with
from tests.ui.contexts import signed_in
from ui.balance_lookup import BalanceLookup

D = Decimal


class _Agent:
    def __init__(self, make_client: object) -> None:
        self.make_client = make_client


def _unreachable() -> object:
    raise Retryable("the central store is out of reach")


def test_a_stale_view_takes_the_central_balance_before_spending(qtbot: QtBot, tmp_path: Path) -> None:
    hub = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    try:
        a = Till.enrol(hub, tmp_path / "a", "S1", "T1")
        b = Till.enrol(hub, tmp_path / "b", "S2", "T1")
        a.sync()
        b.sync()
        with a.factory.begin() as s:
            ann = customers.create_customer(s, a.actor, "Ann Lee", phone="0123 456789").id
            balances.issue_store_credit(s, ann, D("20.00"))
        a.sync()
        b.sync()  # store S2 knows Ann and her 20.00
        pay_with(a, ann, "store_credit", D("15.00"))  # spent at store S1; S2 has not pulled since
        a.sync()
        with b.factory() as s:
            customer = s.get(Customer, ann)
            assert customer is not None and customer.store_credit == D("20.00")  # stale

        with signed_in(b.factory, qtbot, "admin", "123456") as ctx:
            ctx.services["sync"] = _Agent(b.client)
            lookup = BalanceLookup(ctx)
            called: list[bool] = []
            lookup.ask("store_credit", ann, lambda: called.append(True))
            qtbot.waitUntil(lambda: bool(called) and ctx.ops.is_idle(), timeout=10_000)
            with b.factory() as s:
                customer = s.get(Customer, ann)
                assert customer is not None and customer.store_credit == D("5.00")  # the central store's word
                with pytest.raises(UserError, match="has 5.00 of store credit"):
                    balances.take_store_credit(s, ann, D("10.00"))

            # Out of reach: the tender still goes ahead, on the till's own view.
            ctx.services["sync"] = _Agent(_unreachable)
            called.clear()
            lookup.ask("gift_card", "gc-1", lambda: called.append(True))
            qtbot.waitUntil(lambda: bool(called), timeout=10_000)
            # Not connected at all: at once.
            ctx.services.pop("sync")
            called.clear()
            lookup.ask("store_credit", ann, lambda: called.append(True))
            assert called == [True]
    finally:
        hub.close()
