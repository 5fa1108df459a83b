"""Enrolling a till makes its first admin: the PIN is held to the store's minimum for an admin (6 digits by default),
and checked before the one-time code is spent, so a refused PIN does not cost the store a new code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sync.fleet import Hub
from tests.sync.test_loopback import served  # noqa: F401 - the fixture
from ui.main import main as counterline


def test_a_short_admin_pin_is_refused_before_the_code_is_spent(
    served: tuple[Hub, str],  # noqa: F811 - the fixture
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub, base = served
    data = str(tmp_path / "till")
    code = hub.enrolment_code("S1", "T7")
    assert counterline(["--data-dir", data, "enrol", base, code, "--admin-pin", "1234"]) == 2
    assert "admin's PIN must be at least 6 digits" in capsys.readouterr().err
    assert counterline(["--data-dir", data, "enrol", base, code, "--admin-pin", "135790"]) == 0
    assert "created user 'admin'" in capsys.readouterr().out
