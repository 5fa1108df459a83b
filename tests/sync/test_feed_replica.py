"""COUNTERLINE_CENTRAL_FEED_DATABASE_URL: a chain's pulls read the feed from a replica, everything else (tokens,
pushes) stays on the primary. Here the "replica" is a copy of the database taken before a push: pulls read it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sync import protocol
from sync.central import service
from sync.central.api import FEED_DATABASE_URL_ENV, create_app, sessions_of
from tests.sync.fleet import Hub
from tests.sync.test_central import receipt


def _stock_changes_seen(url: str, token: str) -> int:
    app = create_app(url)
    with TestClient(app) as client:
        r = client.get(
            "/v1/pull", params={"cursor": 0, "limit": 1000}, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 200, r.text
        seen = sum(1 for c in r.json()["changes"] if c["type"] == protocol.CHANGE_STOCK)
    app.state.engine.dispose()
    return seen


def test_pulls_read_the_feed_database_when_one_is_set(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    primary = tmp_path / "central.db"
    shutil.copy(sqlite_template, primary)
    url = f"sqlite:///{primary}"
    Hub.start(url).close()
    replica = tmp_path / "replica.db"
    shutil.copy(primary, replica)  # the replica lags: it has the catalog, not what is pushed next
    monkeypatch.setenv(FEED_DATABASE_URL_ENV, f"sqlite:///{replica}")
    app = create_app(url)
    with TestClient(app) as client:
        with sessions_of(app).begin() as s:
            code = service.issue_enrolment_code(s, "S1", "T1")
        # Enrolment and the token check are the primary's (the replica has never seen this terminal).
        r = client.post("/v1/enroll", json={"code": code, "terminal_name": "till"})
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        r = client.post("/v1/push", json={"events": [receipt("A1", "5")]}, headers=auth)
        assert r.json()["results"][0]["status"] == "applied"
    app.state.engine.dispose()
    assert _stock_changes_seen(url, token) == 0  # read from the replica: not there yet
    monkeypatch.delenv(FEED_DATABASE_URL_ENV)
    assert _stock_changes_seen(url, token) == 1  # from the primary
