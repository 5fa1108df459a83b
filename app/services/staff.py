"""Staff: PIN and badge sign-in with lockout, the permission check every service makes, and manager approvals.

PINs are hashed with argon2id (argon2-cffi). Checks read the role stored in the database, never one a screen
claims. An approval lets one permitted person approve one action of another user, once, for a few minutes.

A wrong PIN is counted, audited and (at the limit) locks the user out through `kept_if_rolled_back`: the refusal is
raised as usual, and what it recorded stays even though the caller's transaction is rolled back. The store's
shortest PIN per role (`staff.pin_min_length`) is checked when a PIN is set or changed; a PIN set before it was
raised still signs in, flagged (`StaffView.pin_too_short`, and in the audit entry) until it is changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Approval, AuditEntry, StaffUser
from app.domain import staff_proof
from app.domain.permissions import DESCRIPTIONS, Permission, Role, allowed, can_grant
from app.ids import new_id
from app.services import audit, outbox, settings
from app.services.base import Actor, Changes, PermissionDenied, UserError, kept_if_rolled_back, now

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters


def hash_pin(pin: str) -> str:
    check_pin_format(pin)
    return _hasher.hash(pin)


def check_pin_format(pin: str) -> None:
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise UserError("A PIN is 4 to 8 digits.")


def min_pin_length(session: Session, role: str) -> int:
    """The store's shortest PIN for `role` (setting `staff.pin_min_length`), kept within the 4 to 8 a PIN can be."""
    table = settings.get(session, "staff.pin_min_length")
    value = table.get(role) if isinstance(table, dict) else None
    if value is None:
        value = settings.DEFAULTS["staff.pin_min_length"].get(role, 4)
    try:
        return max(4, min(8, int(value)))
    except (TypeError, ValueError):
        return 4


def check_pin(session: Session, role: str, pin: str) -> None:
    """A PIN about to be set for someone of `role`: digits only, and at least the store's minimum for the role."""
    check_pin_format(pin)
    least = min_pin_length(session, role)
    if len(pin) < least:
        raise UserError(
            f"A {role.replace('_', ' ')}'s PIN must be at least {least} digits in this store: choose a longer one."
        )


@dataclass(frozen=True)
class StaffView:
    id: str
    username: str
    display_name: str
    role: str
    active: bool
    badge_code: str | None
    locked_seconds: int
    pin_too_short: bool = (
        False  # signed in with a PIN shorter than the store's minimum for the role: change it
    )
    # Their PIN key, when they have just signed in with their PIN (never from a badge or a listing): it signs the
    # staff changes they make this session (`app.domain.staff_proof`). Memory only.
    key: str | None = field(default=None, repr=False, compare=False)


def _view(u: StaffUser) -> StaffView:
    left = 0
    if u.locked_until is not None:
        left = max(0, int((u.locked_until - now()).total_seconds()))
    return StaffView(u.id, u.username, u.display_name, u.role, u.active, u.badge_code, left)


class LockedOut(UserError):
    def __init__(self, seconds: int) -> None:
        super().__init__(f"Too many wrong PINs: try again in {seconds // 60}:{seconds % 60:02d}.")
        self.seconds = seconds


@dataclass(frozen=True)
class _Failure:
    tries_left: int
    locked_seconds: int  # > 0 when this failure locked the user out


def _count_failure(session: Session, user_id: str, purpose: str) -> _Failure:
    """One wrong PIN: counted, audited, and at the limit a lockout. Reads the user afresh (it may run twice)."""
    user = session.get(StaffUser, user_id)
    assert user is not None
    user.failed_attempts += 1
    limit = int(settings.get(session, "staff.lockout_attempts"))
    audit.record(
        session,
        user.id,
        "staff.sign_in_failed",
        "staff",
        user.id,
        {"for": purpose, "attempt": user.failed_attempts},
    )
    if user.failed_attempts < limit:
        session.flush()
        return _Failure(limit - user.failed_attempts, 0)
    minutes = int(settings.get(session, "staff.lockout_minutes"))
    user.locked_until = now() + timedelta(minutes=minutes)
    user.failed_attempts = 0
    audit.record(session, user.id, "staff.locked_out", "staff", user.id, {"for": purpose, "minutes": minutes})
    session.flush()
    return _Failure(0, int((user.locked_until - now()).total_seconds()))


