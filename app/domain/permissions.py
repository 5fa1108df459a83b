"""Roles and the permission matrix, kept in one place.

Services call `staff.require(session, user_id, permission, approval_id)`; this module only says which role may do
what. Roles are ranked so nobody can grant a role above their own.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CASHIER = "cashier"
    ASSOCIATE = "associate"
    PACKER = "packer"
    RETURNS_CLERK = "returns_clerk"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"


RANK: dict[Role, int] = {
    Role.PACKER: 1,
    Role.ASSOCIATE: 1,
    Role.CASHIER: 1,
    Role.RETURNS_CLERK: 1,
    Role.SUPERVISOR: 2,
    Role.MANAGER: 3,
    Role.ADMIN: 4,
}


class Permission(StrEnum):
    SELL = "sell"
    PRICE_OVERRIDE = "price_override"
    DISCOUNT = "discount"  # a discount within the thresholds
    DISCOUNT_ABOVE_THRESHOLD = "discount_above_threshold"
    LINE_VOID = "line_void"
    SALE_VOID = "sale_void"
    RETURN = "return"
    NO_RECEIPT_RETURN = "no_receipt_return"
    REFUND_ABOVE_LIMIT = "refund_above_limit"
    RETURN_EXCEPTION = "return_exception"  # a return the policy refuses: past its window, a final sale
    NO_SALE = "no_sale"  # open the drawer without a sale
    PAID_IN = "paid_in"
    PAID_OUT = "paid_out"
    SHIFT_OPEN = "shift_open"
    SHIFT_CLOSE = "shift_close"
    REPRINT = "reprint"
    PICKUP = "pickup"
    PACK = "pack"
    PACK_BY_HAND = "pack_by_hand"  # confirm an item whose barcode will not read, for another person
    STOCK_ADJUST = "stock_adjust"
    DEVICE_SETTINGS = "device_settings"
    USER_MANAGEMENT = "user_management"
    AUDIT_VIEW = "audit_view"
    REPORTS_VIEW = "reports_view"


P = Permission
_COUNTER = {P.SELL, P.DISCOUNT, P.SHIFT_OPEN, P.REPRINT, P.PAID_IN}
MATRIX: dict[Role, frozenset[Permission]] = {
    Role.CASHIER: frozenset(_COUNTER | {P.LINE_VOID}),
    Role.ASSOCIATE: frozenset({P.PICKUP, P.REPRINT, P.SELL, P.SHIFT_OPEN}),
    Role.PACKER: frozenset({P.PACK, P.REPRINT}),
    Role.RETURNS_CLERK: frozenset({P.RETURN, P.REPRINT, P.SHIFT_OPEN, P.SELL}),
    Role.SUPERVISOR: frozenset(
        _COUNTER
        | {
            P.LINE_VOID,
            P.SALE_VOID,
            P.PRICE_OVERRIDE,
            P.DISCOUNT_ABOVE_THRESHOLD,
            P.RETURN,
            P.NO_SALE,
            P.PAID_OUT,
            P.SHIFT_CLOSE,
            P.PICKUP,
            P.PACK,
            P.PACK_BY_HAND,
            P.AUDIT_VIEW,
            P.REPORTS_VIEW,
        }
    ),
    Role.MANAGER: frozenset(set(Permission) - {P.DEVICE_SETTINGS}),
    Role.ADMIN: frozenset(Permission),
}

DESCRIPTIONS: dict[Permission, str] = {
    P.SELL: "ring up sales",
    P.PRICE_OVERRIDE: "change a price",
    P.DISCOUNT: "give a discount",
    P.DISCOUNT_ABOVE_THRESHOLD: "give a discount above the limit",
    P.LINE_VOID: "void a line",
    P.SALE_VOID: "void a whole sale",
    P.RETURN: "take a return",
    P.NO_RECEIPT_RETURN: "take a return without a receipt",
    P.REFUND_ABOVE_LIMIT: "refund above the limit",
    P.RETURN_EXCEPTION: "take a return the return policy refuses",
    P.NO_SALE: "open the drawer without a sale",
    P.PAID_IN: "pay cash in",
    P.PAID_OUT: "pay cash out",
    P.SHIFT_OPEN: "open a shift",
    P.SHIFT_CLOSE: "close a shift",
    P.REPRINT: "reprint a receipt",
    P.PICKUP: "hand over pickup orders",
    P.PACK: "pack orders",
    P.PACK_BY_HAND: "confirm by hand an item whose barcode will not read",
    P.STOCK_ADJUST: "adjust stock",
    P.DEVICE_SETTINGS: "change device settings",
    P.USER_MANAGEMENT: "manage staff",
    P.AUDIT_VIEW: "view the audit trail",
    P.REPORTS_VIEW: "view the store's reports",
}


def allowed(role: str, permission: Permission | str) -> bool:
    try:
        return Permission(permission) in MATRIX[Role(role)]
    except ValueError:
        return False


def can_grant(granter_role: str, target_role: str) -> bool:
    """A user may give a role up to their own rank, and only with user management."""
    return allowed(granter_role, P.USER_MANAGEMENT) and RANK[Role(target_role)] <= RANK[Role(granter_role)]
