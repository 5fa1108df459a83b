"""Office keys and the office page's signed links (sync.central.office), and the report commands' bad input: a key
reads reports only, for the stores it names; a link opens the page until it expires or its key is revoked; a
mistyped day or an unknown report ends with one line and exit code 2."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sync.central import office, service
from sync.central.api import create_app, sessions_of
from sync.central.cli import main as central_cli
from sync.central.models import utcnow


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = create_app(f"sqlite:///{tmp_path / 'central.db'}")
    with sessions_of(app).begin() as s:
        service.create_store(s, "S1", "Store one")
        service.create_store(s, "S2", "Store two")
    return TestClient(app)


def test_keys_links_expiry_and_revocation(client: TestClient) -> None:
    factory = sessions_of(client.app)  # type: ignore[arg-type]
    with factory.begin() as s:
        ident, key = office.create_key(s, "head office")
        one, s1_key = office.create_key(s, "S1 only", ["s1"])
        _, shop = service.create_api_key(s, "shop", all_stores=True)
        with pytest.raises(service.NotFound, match="no store S9"):
            office.create_key(s, "nobody", ["S9"])
        with pytest.raises(service.CentralError, match="label"):
            office.create_key(s, "  ")
    with factory() as s:
        assert office.check_key(s, key) is not None and office.check_key(s, shop) is None
        assert office.check_key(s, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        token = office.sign_link(s, ident, 2)
        assert office.check_link(s, token) is not None
        assert office.check_link(s, token, at=utcnow() + timedelta(hours=3)) is None  # expired
        assert office.check_link(s, token.replace(ident, one)) is None  # signed by another key
        with pytest.raises(service.CentralError, match="between 1 and"):
            office.sign_link(s, ident, 0)
    page = client.get("/office/reports", params={"link": token, "name": "returns"})
    assert page.status_code == 200 and "<svg" not in page.text and "S2 · Store two" in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    bad = client.get("/office/reports", params={"link": token, "name": "returns", "from": "24/11/2026"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    mine = client.get("/v1/reports/returns", headers={"X-Office-Key": s1_key})
    assert [x["store"] for x in mine.json()["stores"]] == ["S1"]
    assert client.get("/v1/reports/nope", headers={"X-Office-Key": key}).status_code == 404
    with factory.begin() as s:
        office.revoke_key(s, ident)
    assert client.get("/office/reports", params={"link": token}).status_code == 401
    assert client.get("/v1/reports/returns", headers={"X-Office-Key": key}).status_code == 401


def test_report_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    assert central_cli(["--database-url", url, "create-store", "S1", "Store one"]) == 0
    assert central_cli(["--database-url", url, "create-office-key", "head office"]) == 0
    ident = capsys.readouterr().out.split("office key ")[-1].split()[0]
    assert central_cli(["--database-url", url, "office-link", ident, "--hours", "3"]) == 0
    assert "/office/reports?" in capsys.readouterr().out
    day = ["--from", "2026-11-01", "--to", "2026-11-30"]
    assert central_cli(["--database-url", url, "report", "pack", *day]) == 0
    out = capsys.readouterr().out
    assert "Pack bench, 2026-11-01 to 2026-11-30" in out and "S1 Store one" in out and "Chain" in out
    for args, said in (
        (["report", "pack", "--from", "1/11/2026", "--to", "2026-11-30"], "YYYY-MM-DD"),
        (["report", "sales", *day], "there is no report"),
        (["report", "pack", "--from", "2026-11-30", "--to", "2026-11-01"], "swap them"),
        (["report", "pack", *day, "--store", "S9"], "no store S9"),
        (["office-link", "nope"], "no office key"),
        (["revoke-office-key", "nope"], "no office key"),
    ):
        assert central_cli(["--database-url", url, *args]) == 2, args
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err, (args, err)
