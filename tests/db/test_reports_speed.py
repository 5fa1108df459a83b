"""The shortcuts the reports take over a year of sales give what the plain way gives: a completion moment's local
minute worked out once per UTC hour (app.services.reports_sales `_minute_text`) is the moment's own local minute,
in zones whole hours from UTC, half and quarter hours from it, and across clock changes (SQLite's raw text and
PostgreSQL's aware datetimes both)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.services.reports_base import Period
from app.services.reports_sales import _minute_text

ZONES = (
    "Europe/Dublin",  # clocks change at 01:00 UTC
    "America/New_York",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30, with summer time
    "Australia/Lord_Howe",  # summer time of half an hour
    "UTC",
)


@pytest.mark.parametrize("zone", ZONES)
def test_the_local_minute_of_each_moment_is_its_own(zone: str) -> None:
    rng = random.Random(zone)
    p = Period("range", date(2026, 1, 1), date(2026, 12, 31), zone)
    text = _minute_text(p)
    # Every minute of the days clocks change (both ways, north and south), and moments spread over the year.
    starts = [
        datetime(2026, m, d, tzinfo=UTC) for m, d in ((3, 8), (3, 29), (4, 5), (10, 4), (10, 25), (11, 1))
    ]
    moments = [
        s + timedelta(minutes=i, seconds=rng.uniform(0, 60)) for s in starts for i in range(0, 2 * 1440, 7)
    ]
    moments += [
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.uniform(0, 365 * 86400)) for _ in range(3000)
    ]
    wrong = []
    for at in moments:
        want = at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
        raw = at.replace(tzinfo=None).isoformat(" ", timespec="microseconds")  # as SQLite keeps it
        for got in (text(raw), text(at)):
            if got != want:
                wrong.append((at, got, want))
    assert wrong == []