def _refused_while_locked(session: Session, user_id: str, purpose: str) -> None:
    audit.record(
        session, user_id, "staff.sign_in_refused", "staff", user_id, {"for": purpose, "why": "locked out"}
    )


def sign_in(session: Session, username: str, pin: str, purpose: str = "sign-in") -> StaffView:
    """Check a PIN; counts failures and locks the user out after the configured number.

    A wrong PIN, a lockout and a try while locked out are recorded so that they stay even though the refusal rolls
    the caller's transaction back (see `kept_if_rolled_back`). `purpose` goes in the audit entries ("approval").
    """
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None or not user.active:
        raise UserError("Unknown or disabled user: check the name, or ask a manager.")
    user_id = user.id
    if user.locked_until is not None and user.locked_until > now():
        left = int((user.locked_until - now()).total_seconds()) + 1
        kept_if_rolled_back(session, lambda s: _refused_while_locked(s, user_id, purpose))
        raise LockedOut(left)
    try:
        _hasher.verify(user.pin_hash, pin)
    except (VerificationError, InvalidHashError):
        failure = kept_if_rolled_back(session, lambda s: _count_failure(s, user_id, purpose))
        if failure.locked_seconds:
            raise LockedOut(failure.locked_seconds) from None
        raise UserError(f"Wrong PIN ({failure.tries_left} tries left).") from None
    user.failed_attempts = 0
    user.locked_until = None
    short = len(pin) < min_pin_length(session, user.role)
    details: dict[str, object] = {"for": purpose} if purpose != "sign-in" else {}
    if short:
        details["short_pin"] = True
    audit.record(session, user.id, "staff.signed_in", "staff", user.id, details or None)
    return replace(_view(user), pin_too_short=short, key=staff_proof.pin_key(user.id, pin))


def sign_in_badge(session: Session, badge: str) -> StaffView:
    user = session.scalar(select(StaffUser).where(StaffUser.badge_code == badge))
    if user is None or not user.active:
        raise UserError("This badge is not known here: sign in with your PIN, or ask a manager.")
    if user.locked_until is not None and user.locked_until > now():
        raise LockedOut(int((user.locked_until - now()).total_seconds()) + 1)
    audit.record(session, user.id, "staff.signed_in", "staff", user.id, {"by": "badge"})
    return _view(user)


def sign_out(session: Session, user_id: str) -> None:
    audit.record(session, user_id, "staff.signed_out", "staff", user_id)


def get_user(session: Session, user_id: str) -> StaffView:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise UserError("Unknown user.")
    return _view(user)


def list_users(session: Session, flag_short_pins: bool = False) -> list[StaffView]:
    """Everyone, by name; with `flag_short_pins`, marked where their PIN is shorter than the store's minimum."""
    short = _short_pin_users(session) if flag_short_pins else set()
    return [
        replace(_view(u), pin_too_short=u.id in short)
        for u in session.scalars(select(StaffUser).order_by(StaffUser.display_name))
    ]


def users_to_manage(session: Session, actor: Actor) -> list[StaffView]:
    """Office > Staff's list, for a person allowed to manage staff (short PINs marked)."""
    require(session, actor, Permission.USER_MANAGEMENT)
    return list_users(session, flag_short_pins=True)


