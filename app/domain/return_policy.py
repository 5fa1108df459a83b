"""The store's return policy: windows, final sales, the restocking fee, returns without a receipt, dispositions and
the one approval an exception needs. Pure rules; the store's figures come from the ``returns.policy`` setting
(:meth:`Policy.from_setting`), the reasons a cashier picks from the ``returns.reasons`` setting.

* **Window**: an item may be returned up to ``window_days`` after the sale (counted in whole days of the store's
  calendar), or its department's own window (``department_windows``). Later is an exception.
* **Final sale**: items of ``final_sale_departments`` or ``final_sale_skus`` are not taken back; taking one back is
  an exception.
* **Restocking fee**: ``restocking_fee_percent`` of the refund of each line whose condition is in
  ``restocking_conditions`` (default: opened), rounded half up to the cent; 0 turns it off.
* **No receipt**: the refund is store credit only, at the lowest price the item had in the last
  ``no_receipt_price_days`` days as far as this till knows it (its sales), or its current price when none is known.
  A return without a receipt is always an exception.
* **Refund limit**: a refund above ``refund_limit`` is an exception.
* **Condition -> disposition**: new and opened go back to the sales floor, damaged to quarantine, defective to the
  vendor (``dispositions`` changes the map).
* **Approval**: a return with any exception needs one manager's approval, named by the strongest permission among
  them (no receipt, then a policy exception, then the refund limit); the approval records every exception it
  covered. A return without exceptions needs the RETURN permission only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.domain.money import CENT, ZERO
from app.domain.permissions import Permission

CONDITIONS: tuple[str, ...] = ("new", "opened", "damaged", "defective")
CONDITION_WORDS: dict[str, str] = {
    "new": "New, unopened",
    "opened": "Opened",
    "damaged": "Damaged",
    "defective": "Defective",
}
DISPOSITIONS: tuple[str, ...] = ("floor", "quarantine", "vendor")
DISPOSITION_WORDS: dict[str, str] = {
    "floor": "Back to the sales floor",
    "quarantine": "Quarantine",
    "vendor": "Return to vendor",
}
DEFAULT_DISPOSITIONS: dict[str, str] = {
    "new": "floor",
    "opened": "floor",
    "damaged": "quarantine",
    "defective": "vendor",
}
# The reasons a cashier chooses from (code -> words), unless the store sets its own in `returns.reasons`.
DEFAULT_REASONS: dict[str, str] = {
    "changed_mind": "Changed mind",
    "wrong_size": "Wrong size or fit",
    "faulty": "Faulty",
    "not_as_described": "Not as described",
    "damaged_in_transit": "Arrived damaged",
    "gift": "Unwanted gift",
}

# Exceptions, strongest first: the approval asked for is the first one present.
NO_RECEIPT = "no_receipt"
OUTSIDE_WINDOW = "outside_window"
FINAL_SALE = "final_sale"
ABOVE_LIMIT = "above_limit"
_PERMISSION: dict[str, Permission] = {
    NO_RECEIPT: Permission.NO_RECEIPT_RETURN,
    OUTSIDE_WINDOW: Permission.RETURN_EXCEPTION,
    FINAL_SALE: Permission.RETURN_EXCEPTION,
    ABOVE_LIMIT: Permission.REFUND_ABOVE_LIMIT,
}


class PolicyError(ValueError):
    """Input the policy cannot take; the message can be shown as is."""


def _cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Exception_:
    """One thing about a return the policy does not allow by itself: its code and the words an approval shows."""

    code: str
    text: str


@dataclass(frozen=True)
class Policy:
    window_days: int = 30
    department_windows: Mapping[str, int] = field(default_factory=dict)
    final_sale_departments: frozenset[str] = frozenset()
    final_sale_skus: frozenset[str] = frozenset()
    restocking_fee_percent: Decimal = ZERO
    restocking_conditions: frozenset[str] = frozenset({"opened"})
    no_receipt_price_days: int = 90
    refund_limit: Decimal = Decimal("100.00")
    dispositions: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_DISPOSITIONS))

    @classmethod
    def from_setting(cls, value: Any, refund_limit: Decimal | None = None) -> Policy:
        """The policy from the ``returns.policy`` setting (a JSON object; missing keys keep their defaults)."""
        v: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
        base = cls()
        return cls(
            window_days=int(v.get("window_days", base.window_days)),
            department_windows={str(k): int(d) for k, d in dict(v.get("department_windows") or {}).items()},
            final_sale_departments=frozenset(str(x) for x in v.get("final_sale_departments") or ()),
            final_sale_skus=frozenset(str(x) for x in v.get("final_sale_skus") or ()),
            restocking_fee_percent=Decimal(str(v.get("restocking_fee_percent", "0"))),
            restocking_conditions=frozenset(v.get("restocking_conditions") or base.restocking_conditions),
            no_receipt_price_days=int(v.get("no_receipt_price_days", base.no_receipt_price_days)),
            refund_limit=refund_limit if refund_limit is not None else base.refund_limit,
            dispositions={**DEFAULT_DISPOSITIONS, **dict(v.get("dispositions") or {})},
        )

    def window_for(self, department: str | None) -> int:
        if department is not None and department in self.department_windows:
            return self.department_windows[department]
        return self.window_days

    def disposition(self, condition: str) -> str:
        if condition not in CONDITIONS:
            raise PolicyError(f"Choose the item's condition: {', '.join(CONDITION_WORDS.values())}.")
        where = self.dispositions.get(condition, DEFAULT_DISPOSITIONS[condition])
        return where if where in DISPOSITIONS else DEFAULT_DISPOSITIONS[condition]

    def line_exceptions(
        self, name: str, sku: str, department: str | None, sold_on: date, today: date
    ) -> list[Exception_]:
        """What about returning this line today is an exception: past its window, a final sale."""
        out: list[Exception_] = []
        days = (today - sold_on).days
        window = self.window_for(department)
        if days > window:
            out.append(
                Exception_(OUTSIDE_WINDOW, f"{name}: bought {days} days ago, the window is {window} days")
            )
        if sku in self.final_sale_skus or (
            department is not None and department in self.final_sale_departments
        ):
            out.append(Exception_(FINAL_SALE, f"{name}: final sale"))
        return out

    def restocking_fee(self, lines: Iterable[tuple[Decimal, str]]) -> Decimal:
        """The fee over (refund of a line, its condition): the percent of each line in a charged condition."""
        if self.restocking_fee_percent <= 0:
            return ZERO
        return sum(
            (
                _cents(total * self.restocking_fee_percent / 100)
                for total, condition in lines
                if condition in self.restocking_conditions
            ),
            ZERO,
        )

    def total_exceptions(self, total: Decimal, no_receipt: bool) -> list[Exception_]:
        out = []
        if no_receipt:
            out.append(Exception_(NO_RECEIPT, "no receipt: refund as store credit"))
        if total > self.refund_limit:
            out.append(
                Exception_(ABOVE_LIMIT, f"refund of {total} is above the limit of {self.refund_limit}")
            )
        return out


def no_receipt_price(current: Decimal, known_prices: Iterable[Decimal]) -> Decimal:
    """What a return without a receipt refunds per unit: the lowest price known in the period, else the current."""
    known = [p for p in known_prices if p is not None and p >= 0]
    return min(known) if known else current


def approval_for(exceptions: Iterable[Exception_]) -> Permission:
    """The one permission a return needs: RETURN alone, or the strongest its exceptions call for."""
    codes = {e.code for e in exceptions}
    for code in (NO_RECEIPT, OUTSIDE_WINDOW, FINAL_SALE, ABOVE_LIMIT):
        if code in codes:
            return _PERMISSION[code]
    return Permission.RETURN


def reasons(setting: Any) -> dict[str, str]:
    """The reason codes and their words from the ``returns.reasons`` setting (a mapping, or a list of words)."""
    if isinstance(setting, Mapping) and setting:
        return {str(k): str(v) for k, v in setting.items()}
    if isinstance(setting, list) and setting:
        return {str(x).strip().lower().replace(" ", "_"): str(x) for x in setting}
    return dict(DEFAULT_REASONS)
