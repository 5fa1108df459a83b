"""Staff at the service level on real SQLite: every role × permission cell, lockout, approvals, PIN hashing and the
audit chain catching a deleted, an edited and a reordered row."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, StaffUser
from app.domain.permissions import MATRIX, Permission, Role
from app.services import audit, staff
from app.services.base import Actor, PermissionDenied, UserError, now

ROLE_USER = {
    Role.CASHIER: "cashier",
    Role.ASSOCIATE: "associate",
    Role.PACKER: "packer",
    Role.RETURNS_CLERK: "returns",
    Role.SUPERVISOR: "supervisor",
    Role.MANAGER: "manager",
    Role.ADMIN: "admin",
}


def uid(db: sessionmaker[Session], username: str) -> str:
    with db() as s:
        found = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
        assert found is not None
        return found


@pytest.mark.parametrize("role", list(Role))
def test_every_cell_of_the_permission_matrix_through_the_service(
    db: sessionmaker[Session], role: Role
) -> None:
    actor = Actor(uid(db, ROLE_USER[role]))
    with db.begin() as s:
        for permission in Permission:
            if permission in MATRIX[role]:
                assert staff.require(s, actor, permission) is None
            else:
                with pytest.raises(PermissionDenied) as err:
                    staff.require(s, actor, permission)
                assert err.value.permission == permission


def test_the_stored_role_counts_not_a_claim(db: sessionmaker[Session]) -> None:
    cashier = uid(db, "cashier")
    with db.begin() as s:
        s.execute(update(StaffUser).where(StaffUser.id == cashier).values(active=False))
    with db.begin() as s, pytest.raises(UserError):
        staff.require(s, Actor(cashier), Permission.SELL)


def test_lockout_after_five_wrong_pins_then_unlock(db: sessionmaker[Session]) -> None:
    for _ in range(4):
        with db.begin() as s, pytest.raises(UserError, match="Wrong PIN"):
            staff.sign_in(s, "cashier", "0000")
    with db.begin() as s, pytest.raises(staff.LockedOut) as locked:
        staff.sign_in(s, "cashier", "0000")
    assert 290 <= locked.value.seconds <= 300
    # Even the right PIN is refused while locked.
    with db.begin() as s, pytest.raises(staff.LockedOut):
        staff.sign_in(s, "cashier", "1111")
    with db.begin() as s:
        s.execute(
            update(StaffUser)
            .where(StaffUser.username == "cashier")
            .values(locked_until=now() - timedelta(seconds=1))
        )
    with db.begin() as s:
        assert staff.sign_in(s, "cashier", "1111").username == "cashier"


def test_an_approval_is_single_use_for_one_permission_and_never_self_given(db: sessionmaker[Session]) -> None:
    cashier = uid(db, "cashier")
    manager = uid(db, "manager")
    with db.begin() as s:
        appr = staff.approve(s, cashier, Permission.PAID_OUT, badge="BADGE-0006")
    with db.begin() as s, pytest.raises(PermissionDenied):
        staff.require(s, Actor(cashier, appr), Permission.SALE_VOID)  # another permission
    with db.begin() as s:
        assert staff.require(s, Actor(cashier, appr), Permission.PAID_OUT, "float top-up") == appr
    with db.begin() as s, pytest.raises(PermissionDenied):
        staff.require(s, Actor(cashier, appr), Permission.PAID_OUT)  # used up
    with db.begin() as s, pytest.raises(UserError, match="your own"):
        staff.approve(s, manager, Permission.PAID_OUT, username="manager", pin="6666")
    with db.begin() as s, pytest.raises(UserError, match="may not approve"):
        staff.approve(s, cashier, Permission.PAID_OUT, username="associate", pin="2222")
    with db() as s:
        given = s.scalars(select(AuditEntry).where(AuditEntry.action == "approval.used")).one()
        assert given.details["approved_by"] == manager and given.user_id == cashier


def test_pins_are_argon2id_and_never_logged(
    db: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with db.begin() as s:
        staff.sign_in(s, "manager", "6666")
        hashes = s.scalars(select(StaffUser.pin_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert "6666" not in caplog.text


def _tamper(db: sessionmaker[Session], sql: str) -> None:
    # Someone with the database file can drop the append-only triggers; the chain must still tell.
    with db.begin() as s:
        s.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        s.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        s.execute(text(sql))


@pytest.fixture
def chain(db: sessionmaker[Session]) -> sessionmaker[Session]:
    manager = uid(db, "manager")
    with db.begin() as s:
        for i in range(5):
            audit.record(s, manager, "test.entry", "thing", f"T{i}", {"i": i})
        assert audit.verify_chain(s) is None
    return db


def test_the_trail_refuses_edits_while_its_triggers_stand(chain: sessionmaker[Session]) -> None:
    with chain.begin() as s, pytest.raises(Exception, match="append-only"):
        s.execute(text("DELETE FROM audit_log WHERE record_id = 'T2'"))


@pytest.mark.parametrize(
    "sql, reason",
    [
        ("DELETE FROM audit_log WHERE record_id = 'T2'", "deleted or moved"),
        ("UPDATE audit_log SET details = '{\"i\": 99}' WHERE record_id = 'T2'", "changed"),
    ],
)
def test_the_chain_detects_a_deleted_and_an_edited_row(
    chain: sessionmaker[Session], sql: str, reason: str
) -> None:
    _tamper(chain, sql)
    with chain() as s:
        brk = audit.verify_chain(s)
    assert brk is not None and reason in brk.reason


def test_the_chain_detects_a_reordered_row(chain: sessionmaker[Session]) -> None:
    with chain() as s:
        s1, s2 = s.scalars(
            select(AuditEntry.seq).where(AuditEntry.record_id.in_(("T1", "T3"))).order_by(AuditEntry.seq)
        ).all()
    _tamper(chain, f"UPDATE audit_log SET seq = -1 WHERE seq = {s1}")
    _tamper(chain, f"UPDATE audit_log SET seq = {s1} WHERE seq = {s2}")
    _tamper(chain, f"UPDATE audit_log SET seq = {s2} WHERE seq = -1")
    with chain() as s:
        brk = audit.verify_chain(s)
    assert brk is not None and brk.seq == s1


def test_audit_verify_command_exits_1_on_a_break(
    chain: sessionmaker[Session], db_path, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from ui.main import main

    data = tmp_path / "data"
    data.mkdir()
    bind = chain.kw["bind"]
    bind.dispose()
    shutil.copy(db_path, data / "counterline.db")
    assert main(["--data-dir", str(data), "audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    _tamper(chain, "DELETE FROM audit_log WHERE record_id = 'T2'")
    bind.dispose()
    shutil.copy(db_path, data / "counterline.db")
    assert main(["--data-dir", str(data), "audit", "verify"]) == 1
    assert "broken" in capsys.readouterr().out
