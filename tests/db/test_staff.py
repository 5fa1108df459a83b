"""Staff at the service level on real SQLite: every role × permission cell, lockout, approvals, PIN hashing and the
audit chain catching a deleted, an edited and a reordered row."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, Setting, StaffUser
from app.domain import staff_proof
from app.domain.permissions import MATRIX, RANK, Permission, Role
from app.services import audit, settings, staff
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
    with pytest.raises(UserError), db.begin() as s:
        staff.require(s, Actor(cashier), Permission.SELL)


def test_lockout_after_five_wrong_pins_then_unlock(db: sessionmaker[Session]) -> None:
    for _ in range(4):
        with pytest.raises(UserError, match="Wrong PIN"), db.begin() as s:
            staff.sign_in(s, "cashier", "0000")
    with pytest.raises(staff.LockedOut) as locked, db.begin() as s:
        staff.sign_in(s, "cashier", "0000")
    assert 290 <= locked.value.seconds <= 300
    # Even the right PIN is refused while locked.
    with pytest.raises(staff.LockedOut), db.begin() as s:
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
    with pytest.raises(PermissionDenied), db.begin() as s:
        staff.require(s, Actor(cashier, appr), Permission.SALE_VOID)  # another permission
    with db.begin() as s:
        assert staff.require(s, Actor(cashier, appr), Permission.PAID_OUT, "float top-up") == appr
    with pytest.raises(PermissionDenied), db.begin() as s:
        staff.require(s, Actor(cashier, appr), Permission.PAID_OUT)  # used up
    with pytest.raises(UserError, match="your own"), db.begin() as s:
        staff.approve(s, manager, Permission.PAID_OUT, username="manager", pin="6666")
    with pytest.raises(UserError, match="may not approve"), db.begin() as s:
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
    with pytest.raises(Exception, match="append-only"), chain.begin() as s:
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


def _trail(db: sessionmaker[Session], username: str) -> list[str]:
    user = uid(db, username)
    with db() as s:
        return list(
            s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.record_id == user, AuditEntry.action.like("staff.%"))
                .order_by(AuditEntry.seq)
            )
        )


def _attempts(db: sessionmaker[Session], username: str) -> tuple[int, bool]:
    with db() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        return user.failed_attempts, user.locked_until is not None and user.locked_until > now()


def test_wrong_pins_stay_counted_when_the_outer_transaction_fails(db: sessionmaker[Session]) -> None:
    """The service inside a caller's transaction that then raises (as the op helper's does on any refusal): the
    failures, their audit entries and the lockout stay; the caller's other work is rolled back."""
    for i in range(5):
        with pytest.raises(RuntimeError), db.begin() as s:
            settings.put(s, f"test.outer.{i}", "rolled back")
            try:
                staff.sign_in(s, "manager", "0000")
            except UserError as e:
                raise RuntimeError("the caller fails after the refusal") from e
    assert _attempts(db, "manager") == (0, True)
    assert _trail(db, "manager") == ["staff.sign_in_failed"] * 5 + ["staff.locked_out"]
    with db() as s:
        assert not s.scalars(select(Setting).where(Setting.key.like("test.outer.%"))).all()
    # Locked: even the right PIN is refused, and the try is on the trail.
    with pytest.raises(staff.LockedOut), db.begin() as s:
        staff.sign_in(s, "manager", "6666")
    assert _trail(db, "manager")[-1] == "staff.sign_in_refused"


def test_a_failure_is_counted_once_whether_the_caller_commits_or_not(db: sessionmaker[Session]) -> None:
    with (
        db.begin() as s
    ):  # the refusal is caught and the caller commits: written once, with the caller's work
        with pytest.raises(UserError, match="4 tries left"):
            staff.sign_in(s, "cashier", "0000")
    assert _attempts(db, "cashier") == (1, False)
    with db.begin() as s:  # in a savepoint that is rolled back, while the outer transaction commits
        with pytest.raises(UserError, match="3 tries left"), s.begin_nested():
            staff.sign_in(s, "cashier", "0000")
    assert _attempts(db, "cashier") == (2, False)
    with db() as s:  # a session closed without committing
        with pytest.raises(UserError, match="2 tries left"):
            staff.sign_in(s, "cashier", "0000")
    assert _attempts(db, "cashier") == (3, False)
    assert _trail(db, "cashier") == ["staff.sign_in_failed"] * 3
    with db.begin() as s:
        assert staff.sign_in(s, "cashier", "1111").username == "cashier"
    assert _attempts(db, "cashier") == (0, False)