def _short_pin_users(session: Session) -> set[str]:
    """Users whose last sign-in here was with a PIN below the minimum, and whose PIN has not been set since.

    Only the PIN's length at sign-in tells (the hash does not), so this is as of each one's last sign-in here.
    """
    last_sign_in = dict(
        session.execute(
            select(AuditEntry.record_id, func.max(AuditEntry.seq))
            .where(AuditEntry.action == "staff.signed_in")
            .group_by(AuditEntry.record_id)
        ).all()
    )
    if not last_sign_in:
        return set()
    flagged = {
        record_id: seq
        for record_id, seq, details in session.execute(
            select(AuditEntry.record_id, AuditEntry.seq, AuditEntry.details).where(
                AuditEntry.seq.in_(last_sign_in.values())
            )
        )
        if isinstance(details, dict) and details.get("short_pin")
    }
    if not flagged:
        return set()
    pin_set = session.execute(
        select(AuditEntry.record_id, AuditEntry.seq, AuditEntry.details).where(
            AuditEntry.action == "staff.updated",
            AuditEntry.record_id.in_(flagged),
            AuditEntry.seq > min(flagged.values()),
        )
    )
    for record_id, seq, details in pin_set:
        if seq > flagged.get(record_id, seq) and isinstance(details, dict) and details.get("pin_reset"):
            flagged.pop(record_id)
    return set(flagged)


def require(session: Session, actor: Actor, permission: Permission, what: str = "") -> str | None:
    """Pass when the actor's stored role allows it, or when a valid approval for it is given (and use it up).

    Returns the approval id used, if any, so the caller can put it in the audit trail.
    """
    user = session.get(StaffUser, actor.user_id)
    if user is None or not user.active:
        raise UserError("You are signed out: sign in again.")
    if allowed(user.role, permission):
        return None
    if actor.approval_id:
        appr = session.get(Approval, actor.approval_id)
        valid_for = timedelta(minutes=int(settings.get(session, "approval.valid_minutes")))
        if (
            appr is not None
            and appr.permission == permission
            and appr.requested_by == actor.user_id
            and appr.used_at is None
            and appr.created_at + valid_for > now()
        ):
            appr.used_at = now()
            appr.used_for = what[:200]
            audit.record(
                session,
                actor.user_id,
                "approval.used",
                "approval",
                appr.id,
                {"permission": str(permission), "approved_by": appr.approved_by, "for": what},
            )
            return appr.id
    raise PermissionDenied(
        str(permission),
        f"A manager must approve: {DESCRIPTIONS[permission]}" + (f" ({what})." if what else "."),
    )


def approve(
    session: Session,
    requester_id: str,
    permission: Permission,
    username: str | None = None,
    pin: str | None = None,
    badge: str | None = None,
) -> str:
    """A permitted person approves one action for `requester_id` by PIN or badge; returns the approval id."""
    if badge:
        approver = sign_in_badge(session, badge)
    elif username is not None and pin is not None:
        approver = sign_in(session, username, pin, purpose="approval")
    else:
        raise UserError("Scan a manager's badge, or enter their name and PIN.")
    if approver.id == requester_id:
        raise UserError("You cannot approve your own action: ask another manager.")
    if not allowed(approver.role, permission):
        raise UserError(f"{approver.display_name} may not approve this: {DESCRIPTIONS[permission]}.")
    appr = Approval(
        permission=str(permission), requested_by=requester_id, approved_by=approver.id, created_at=now()
    )
    session.add(appr)
    session.flush()
    audit.record(
        session,
        approver.id,
        "approval.given",
        "approval",
        appr.id,
        {"permission": str(permission), "for_user": requester_id},
    )
    return appr.id


def _signing_key(actor: Actor) -> str:
    """The actor's PIN key, which signs their staff changes; refused when they signed in without their PIN."""
    if not actor.key:
        raise UserError(
            "Staff changes are signed with your PIN: sign in with your PIN (not a badge) to add or change staff."
        )
    return actor.key


