"""Access at the central store: staff changes carry their authority, a replacement till goes on with its numbers,
stores do not interfere, storefront keys are scoped and revocable, terminals revocable, the audit chain anchored,
the API's docs off unless asked for. In process here (SQLite and PostgreSQL); the end-to-end cases over HTTP on
PostgreSQL are in test_access_e2e.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from uuid6 import uuid7

from app.domain import permissions
from sync import protocol
from sync.central import roles, service
from sync.central.api import create_app
from sync.central.cli import main as central_cli
from sync.central.models import ParkedSale, StaffMember, Store, Terminal
from tests.sync.conftest import Central


def event(kind: str, payload: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or str(uuid7()),
        "type": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": payload,
    }


def staff_saved(
    user_id: str,
    role: str,
    actor: tuple[str, str] | None,
    bootstrap: bool = False,
    username: str | None = None,
    active: bool = True,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": user_id,
        "username": username or f"u{user_id[-6:]}",
        "display_name": "Someone",
        "role": role,
        "pin_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
        "badge_code": "B-" + user_id[-6:],
        "active": active,
        "bootstrap": bootstrap,
    }
    if actor is not None:
        payload["actor"] = {"id": actor[0], "role": actor[1]}
    return event(protocol.STAFF_SAVED, payload)


LINES = [{"sku": "A1", "qty": "1", "unit_price": "2.50", "amount": "2.50", "tax": "0.00"}]


def statuses(results: list[dict[str, Any]]) -> list[str]:
    return [r["status"] for r in results]


def staff_feed(central: Central, terminal: str = "S1/T2") -> dict[str, dict[str, Any]]:
    changes, _ = central.pull_all(terminal=terminal)
    return {c["key"]: c["payload"] for c in changes if c["type"] == protocol.CHANGE_STAFF}


# ---------------------------------------------------------------- 4: staff changes carry their authority


def test_the_centrals_role_rule_is_the_tills() -> None:
    assert roles.RANK == {str(r): rank for r, rank in permissions.RANK.items()}
    assert roles.MANAGES_STAFF == {
        str(r) for r in permissions.Role if permissions.allowed(r, permissions.Permission.USER_MANAGEMENT)
    }
    for granter in permissions.Role:
        for target in permissions.Role:
            assert (roles.refusal(granter, target, None) is None) == permissions.can_grant(granter, target)


def test_a_staff_change_needs_an_actor_who_may_make_it(central: Central) -> None:
    admin = str(uuid7())
    # A till just enrolled brings its first admin in its first push.
    assert statuses(central.push([staff_saved(admin, "admin", (admin, "admin"), bootstrap=True)])) == [
        "applied"
    ]
    # After that push the window is closed: another "first admin" from the same till is refused.
    late = str(uuid7())
    [refused] = central.push([staff_saved(late, "admin", (late, "admin"), bootstrap=True)])
    assert refused["status"] == "rejected" and "first admin" in refused["reason"]

    cashier, manager = str(uuid7()), str(uuid7())
    assert statuses(
        central.push(
            [
                staff_saved(manager, "manager", (admin, "admin")),
                staff_saved(cashier, "cashier", (admin, "admin")),
            ]
        )
    ) == ["applied", "applied"]

    takeover = str(uuid7())
    cases = [
        (staff_saved(takeover, "admin", None), "must name"),  # a token alone is no authority
        (staff_saved(takeover, "admin", (str(uuid7()), "admin")), "not an active user"),  # unknown actor
        (
            staff_saved(takeover, "admin", (cashier, "admin")),
            "may not manage staff",
        ),  # the claimed role is not read
        (staff_saved(takeover, "admin", (manager, "manager")), "may not give the role admin"),
        # Resetting the admin's PIN (the same user and role, a new hash) as a manager.
        (staff_saved(admin, "admin", (manager, "manager"), username="admin"), "may not give the role admin"),
        (staff_saved(admin, "cashier", (manager, "manager"), username="admin"), "whose role is admin"),
    ]
    for ev, why in cases:
        [result] = central.push([ev], terminal="S1/T2")
        assert result["status"] == "rejected" and why in result["reason"], (why, result)
    # Another store's admin has no authority here.
    other = str(uuid7())
    assert statuses(
        central.push([staff_saved(other, "admin", (other, "admin"), True)], terminal="S2/T1")
    ) == ["applied"]
    [foreign] = central.push([staff_saved(takeover, "cashier", (other, "admin"))], terminal="S1/T2")
    assert foreign["status"] == "rejected"

    # A disabled manager has no authority left; the disabled user's PIN hash and badge stay out of the feed.
    assert statuses(central.push([staff_saved(manager, "manager", (admin, "admin"), active=False)])) == [
        "applied"
    ]
    [gone] = central.push([staff_saved(str(uuid7()), "cashier", (manager, "manager"))], terminal="S1/T2")
    assert gone["status"] == "rejected"
    # The cashier's PIN is reset: only the newest change keeps a PIN hash in the feed (an old hash is an old PIN).
    assert statuses(central.push([staff_saved(cashier, "cashier", (admin, "admin"))])) == ["applied"]
    changes, _ = central.pull_all(terminal="S1/T2")
    hashes = [c["payload"]["pin_hash"] for c in changes if c["key"] == cashier]
    assert len(hashes) == 2 and hashes[0] == service.DISABLED_PIN_HASH and hashes[1].startswith("$argon2id$")
    feed = staff_feed(central)
    assert set(feed) == {admin, manager, cashier}  # nothing refused reached a till
    assert feed[manager]["pin_hash"] == service.DISABLED_PIN_HASH and feed[manager]["badge_code"] is None
    assert feed[cashier]["pin_hash"].startswith("$argon2id$")
    assert all("actor" not in p and "bootstrap" not in p for p in feed.values())
    with central.sessions() as s:
        s1 = s.scalar(select(Store.id).where(Store.code == "S1"))
        kept = {
            str(m.user_id): (m.role, m.active) for m in s.scalars(select(StaffMember)) if m.store_id == s1
        }
    assert kept == {admin: ("admin", True), manager: ("manager", False), cashier: ("cashier", True)}


# ---------------------------------------------------------------- 5: a replacement till


def test_a_replacement_enrolment_continues_numbers_and_the_old_token_has_a_grace(central: Central) -> None:
    old = central.tokens["S1/T1"]
    parked = {"number": "S1-T1-000007", "receipt_number": "S1-T1-001300", "terminal": "T1", "lines": LINES}
    central.push([event(protocol.SALE_PARKED, parked)])
    assert central.push([event(protocol.SHIFT_OPENED, {"shift_id": str(uuid7()), "number": "S1-T1-000003"})])
    with central.sessions() as s:
        t1 = s.scalar(select(Terminal).join(Store).where(Store.code == "S1", Terminal.code == "T1"))
        assert t1 is not None
        assert t1.last_numbers == {"parked": 7, "receipt": 1300, "shift": 3}
    with central.sessions.begin() as s:
        code = service.issue_enrolment_code(s, "S1", "T1")
    answer = central.client.post("/v1/enroll", json={"code": code, "terminal_name": "new till"})
    assert answer.status_code == 200
    body = protocol.EnrollResponse.model_validate(answer.json())
    assert body.numbers == {"receipt": 2000, "return": 1000, "parked": 1000, "shift": 1000}
    # (receipts 1301-1999 stay free for what the old till numbered and has not sent)
    # The old token still delivers (its grace); both work; revoking the terminal ends both at once.
    new_headers = {"Authorization": f"Bearer {body.token}"}
    old_headers = {"Authorization": f"Bearer {old}"}
    assert central.client.get("/v1/pull", headers=old_headers).status_code == 200
    assert central.client.get("/v1/pull", headers=new_headers).status_code == 200
    with central.sessions.begin() as s:
        service.revoke_terminal(s, "S1", "T1")
    assert central.client.get("/v1/pull", headers=old_headers).status_code == 401
    assert central.client.get("/v1/pull", headers=new_headers).status_code == 401
    assert central.client.get("/v1/pull", headers=central.auth("S1/T2")).status_code == 200


def test_a_replaced_token_stops_after_its_grace(central: Central) -> None:
    old = {"Authorization": f"Bearer {central.tokens['S1/T1']}"}
    with central.sessions.begin() as s:
        code = service.issue_enrolment_code(s, "S1", "T1")
        service.enroll(s, code, "new till", grace=timedelta(0))
    assert central.client.get("/v1/pull", headers=old).status_code == 401


# ---------------------------------------------------------------- 6: stores do not interfere


def test_parked_numbers_and_event_ids_are_scoped_to_their_store(central: Central) -> None:
    parked = {"number": "P-000001", "terminal": "T1", "lines": LINES}
    assert statuses(central.push([event(protocol.SALE_PARKED, parked)], terminal="S2/T1")) == ["applied"]
    assert statuses(central.push([event(protocol.SALE_PARKED, parked)])) == ["applied"]
    recall = event(protocol.SALE_RECALLED, {"number": "P-000001", "terminal": "T2"})
    assert statuses(central.push([recall], terminal="S1/T2")) == ["applied"]
    with central.sessions() as s:
        rows = {(p.store_id, p.status) for p in s.scalars(select(ParkedSale))}
    assert len(rows) == 2 and {status for _, status in rows} == {"parked", "recalled"}

    # S2 reusing an event id S1 used is refused (alone), not answered "duplicate".
    shift = {"shift_id": str(uuid7()), "number": "X-1"}
    first = event(protocol.SHIFT_OPENED, shift)
    assert statuses(central.push([first])) == ["applied"]
    reused = event(protocol.SHIFT_OPENED, shift, event_id=first["id"])
    fresh = event(protocol.SHIFT_OPENED, {"shift_id": str(uuid7()), "number": "X-2"})
    [bad, good] = central.push([reused, fresh], terminal="S2/T1")
    assert bad["status"] == "rejected" and "another store" in bad["reason"]
    assert good["status"] == "applied"
    assert statuses(central.push([first], terminal="S1/T2")) == ["duplicate"]  # same store: duplicate


# ---------------------------------------------------------------- 8: scoped and revocable keys


def test_storefront_keys_are_scoped_to_their_stores_and_revoked_at_once(
    central: Central, capsys: pytest.CaptureFixture[str]
) -> None:
    url = central.url
    assert central_cli(["--database-url", url, "create-api-key", "--store", "S1", "--label", "web"]) == 0
    key = capsys.readouterr().out.strip()
    headers = {"X-Api-Key": key}
    order = {"store": "S1", "lines": [{"sku": "A1", "qty": "1"}]}
    central.push([event(protocol.STOCK_MOVEMENT, _receipt("A1", "5"))])
    central.push([event(protocol.STOCK_MOVEMENT, _receipt("A1", "5"))], terminal="S2/T1")
    placed = central.client.post("/v1/orders", json=order, headers=headers)
    assert placed.status_code == 201, placed.text
    other = central.client.post("/v1/orders", json={**order, "store": "S2"}, headers=headers)
    assert other.status_code == 403
    with central.sessions.begin() as s:
        _, everywhere = service.create_api_key(s, "all", all_stores=True)
    s2 = central.client.post("/v1/orders", json={**order, "store": "S2"}, headers={"X-Api-Key": everywhere})
    assert s2.status_code == 201
    # A key for S1 cannot cancel (nor learn of) S2's order.
    cancel = central.client.post(f"/v1/orders/{s2.json()['number']}/cancel", headers=headers)
    assert cancel.status_code == 404
    assert central_cli(["--database-url", url, "revoke-key", "--", key]) == 0
    assert "revoked" in capsys.readouterr().out
    assert central.client.post("/v1/orders", json=order, headers=headers).status_code == 401
    assert central_cli(["--database-url", url, "revoke-key", "99999"]) == 2
    assert central_cli(["--database-url", url, "create-api-key"]) == 2


def _receipt(sku: str, qty: str) -> dict[str, Any]:
    return {"id": str(uuid7()), "sku": sku, "location": "floor", "qty": qty, "kind": "receipt"}


def test_a_revoked_terminal_is_refused_at_its_next_request(
    central: Central, capsys: pytest.CaptureFixture[str]
) -> None:
    assert central.client.get("/v1/pull", headers=central.auth()).status_code == 200
    assert central_cli(["--database-url", central.url, "revoke-terminal", "S1", "T1"]) == 0
    assert "revoked" in capsys.readouterr().out
    answer = central.client.post("/v1/push", json={"events": []}, headers=central.auth())
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    assert central.client.get("/v1/audit/head", headers=central.auth()).status_code == 401
    assert central_cli(["--database-url", central.url, "revoke-terminal", "S1", "T9"]) == 2


# ---------------------------------------------------------------- 9: the audit head is anchored at the central


def test_each_push_anchors_the_audit_head(central: Central) -> None:
    body = {"events": [], "audit_head": {"seq": 5, "hash": "h5"}}
    assert central.client.post("/v1/push", json=body, headers=central.auth()).status_code == 200
    body = {"events": [], "audit_head": {"seq": 3, "hash": "h3"}}  # a head going back does not lower it
    assert central.client.post("/v1/push", json=body, headers=central.auth()).status_code == 200
    head = protocol.AuditHead.model_validate(
        central.client.get("/v1/audit/head", headers=central.auth()).json()
    )
    assert (head.anchor_seq, head.anchor_hash) == (5, "h5")
    other = central.client.get("/v1/audit/head", headers=central.auth("S1/T2")).json()
    assert other["anchor_seq"] is None


# ---------------------------------------------------------------- 10: docs off, NUL in enrolment


def test_docs_are_off_unless_asked_for(central: Central, monkeypatch: pytest.MonkeyPatch) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert central.client.get(path).status_code == 404
    with TestClient(create_app(central.url, docs=True)) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 200
    monkeypatch.setenv("COUNTERLINE_CENTRAL_DOCS", "1")
    with TestClient(create_app(central.url)) as client:
        assert client.get("/openapi.json").status_code == 200


def test_enrolment_with_a_nul_answers_4xx(central: Central) -> None:
    with central.sessions.begin() as s:
        code = service.issue_enrolment_code(s, "S1", "T5")
    for body in (
        {"code": code, "terminal_name": "till\x00five"},
        {"code": code + "\x00", "terminal_name": "x"},
    ):
        answer = central.client.post("/v1/enroll", json=body)
        assert 400 <= answer.status_code < 500, answer.text
    assert (
        central.client.post("/v1/enroll", json={"code": code, "terminal_name": "till five"}).status_code
        == 200
    )


def test_migration_0004_takes_the_staff_from_the_feeds_and_scrubs_old_hashes(tmp_path: Any) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from sync.central.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0003")
    user, gone = str(uuid7()), str(uuid7())

    def staff_row(uid: str, pin_hash: str, active: bool = True) -> str:
        return json.dumps(
            {"id": uid, "username": uid[-4:], "display_name": "x", "role": "manager", "pin_hash": pin_hash,
             "badge_code": "B1", "active": active}
        )  # fmt: skip

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO stores (id, code, name, currency, locale, timezone, feed_seq, created_at) "
                "VALUES (1, 'S1', 'S', 'EUR', 'en', 'UTC', 3, '2026-01-01')"
            )
        )
        for seq, payload in (
            (1, staff_row(user, "old")),
            (2, staff_row(user, "new")),
            (3, staff_row(gone, "h", False)),
        ):
            conn.execute(
                text("INSERT INTO change_feed VALUES (1, :seq, 'staff', :key, :payload, '2026-01-01')"),
                {"seq": seq, "key": json.loads(payload)["id"], "payload": payload},
            )
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as conn:
        kept = {
            r.user_id.replace("-", ""): (r.role, r.active) for r in conn.execute(text("SELECT * FROM staff"))
        }
        feed = [r.payload for r in conn.execute(text("SELECT payload FROM change_feed ORDER BY seq"))]
    engine.dispose()
    assert kept == {user.replace("-", ""): ("manager", 1), gone.replace("-", ""): ("manager", 0)}
    hashes = [json.loads(p)["pin_hash"] for p in feed]
    assert hashes == ["disabled", "new", "disabled"]
