"""Opening the cash drawer: one service for every reason a person opens it, so each opening is counted once.

The reasons: `no_sale` (F11 at the counter), `test` (Office > Devices), `paid_in` and `paid_out` (Office > Shift:
the cash goes into or out of the drawer, so it opens). A sale paid in cash opens it too, as part of the sale
(`sales.Completed.open_drawer`); that opening is the sale's, not this module's.

How the Z counts them (one definition, `shifts._figures`): every opening without money moving is a cash movement
of kind `no_sale` on the open shift, whatever button did it (F11 or a test), and shows as "No sales (drawer
opened)"; a paid in or out is its own movement with its amount. A test with no shift open has no Z to count on (and
the drawer should hold no cash then): it is audited only.

The service writes the record and says `open_drawer`; the screen kicks the drawer through the print worker (the
pulse goes out on the worker's thread, on the drawer's own pin setting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from sqlalchemy.orm import Session

from app.domain.permissions import Permission
from app.services import audit, shifts, staff
from app.services.base import Actor, Changes, UserError

Reason = Literal["no_sale", "test", "paid_in", "paid_out"]
REASONS: tuple[Reason, ...] = ("no_sale", "test", "paid_in", "paid_out")


@dataclass(frozen=True)
class DrawerOpened:
    reason: Reason
    counted: bool  # counted on the open shift's Z (as a no-sale, or as the paid in/out it is)
    movement: shifts.CashMovementView | None
    open_drawer: bool = True
    changes: Changes = field(default_factory=lambda: Changes(shift=True))


def open_drawer(
    session: Session, actor: Actor, reason: Reason, amount: Decimal | None = None, note: str = ""
) -> DrawerOpened:
    """Record why the drawer opens (checking the permission of that reason) and say to open it."""
    if reason in ("paid_in", "paid_out"):
        if amount is None:
            raise UserError("Enter the amount first.")
        service = shifts.paid_in if reason == "paid_in" else shifts.paid_out
        return DrawerOpened(reason, True, service(session, actor, amount, note))
    if reason not in REASONS:
        raise UserError(f"The drawer does not open for {reason!r}.")
    if reason == "test" and shifts.current_shift(session) is None:
        # No shift, no Z: the opening is audited only.
        approval = staff.require(session, actor, Permission.NO_SALE, "open the drawer")
        audit.record(
            session, actor.user_id, "drawer.no_sale", "drawer", "", {"reason": "test", "approval": approval}
        )
        return DrawerOpened(reason, False, None, changes=Changes())
    return DrawerOpened(reason, True, shifts.no_sale(session, actor, note or reason.replace("_", " ")))
