"""Notices: publishing, who reads what (targeting, schedule, expiry, pinning), read receipts."""

from __future__ import annotations

import datetime as dt

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.notice.models import Notice, NoticeRead
from tests.conftest import World, bearer

T0 = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)


def _publish(
    client: TestClient, world: World, place: str, who: str = "staff1", **extra: object
) -> int:
    body = {"place_id": world.places[place], "title": f"通知 {place}", "body": "内容", **extra}
    r = client.post("/api/v1/notices", json=body, headers=bearer(world, who))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _titles(client: TestClient, world: World, who: str) -> list[str]:
    r = client.get("/api/v1/notices", headers=bearer(world, who))
    assert r.status_code == 200, r.text
    return [item["title"] for item in r.json()["items"]]


def test_residents_see_notices_of_their_place_and_above_pinned_first(
    client: TestClient, world: World
) -> None:
    with time_machine.travel(T0, tick=False):
        _publish(client, world, "c1")
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        _publish(client, world, "c1-b1u1", category="maintenance")
        _publish(client, world, "c1-compound", pinned=True)
        _publish(client, world, "c2", who="staff2")
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        assert _titles(client, world, "alice") == ["通知 c1-compound", "通知 c1-b1u1", "通知 c1"]
        assert _titles(client, world, "carol") == ["通知 c2"]
        # Staff see what they manage; another community's staff see none of c1's.
        assert "通知 c2" not in _titles(client, world, "staff1")
        assert _titles(client, world, "staff2") == ["通知 c2"]


def test_scheduled_and_expired_notices_are_hidden_from_residents(
    client: TestClient, world: World
) -> None:
    later = (T0 + dt.timedelta(days=1)).isoformat()
    expires = (T0 + dt.timedelta(days=2)).isoformat()
    with time_machine.travel(T0, tick=False):
        nid = _publish(client, world, "c1", publish_at=later, expires_at=expires)
        assert _titles(client, world, "alice") == []
        assert (
            client.get(f"/api/v1/notices/{nid}", headers=bearer(world, "alice")).status_code == 404
        )
        # Staff see it scheduled.
        assert _titles(client, world, "staff1") == ["通知 c1"]
    with time_machine.travel(T0 + dt.timedelta(days=1, minutes=1), tick=False):
        assert _titles(client, world, "alice") == ["通知 c1"]
    with time_machine.travel(T0 + dt.timedelta(days=2, minutes=1), tick=False):
        assert _titles(client, world, "alice") == []


def test_read_receipts(client: TestClient, db: Session, world: World) -> None:
    nid = _publish(client, world, "c1")
    r = client.get(f"/api/v1/notices/{nid}/receipts", headers=bearer(world, "staff1"))
    assert r.json() == {"notice_id": nid, "read": 0, "audience": 2}
    for _ in range(2):
        r = client.post(f"/api/v1/notices/{nid}/read", headers=bearer(world, "alice"))
        assert r.status_code == 200
        assert r.json()["read"] is True
    r = client.get(f"/api/v1/notices/{nid}/receipts", headers=bearer(world, "staff1"))
    assert r.json() == {"notice_id": nid, "read": 1, "audience": 2}
    items = client.get("/api/v1/notices", headers=bearer(world, "bob")).json()["items"]
    assert items[0]["read"] is False
    db.expire_all()
    assert len(db.scalars(select(NoticeRead).where(NoticeRead.notice_id == nid)).all()) == 1
    # Residents and other communities do not get the receipts.
    for who in ("alice", "staff2", "pm1", "carol"):
        r = client.get(f"/api/v1/notices/{nid}/receipts", headers=bearer(world, who))
        assert r.status_code == 404, who


def test_negative_cases_store_nothing(client: TestClient, db: Session, world: World) -> None:
    body = {"place_id": world.places["c1"], "title": "停水通知"}
    assert client.post("/api/v1/notices", json=body).status_code == 401
    for who in ("alice", "pm1", "auditor1", "staff2", "carol"):
        r = client.post("/api/v1/notices", json=body, headers=bearer(world, who))
        assert r.status_code == 403, (who, r.text)
    for bad in (
        {**body, "title": ""},
        {**body, "title": "x" * 201},
        {**body, "category": "ads"},
        {**body, "title": "a\x00b"},
        {**body, "publish_at": "2026-06-02T00:00:00Z", "expires_at": "2026-06-01T00:00:00Z"},
    ):
        r = client.post("/api/v1/notices", json=bad, headers=bearer(world, "staff1"))
        assert r.status_code == 422, bad
    db.expire_all()
    assert db.scalars(select(Notice)).all() == []
    nid = _publish(client, world, "c1")
    for who in ("carol", "staff2"):
        assert client.get(f"/api/v1/notices/{nid}", headers=bearer(world, who)).status_code == 404
        r = client.post(f"/api/v1/notices/{nid}/read", headers=bearer(world, who))
        assert r.status_code == 404
    db.expire_all()
    assert db.scalars(select(NoticeRead)).all() == []