def publish(
    session: Session, user: StaffUser, by: StaffUser | None, key: str, pin: str | None = None
) -> None:
    """The user as saved, whole, for the store's other tills (through the outbox and the central store), with the
    authority of the change: `by`, the user who made it (the central store checks them against its own view of
    the store's staff), or None for the first admin of a till just enrolled, which is its own authority.

    `key` is the PIN key of whoever made the change (`app.domain.staff_proof`): the change carries its proof.
    Where the change sets a PIN, the user's own PIN key goes with it, for the central store to keep (it never goes
    back out in any feed)."""
    session.flush()
    authority = by or user
    change: dict[str, object] = {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "pin_hash": user.pin_hash,
        "badge_code": user.badge_code,
        "active": user.active,
        "actor": {"id": authority.id, "role": authority.role},
        "bootstrap": by is None,
    }
    if pin is not None:
        change["pin_key"] = staff_proof.pin_key(user.id, pin)
    event_id = new_id()
    change["proof"] = staff_proof.prove(key, event_id, change)
    outbox.emit(session, "staff.saved", change, event_id=event_id)


def create_first_admin(
    session: Session, pin: str, display_name: str = "Store admin", username: str = "admin"
) -> bool:
    """On a database with no staff at all (a terminal just enrolled), add the one admin who can add the others.

    Returns False, and changes nothing, where any user exists already.
    """
    if session.scalar(select(StaffUser.id).limit(1)) is not None:
        return False
    check_pin(session, Role.ADMIN.value, pin)
    admin = StaffUser(
        username=username, display_name=display_name, role=Role.ADMIN.value, pin_hash=hash_pin(pin)
    )
    session.add(admin)
    session.flush()
    publish(session, admin, by=None, key=staff_proof.pin_key(admin.id, pin), pin=pin)
    return True


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    display_name: str,
    role: str,
    pin: str,
    badge: str | None = None,
) -> Changes:
    require(session, actor, Permission.USER_MANAGEMENT)
    key = _signing_key(actor)
    me = session.get(StaffUser, actor.user_id)
    assert me is not None
    try:
        Role(role)
    except ValueError:
        raise UserError(f"Unknown role: {role}.") from None
    if not can_grant(me.role, role):
        raise UserError("You cannot give a role above your own.")
    username = username.strip().lower()
    if not username or not display_name.strip():
        raise UserError("A user needs a name and a sign-in name.")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise UserError(f"The sign-in name {username} is taken.")
    check_pin(session, role, pin)
    u = StaffUser(
        username=username,
        display_name=display_name.strip(),
        role=role,
        pin_hash=hash_pin(pin),
        badge_code=badge or None,
    )
    session.add(u)
    session.flush()
    publish(session, u, by=me, key=key, pin=pin)
    audit.record(session, actor.user_id, "staff.created", "staff", u.id, {"role": role, "username": username})
    return Changes(staff=True)


def update_user(
    session: Session,
    actor: Actor,
    user_id: str,
    role: str | None = None,
    active: bool | None = None,
    pin: str | None = None,
) -> Changes:
    require(session, actor, Permission.USER_MANAGEMENT)
    key = _signing_key(actor)
    me = session.get(StaffUser, actor.user_id)
    u = session.get(StaffUser, user_id)
    if u is None or me is None:
        raise UserError("Unknown user.")
    if not can_grant(me.role, u.role):
        raise UserError("You cannot change a user whose role is above your own.")
    details: dict[str, object] = {}
    if role is not None and role != u.role:
        if not can_grant(me.role, role):
            raise UserError("You cannot give a role above your own.")
        details["role"] = [u.role, role]
        u.role = role
    if active is not None and active != u.active:
        if u.id == me.id and not active:
            raise UserError("You cannot disable yourself.")
        u.active = active
        details["active"] = active
    if pin is not None:
        check_pin(session, u.role, pin)
        u.pin_hash = hash_pin(pin)
        u.failed_attempts = 0
        u.locked_until = None
        details["pin_reset"] = True
    publish(session, u, by=me, key=key, pin=pin)
    audit.record(session, actor.user_id, "staff.updated", "staff", u.id, details)
    return Changes(staff=True)