def test_wrong_approval_pins_lock_the_approver_out(db: sessionmaker[Session]) -> None:
    cashier = uid(db, "cashier")
    for _ in range(4):
        with pytest.raises(UserError, match="Wrong PIN"), db.begin() as s:
            staff.approve(s, cashier, Permission.PAID_OUT, username="manager", pin="1234")
    with pytest.raises(staff.LockedOut), db.begin() as s:
        staff.approve(s, cashier, Permission.PAID_OUT, username="manager", pin="1234")
    assert _attempts(db, "manager") == (0, True)
    with db() as s:
        details = s.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "staff.sign_in_failed")
        ).all()
    assert [d["for"] for d in details] == ["approval"] * 5


def test_the_store_minimum_pin_length_per_role_takes_effect_when_a_pin_is_set(
    db: sessionmaker[Session],
) -> None:
    admin_id = uid(db, "admin")
    admin = Actor(admin_id, key=staff_proof.pin_key(admin_id, "9999"))
    with db() as s:
        # Roles that can approve (hold a permission no counter role has) default to 6 digits, the others to 4.
        counter = set().union(*(MATRIX[r] for r in Role if RANK[r] == 1))
        for role in Role:
            assert staff.min_pin_length(s, role) == (6 if MATRIX[role] - counter else 4)
    with pytest.raises(UserError, match="supervisor's PIN must be at least 6 digits"), db.begin() as s:
        staff.create_user(s, admin, "sue", "Sue", "supervisor", "1234")
    with db.begin() as s:
        staff.create_user(s, admin, "sue", "Sue", "supervisor", "123456")
        staff.create_user(s, admin, "cal", "Cal", "cashier", "1234")
    sue, cal = uid(db, "sue"), uid(db, "cal")
    # The store raises the cashiers' minimum: a new or changed cashier PIN must follow; the old one still works,
    # flagged.
    with db.begin() as s:
        settings.put(s, "staff.pin_min_length", {**settings.get(s, "staff.pin_min_length"), "cashier": 5})
    with pytest.raises(UserError, match="cashier's PIN must be at least 5 digits"), db.begin() as s:
        staff.update_user(s, admin, cal, pin="4321")
    with db.begin() as s:
        assert staff.sign_in(s, "cal", "1234").pin_too_short
        staff.update_user(s, admin, cal, pin="54321")
    with db.begin() as s:
        assert not staff.sign_in(s, "cal", "54321").pin_too_short
        assert not staff.sign_in(s, "sue", "123456").pin_too_short
        # The demo's manager PIN predates the minimum: it signs in, flagged, and the audit entry says so.
        assert staff.sign_in(s, "manager", "6666").pin_too_short
    with db() as s:
        last = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "staff.signed_in").order_by(AuditEntry.seq.desc())
        ).first()
        assert last is not None and last.details == {"short_pin": True}
    # A role raised to one that approves: the new PIN must be long enough for the new role.
    with pytest.raises(UserError, match="manager's PIN must be at least 6 digits"), db.begin() as s:
        staff.update_user(s, admin, cal, role="manager", pin="54321")
    assert sue


def test_the_first_admin_of_an_enrolled_till_follows_the_minimum(empty_db: sessionmaker[Session]) -> None:
    with pytest.raises(UserError, match="admin's PIN must be at least 6 digits"), empty_db.begin() as s:
        staff.create_first_admin(s, "1234")
    with empty_db.begin() as s:
        assert staff.create_first_admin(s, "123456")
