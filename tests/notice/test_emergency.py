"""Emergency check-ins: who is asked and told, answers, the board, and its live events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from linli.core.events import hub
from linli.notice import service
from linli.notice.models import EmergencyBroadcast, EmergencyResponse
from linli.notification.models import Notification
from tests.conftest import World, bearer
from tests.notice.conftest import actor_of

START = {
    "headline": "燃气泄漏，请留在室内",
    "instruction": "关闭门窗，不要使用明火。",
    "cap_category": "Safety",
}


def _start(client: TestClient, world: World, place: str = "c1", who: str = "staff1") -> int:
    r = client.post(
        "/api/v1/emergencies",
        json={**START, "place_id": world.places[place]},
        headers=bearer(world, who),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_broadcast_reaches_exactly_the_residents_living_under_the_place(
    client: TestClient, db: Session, world: World
) -> None:
    bid = _start(client, world)
    db.expire_all()
    asked = set(
        db.scalars(
            select(EmergencyResponse.resident_id).where(EmergencyResponse.broadcast_id == bid)
        )
    )
    # Everyone living in c1 (alan too, who has no login); nobody of c2.
    assert asked == {world.residents[k] for k in ("alice", "alan", "bob")}
    statuses = set(
        db.scalars(select(EmergencyResponse.status).where(EmergencyResponse.broadcast_id == bid))
    )
    assert statuses == {"no_answer"}
    inapp = db.scalars(
        select(Notification).where(
            Notification.category == "emergency", Notification.channel == "inapp"
        )
    ).all()
    assert {n.account_id for n in inapp} == {world.accounts["alice"], world.accounts["bob"]}
    assert all(n.severity == "critical" for n in inapp)
    assert all(n.link == f"/me/emergencies/{bid}" for n in inapp)
    # The residents see it in their bell.
    r = client.get("/api/v1/notifications", headers=bearer(world, "alice"))
    assert r.status_code == 200
    assert "燃气泄漏" in r.text
    r = client.get("/api/v1/notifications", headers=bearer(world, "carol"))
    assert r.status_code == 200
    assert "燃气泄漏" not in r.text
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "emergency.start")).all()
    assert len(audit) == 1


def test_a_broadcast_in_another_community_leaves_c1_out(
    client: TestClient, db: Session, world: World
) -> None:
    bid = _start(client, world, place="c2-b1", who="staff2")
    db.expire_all()
    asked = set(
        db.scalars(
            select(EmergencyResponse.resident_id).where(EmergencyResponse.broadcast_id == bid)
        )
    )
    assert asked == {world.residents["carol"]}
    inapp = db.scalars(select(Notification.account_id).where(Notification.category == "emergency"))
    assert set(inapp) == {world.accounts["carol"]}


def test_answers_and_the_board(client: TestClient, db: Session, world: World) -> None:
    bid = _start(client, world)
    r = client.post(
        f"/api/v1/emergencies/{bid}/answer", json={"status": "safe"}, headers=bearer(world, "alice")
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/emergencies/{bid}/answer",
        json={"status": "need_help", "note": "腿脚不便"},
        headers=bearer(world, "bob"),
    )
    assert r.status_code == 200
    board = client.get(f"/api/v1/emergencies/{bid}/board", headers=bearer(world, "staff1"))
    assert board.status_code == 200
    body = board.json()
    assert body["counts"] == {"safe": 1, "need_help": 1, "no_answer": 1, "total": 3}
    order = [(row["resident_id"], row["status"]) for row in body["to_visit"]]
    assert order == [(world.residents["bob"], "need_help"), (world.residents["alan"], "no_answer")]
    # Names are masked on the board.
    assert "李四海" not in board.text
    assert "李*" in board.text or "李**" in board.text
    # Staff record alan's answer after a visit.
    r = client.post(
        f"/api/v1/emergencies/{bid}/responses",
        json={"resident_id": world.residents["alan"], "status": "safe"},
        headers=bearer(world, "grid1"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["via"] == "staff"
    counts = client.get(f"/api/v1/emergencies/{bid}/board", headers=bearer(world, "staff1")).json()
    assert counts["counts"] == {"safe": 2, "need_help": 1, "no_answer": 0, "total": 3}
    # The resident sees their own answer.
    mine = client.get(f"/api/v1/emergencies/{bid}", headers=bearer(world, "bob")).json()
    assert mine["my_status"] == "need_help"
    # Ended: no more answers.
    r = client.post(f"/api/v1/emergencies/{bid}/end", headers=bearer(world, "staff1"))
    assert r.status_code == 200
    assert r.json()["status"] == "ended"
    r = client.post(
        f"/api/v1/emergencies/{bid}/answer", json={"status": "safe"}, headers=bearer(world, "bob")
    )
    assert r.status_code == 409
    r = client.post(f"/api/v1/emergencies/{bid}/end", headers=bearer(world, "staff1"))
    assert r.status_code == 409
    db.expire_all()
    row = db.scalars(
        select(EmergencyResponse).where(
            EmergencyResponse.broadcast_id == bid,
            EmergencyResponse.resident_id == world.residents["bob"],
        )
    ).one()
    assert row.status == "need_help"
    assert row.note == "腿脚不便"


def test_board_counts_are_published_live_after_commit(
    client: TestClient, db: Session, world: World
) -> None:
    bid = _start(client, world)

    async def run() -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        async with hub.subscribe(service.TOPIC) as queue:

            def answer(who: str, status: str) -> int:
                r = client.post(
                    f"/api/v1/emergencies/{bid}/answer",
                    json={"status": status},
                    headers=bearer(world, who),
                )
                return r.status_code

            assert await loop.run_in_executor(None, answer, "alice", "safe") == 200
            first = await asyncio.wait_for(queue.get(), 10)
            assert await loop.run_in_executor(None, answer, "bob", "need_help") == 200
            second = await asyncio.wait_for(queue.get(), 10)
            # A refused answer (carol was not asked) publishes nothing.
            assert await loop.run_in_executor(None, answer, "carol", "safe") == 404
            assert queue.empty()
            return [first.data, second.data]

    first, second = asyncio.run(run())
    assert first["broadcast_id"] == bid
    assert (first["safe"], first["need_help"], first["no_answer"]) == (1, 0, 2)
    assert (second["safe"], second["need_help"], second["no_answer"]) == (1, 1, 1)
    paths = service.managed_paths(actor_of(db, world, "staff1"))
    assert service.event_visible(paths, bid, first)
    assert not service.event_visible(paths, bid + 1, first)
    other = service.managed_paths(actor_of(db, world, "staff2"))
    assert not service.event_visible(other, bid, first)


def test_negative_cases_change_nothing(client: TestClient, db: Session, world: World) -> None:
    body = {**START, "place_id": world.places["c1"]}
    assert client.post("/api/v1/emergencies", json=body).status_code == 401
    for who in ("alice", "pm1", "auditor1", "staff2"):
        r = client.post("/api/v1/emergencies", json=body, headers=bearer(world, who))
        assert r.status_code == 403, (who, r.text)
    for bad in ({**body, "headline": ""}, {**body, "severity": "Huge"}, {**body, "place_id": 0}):
        r = client.post("/api/v1/emergencies", json=bad, headers=bearer(world, "staff1"))
        assert r.status_code == 422
    # A city is too large an area to ask (and staff1 holds no grant there).
    r = client.post(
        "/api/v1/emergencies",
        json={**body, "place_id": world.places["city"]},
        headers=bearer(world, "district"),
    )
    assert r.status_code in (403, 422)
    db.expire_all()
    assert db.scalars(select(EmergencyBroadcast)).all() == []
    bid = _start(client, world)
    for who in ("carol", "staff2"):
        r = client.get(f"/api/v1/emergencies/{bid}", headers=bearer(world, who))
        assert r.status_code == 404
    for who in ("alice", "staff2", "pm1", "carol"):
        r = client.get(f"/api/v1/emergencies/{bid}/board", headers=bearer(world, who))
        assert r.status_code == 404, who
        r = client.post(
            f"/api/v1/emergencies/{bid}/responses",
            json={"resident_id": world.residents["alan"], "status": "safe"},
            headers=bearer(world, who),
        )
        assert r.status_code == 404, who
        assert (
            client.post(f"/api/v1/emergencies/{bid}/end", headers=bearer(world, who)).status_code
            == 404
        )
    r = client.post(
        f"/api/v1/emergencies/{bid}/responses",
        json={"resident_id": world.residents["carol"], "status": "safe"},
        headers=bearer(world, "staff1"),
    )
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/emergencies/{bid}/answer",
        json={"status": "maybe"},
        headers=bearer(world, "alice"),
    )
    assert r.status_code == 422
    db.expire_all()
    statuses = set(
        db.scalars(select(EmergencyResponse.status).where(EmergencyResponse.broadcast_id == bid))
    )
    assert statuses == {"no_answer"}


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_residents_list_their_checkins(client: TestClient, world: World, who: str) -> None:
    bid = _start(client, world)
    r = client.get("/api/v1/emergencies", headers=bearer(world, who))
    assert r.status_code == 200
    assert [b["id"] for b in r.json()] == [bid]
    assert r.json()[0]["my_status"] == "no_answer"
    r = client.get("/api/v1/emergencies", headers=bearer(world, "carol"))
    assert r.json() == []
