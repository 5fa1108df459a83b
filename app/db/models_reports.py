"""The closed days' sales, rolled up (models of `app.db.models`, split from it by subject; re-exported there).

A year of a busy store holds ~900k sale lines: summing them each time a report opens costs about a second. A day that
has ended does not change, so the sales reports keep what they summed of it here, per local day of a time zone,
derived by the very queries that sum an open day (`app.services.report_days`):

- `ReportDay`: that a day of a zone is rolled up, with its bounds as UTC moments. Triggers (till migration 0019)
  delete it whenever an order completed within it, or one of that order's lines, is written: a late sync, a clock
  put back, a correction. A day without its row is summed again from the orders the next time a report asks.
- `ReportDayItem`: per product and SKU, the lines sold, their quantity and their amount (voided lines left out).
- `ReportDayHour`: per local hour, the sales and their net (the Z report's sales, at their totals).
- `ReportDayDiscount`: per kind, reason and approver, the discounts and price overrides given and their amount off
  (app.services.discount_lines, which the list of discounts shows one by one).

The rows of a day whose `ReportDay` is gone are stale until the day is summed again; they are read only through it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base
from app.db.types import Money, Qty, UTCDateTime


class ReportDay(Base):
    __tablename__ = "report_days"
    # The triggers look a moment up by the end of the day it falls in: a sale completed now matches none.
    __table_args__ = (Index("ix_report_days_end_at", "end_at", "start_at"),)
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportDayItem(Base):
    __tablename__ = "report_day_items"
    # Kept in the order of its key on SQLite (a table without rowid): a range of days is read from the table alone.
    __table_args__ = {"sqlite_with_rowid": False}
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # '' for a line without a product
    sku: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(
        String(200)
    )  # the greatest of the day's line names, as the reports show
    lines: Mapped[int] = mapped_column(Integer)
    qty: Mapped[Decimal] = mapped_column(Qty)
    amount: Mapped[Decimal] = mapped_column(Money)


class ReportDayHour(Base):
    __tablename__ = "report_day_hours"
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)  # the local hour, 0-23
    sales: Mapped[int] = mapped_column(Integer)
    net: Mapped[Decimal] = mapped_column(Money)


class ReportDayDiscount(Base):
    __tablename__ = "report_day_discounts"
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True)  # the row's number within its day
    kind: Mapped[str] = mapped_column(String(20))  # discount_lines.KINDS
    reason: Mapped[str] = mapped_column(Text)  # as given (a synced sale's may be longer than the till allows)
    approver_id: Mapped[str] = mapped_column(String(36))  # the staff member ('' for a sale without an owner)
    own: Mapped[bool] = mapped_column(Boolean)  # the cashier's own authority, not an approval
    given: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)
