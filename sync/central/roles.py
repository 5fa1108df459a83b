"""Who may change whom among a store's staff, as the central store checks a staff change a till pushes.

The till's rule lives in app.domain.permissions (roles ranked, user management for the roles that have it, nobody
grants above their own rank); the central service may not import app, so the part of it the central needs is
written here and pinned to the till's by a test (tests/sync/test_access.py).
"""

from __future__ import annotations

# Role -> rank, as app.domain.permissions.RANK.
RANK: dict[str, int] = {
    "packer": 1,
    "associate": 1,
    "cashier": 1,
    "returns_clerk": 1,
    "supervisor": 2,
    "manager": 3,
    "admin": 4,
}
# The roles with the user_management permission.
MANAGES_STAFF: frozenset[str] = frozenset({"manager", "admin"})
FIRST_ADMIN_ROLE = "admin"


def refusal(actor_role: str, target_role: str, current_role: str | None) -> str | None:
    """Why a user of `actor_role` may not give `target_role` to a user who has `current_role` now (None for a
    new user); None when they may."""
    if target_role not in RANK:
        return f"unknown role {target_role!r}"
    if actor_role not in MANAGES_STAFF:
        return f"a {actor_role} may not manage staff"
    if RANK[target_role] > RANK[actor_role]:
        return f"a {actor_role} may not give the role {target_role}"
    if current_role is not None and RANK.get(current_role, 99) > RANK[actor_role]:
        return f"a {actor_role} may not change a user whose role is {current_role}"
    return None
