"""The staff-takeover, replacement-till and cross-store cases end to end: `counterline-central serve` in its own
process on loopback over PostgreSQL, tills with their own databases syncing through the real client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, select, text
from uuid6 import uuid7

from app.db.models import AuditEntry, OutboxEvent, PrintJob, StaffUser
from app.documents.model import Columns, Document, Text
from app.domain import staff_proof
from app.services import audit, settings, shifts, staff
from app.services.base import Actor, UserError
from sync import protocol
from sync.agent import audit_anchor
from sync.audit import EXIT_NOT_COMPARED, EXIT_PROBLEM, compare
from sync.central.cli import main as central_cli
from sync.central.models import Sale
from sync.client import Client, NotEnrolled, save_token
from tests.sync.conftest import _empty_postgres
from tests.sync.fleet import Hub, Till, serve_on_loopback
from ui.main import main as counterline

pytestmark = pytest.mark.postgres
PIN = "123456"


@pytest.fixture
def served(pg_url: str) -> Iterator[tuple[Hub, str]]:
    _empty_postgres(pg_url)
    hub = Hub.start(pg_url)
    try:
        with serve_on_loopback(pg_url) as base:
            yield hub, base
    finally:
        hub.close()


def enrol(hub: Hub, base: str, folder: Path, store: str, terminal: str) -> Till:
    return Till.enrol(hub, folder, store, terminal, transport=httpx.HTTPTransport(), base=base)


def raw_push(till: Till, events: list[dict[str, Any]], token: str | None = None) -> list[protocol.PushResult]:
    """What a hostile or broken till sends with its token, past its own services."""
    with Client(till.base, token or till.token, transport=httpx.HTTPTransport()) as c:
        return c.push([protocol.Event.model_validate(e) for e in events]).results


def ev(kind: str, payload: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or str(uuid7()),
        "type": kind,
        "occurred_at": datetime.now(UTC),
        "payload": payload,
    }


def signs_in(till: Till, username: str, pin: str) -> bool:
    try:
        with till.factory.begin() as s:
            staff.sign_in(s, username, pin)
    except UserError:
        return False
    return True


def test_a_tills_token_cannot_take_over_the_stores_staff(served: tuple[Hub, str], tmp_path: Path) -> None:
    hub, base = served
    t1 = enrol(hub, base, tmp_path / "t1", "S1", "T1")
    t2 = enrol(hub, base, tmp_path / "t2", "S1", "T2")
    t1.sync()
    t2.sync()
    t1.sync()
    with t1.factory() as s:
        admin = s.get(StaffUser, t1.actor.user_id)
        assert admin is not None
        admin_id, admin_name = admin.id, admin.username
    # A manager made by T1's admin reaches T2 and signs in there.
    with t1.factory.begin() as s:
        staff.create_user(s, t1.actor, "maria", "Maria", "manager", "246802")
    t1.sync()
    t2.sync()
    assert signs_in(t2, "maria", "246802")
    with t2.factory() as s:
        maria = s.scalar(select(StaffUser.id).where(StaffUser.username == "maria"))

    # T2's token, past T2's services: a new admin with PIN 0000, and T1's admin PIN reset.
    weak = PasswordHasher().hash("0000")
    evil = str(uuid7())

    def user(uid: str, username: str, role: str, **extra: Any) -> dict[str, Any]:
        payload = {"id": uid, "username": username, "display_name": username, "role": role, "pin_hash": weak}
        return ev(protocol.STAFF_SAVED, {**payload, **extra})

    attempts = [
        user(evil, "evil", "admin"),  # no authority at all
        user(evil, "evil", "admin", bootstrap=True, actor={"id": evil, "role": "admin"}),  # not just enrolled
        user(evil, "evil", "admin", actor={"id": str(uuid7()), "role": "admin"}),  # an actor nobody knows
        user(evil, "evil", "admin", actor={"id": maria, "role": "admin"}),  # a manager, claiming to be admin
        user(admin_id, admin_name, "admin", actor={"id": maria, "role": "manager"}),  # reset the admin's PIN
        # Naming T1's real admin as the actor, without the proof only their PIN makes, or with a made-up one.
        user(evil, "evil", "admin", actor={"id": admin_id, "role": "admin"}),
        user(evil, "evil", "admin", actor={"id": admin_id, "role": "admin"}, proof="0" * 64),
        user(admin_id, admin_name, "admin", actor={"id": admin_id, "role": "admin"}, pin_key="0" * 64),
    ]
    # T1's real, signed change (Maria made a manager), replayed under a new event id, and made an admin.
    with t1.factory() as s:
        signed = next(
            e.payload
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.type == protocol.STAFF_SAVED))
            if e.payload["username"] == "maria"
        )
    attempts += [ev(protocol.STAFF_SAVED, signed), ev(protocol.STAFF_SAVED, {**signed, "role": "admin"})]
    results = raw_push(t2, attempts)
    assert [r.status for r in results] == ["rejected"] * len(attempts), results
    assert "not signed by" in (results[5].reason or "") and "not signed by" in (results[-1].reason or "")
    t1.sync()
    t2.sync()
    for till in (t1, t2):
        assert not signs_in(till, "evil", "0000")
    assert signs_in(t1, admin_name, PIN) and not signs_in(t1, admin_name, "0000")
    # A change with the authority to make it goes through: the manager adds a cashier at T2.
    with t2.factory.begin() as s:
        staff.create_user(
            s, Actor(maria, key=staff_proof.pin_key(maria, "246802")), "carl", "Carl", "cashier", "1357"
        )
    t2.sync()
    t1.sync()
    assert signs_in(t1, "carl", "1357")


def test_a_replacement_till_goes_on_with_its_numbers_and_the_old_tills_sales_still_arrive(
    served: tuple[Hub, str], tmp_path: Path, pg_url: str
) -> None:
    hub, base = served
    old = enrol(hub, base, tmp_path / "old", "S1", "T1")
    old.sync()
    old.receive("A1", 20)
    first = [old.sell("A1"), old.sell("A1")]
    old.sync()
    unsent = old.sell("A1")  # then the till breaks before it syncs again
    assert first[-1].endswith("-000002") and unsent.endswith("-000003")

    new = enrol(hub, base, tmp_path / "new", "S1", "T1")  # a new data dir under the same terminal code
    new.sync()
    number = new.sell("C3")
    assert number == "S1-T1-001001", number  # after the thousand the last number seen falls in
    new.sync()
    assert new.refused() == [] and new.outbox_pending() == 0
    old.sync()  # the old till's token still delivers its unsent work (its grace)
    assert old.refused() == [] and old.outbox_pending() == 0
    with hub.sessions() as s:
        numbers = set(s.scalars(select(Sale.number)))
    assert {*first, unsent, number} <= numbers

    # Each generation's audit trail is compared with its own chain at the central.
    for till in (old, new):
        with till.client() as c, till.factory() as s:
            result = compare(s, c.audit_head())
        assert result.ok, (till.name, result.problems)

    assert central_cli(["--database-url", pg_url, "revoke-terminal", "S1", "T1"]) == 0
    for till in (old, new):
        with pytest.raises(NotEnrolled), till.client() as c:
            c.pull(0)


def test_another_store_cannot_shadow_a_parked_sale_or_an_event_id(
    served: tuple[Hub, str], tmp_path: Path
) -> None:
    hub, base = served
    t1 = enrol(hub, base, tmp_path / "s1t1", "S1", "T1")
    t2 = enrol(hub, base, tmp_path / "s1t2", "S1", "T2")
    other = enrol(hub, base, tmp_path / "s2t1", "S2", "T1")
    for till in (t1, t2, other):
        till.sync()
    parked = t1.park("A1", 2)
    with t1.factory() as s:
        parked_event = s.scalar(
            select(OutboxEvent)
            .where(OutboxEvent.type == protocol.SALE_PARKED)
            .order_by(OutboxEvent.created_at)
        )
        assert parked_event is not None
        sent_id, parked_payload = parked_event.id, dict(parked_event.payload)
    t1.sync()
    # S2's till sends a parked sale under S1's number, and an event under the id S1's parked sale had.
    copy = {**parked_payload, "store": "S2", "terminal": "T1", "order_id": str(uuid7())}
    shift = {"shift_id": str(uuid7()), "number": "S2-T1-000099", "store": "S2", "terminal": "T1"}
    results = raw_push(
        other, [ev(protocol.SALE_PARKED, copy), ev(protocol.SHIFT_OPENED, shift, event_id=sent_id)]
    )
    assert results[0].status == "applied"  # its own store's parked sale, under its own store
    assert results[1].status == "rejected" and "another store" in (results[1].reason or "")
    # S1's parked sale is still S1's: recalled and paid at T2.
    t2.sync()
    total = t2.recall_and_complete(parked)
    assert total == Decimal("5.00")
    t2.sync()
    assert t2.refused() == []


def test_deleting_unsent_audit_entries_shows_against_the_anchor_and_the_z_report(
    served: tuple[Hub, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub, base = served
    folder = tmp_path / "till"
    till = enrol(hub, base, folder, "S1", "T1")
    save_token(folder / "terminal-token", till.token)
    cli = ["--data-dir", str(folder), "--database-url", till.url, "audit", "verify"]
    till.sync()
    till.receive("A1", 10)
    till.sell("A1")
    till.sync()
    # More work; one batch goes out (naming the head as it is now), the rest stays unsent.
    till.sell("A1")
    till.sell("A1")
    with till.factory() as s:
        head = audit_anchor(s)
        rows = list(
            s.scalars(
                select(OutboxEvent).where(OutboxEvent.status == "pending").order_by(OutboxEvent.created_at)
            )
        )
        first = [
            protocol.Event(id=r.id, type=r.type, occurred_at=r.created_at, payload=r.payload)
            for r in rows[:2]
        ]
    assert head is not None
    with till.client() as c:
        c.push(first, head)
    with till.factory.begin() as s:
        s.execute(delete(OutboxEvent).where(OutboxEvent.id.in_([e.id for e in first])))
    assert counterline(cli) == 0, capsys.readouterr().out
    capsys.readouterr()
    # Someone with the database file removes the last audit entries, with their unsent outbox rows: the chain
    # left is whole, and nothing of it was sent.
    with till.factory.begin() as s:
        s.execute(text("DROP TRIGGER audit_log_no_delete"))
        s.execute(delete(AuditEntry).where(AuditEntry.seq > head.seq - 3))
        s.execute(
            delete(OutboxEvent).where(
                OutboxEvent.type == protocol.AUDIT_ENTRY, OutboxEvent.status == "pending"
            )
        )
    with till.factory() as s:
        assert audit.verify_chain(s) is None
    assert counterline(cli) == EXIT_PROBLEM
    out = capsys.readouterr().out
    assert "audit chain intact" in out and "PROBLEM" in out and "entries were removed here" in out

    # The Z report prints where the chain stands.
    with till.factory.begin() as s:
        z = shifts.close_shift(s, till.actor, {Decimal("100"): 1})
    with till.factory() as s:
        job = s.scalar(select(PrintJob).where(PrintJob.id == z.job_id))
        assert job is not None
        doc = Document.from_json(job.document)
        pairs = {b.left: b.right for b in doc.blocks if isinstance(b, Columns)}
        printed = int(pairs["Audit trail to entry"])
        [hash_line] = [b.text for b in doc.blocks if isinstance(b, Text) and b.text.startswith("hash ")]
        entry = s.scalar(select(AuditEntry).where(AuditEntry.seq == printed))
        assert entry is not None and entry.action != "shift.closed"  # the head before the close's own entry
        assert hash_line == f"hash {entry.hash[:32]}"


def test_audit_verify_says_when_it_could_not_compare(
    served: tuple[Hub, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub, base = served
    folder = tmp_path / "till"
    till = enrol(hub, base, folder, "S1", "T1")
    save_token(folder / "terminal-token", till.token)
    cli = ["--data-dir", str(folder), "--database-url", till.url, "audit", "verify"]
    till.sync()
    assert counterline(cli) == 0
    capsys.readouterr()
    with till.factory.begin() as s:
        settings.put(s, "sync.central_url", "http://127.0.0.1:9")  # nothing listens there
    assert counterline(cli) == EXIT_NOT_COMPARED
    assert "NOT COMPARED" in capsys.readouterr().out
    (folder / "terminal-token").unlink()
    assert counterline(cli) == EXIT_NOT_COMPARED
