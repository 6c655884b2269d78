"""The points API: own statement, rewards and redemption, staff hand-over, rules and
volunteering; refusals for anonymous callers, other residents and other communities' staff."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from linli.points import service as points_service
from tests.conftest import World, bearer
from tests.points.conftest import earn, make_redemption, make_reward


def test_resident_redeems_and_staff_hand_over(
    client: TestClient, db: Session, world: World
) -> None:
    earn(db, world.households["h1"], 30)
    reward_id = make_reward(db, world, cost=10, stock=1)
    db.commit()
    alice, staff = bearer(world, "alice"), bearer(world, "staff1")
    me = client.get("/api/v1/points/me", headers=alice)
    assert me.status_code == 200
    assert me.json()["balance"] == 30
    assert len(me.json()["entries"]) == 3
    rewards = client.get("/api/v1/points/rewards", headers=alice).json()
    assert [r["id"] for r in rewards] == [reward_id]
    r = client.post("/api/v1/points/redemptions", json={"reward_id": reward_id}, headers=alice)
    assert r.status_code == 201, r.text
    redemption = r.json()
    assert (redemption["status"], redemption["cost"]) == ("reserved", 10)
    again = client.post("/api/v1/points/redemptions", json={"reward_id": reward_id}, headers=alice)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    pending = client.get(
        f"/api/v1/points/redemptions?community_id={world.places['c1']}", headers=staff
    )
    assert [p["id"] for p in pending.json()] == [redemption["id"]]
    # Neither the resident nor staff of another community may hand it over.
    url = f"/api/v1/points/redemptions/{redemption['id']}/confirm"
    assert client.post(url, headers=alice).status_code == 404
    assert client.post(url, headers=bearer(world, "staff2")).status_code == 404
    done = client.post(url, headers=staff)
    assert done.status_code == 200
    assert done.json()["status"] == "handed_over"
    assert client.get("/api/v1/points/me", headers=alice).json()["balance"] == 20


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_anonymous_and_outsiders_are_refused(client: TestClient, db: Session, world: World) -> None:
    redemption_id = make_redemption(db, world)
    c1 = world.places["c1"]
    for method, path in (
        ("get", "/api/v1/points/me"),
        ("get", "/api/v1/points/rewards"),
        ("get", f"/api/v1/points/redemptions/{redemption_id}"),
        ("post", f"/api/v1/points/redemptions/{redemption_id}/cancel"),
        ("get", f"/api/v1/points/communities/{c1}/rules"),
    ):
        assert client.request(method, path).status_code == 401, path
    bob, carol, staff2 = (bearer(world, u) for u in ("bob", "carol", "staff2"))
    for who in (bob, carol, staff2):
        assert (
            client.get(f"/api/v1/points/redemptions/{redemption_id}", headers=who).status_code
            == 404
        )
        r = client.post(f"/api/v1/points/redemptions/{redemption_id}/cancel", headers=who)
        assert r.status_code == 404
    for who in (bob, carol, staff2):
        r = client.get(f"/api/v1/points/households/{world.households['h1']}/statement", headers=who)
        assert r.status_code in (403, 404)
        assert "balance" not in r.text
    assert client.get(f"/api/v1/points/communities/{c1}/rules", headers=staff2).status_code == 403
    assert client.get(f"/api/v1/points/communities/{c1}/rules", headers=bob).status_code == 403
    r = client.get(f"/api/v1/points/rewards?community_id={c1}", headers=carol)
    assert r.status_code == 404
    r = client.post(
        "/api/v1/points/rewards",
        json={"community_id": c1, "name": "x", "cost": 1, "stock": 1},
        headers=staff2,
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/points/volunteering",
        json={"household_id": world.households["h1"], "hours": "2", "token": "abcdefgh12"},
        headers=staff2,
    )
    assert r.status_code == 403
    body = {
        "household_id": world.households["h1"],
        "amount": 50,
        "reason": "x",
        "token": "t-12345678",
    }
    for who in (staff2, bob):
        assert client.post("/api/v1/points/adjustments", json=body, headers=who).status_code == 403
    assert points_service.balance_of_household(db, world.households["h1"]) == 20
    # The household itself may cancel: the points come back.
    r = client.post(
        f"/api/v1/points/redemptions/{redemption_id}/cancel", headers=bearer(world, "alice")
    )
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    db.expire_all()
    assert points_service.balance_of_household(db, world.households["h1"]) == 30


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_staff_rules_volunteering_and_audited_statement(
    client: TestClient, db: Session, world: World
) -> None:
    staff = bearer(world, "staff1")
    c1, h1 = world.places["c1"], world.households["h1"]
    rules = client.get(f"/api/v1/points/communities/{c1}/rules", headers=staff).json()
    by_code = {r["code"]: r for r in rules}
    assert {c: (r["points_per_unit"], r["daily_cap"]) for c, r in by_code.items()} == {
        "sorting_correct": (2, 10),
        "vote_cast": (5, None),
        "volunteering": (10, 40),
    }
    r = client.put(
        f"/api/v1/points/rules/{by_code['volunteering']['id']}",
        json={"points_per_unit": 12, "daily_cap": 30, "enabled": True},
        headers=staff,
    )
    assert r.status_code == 200
    r = client.put(
        f"/api/v1/points/rules/{by_code['volunteering']['id']}",
        json={"points_per_unit": 12, "daily_cap": 30, "enabled": True},
        headers=bearer(world, "staff2"),
    )
    assert r.status_code == 404
    body = {"household_id": h1, "hours": "1.5", "token": "form-token-1"}
    first = client.post("/api/v1/points/volunteering", json=body, headers=staff)
    second = client.post("/api/v1/points/volunteering", json=body, headers=staff)
    assert (first.status_code, first.json()["points"]) == (201, 18)
    assert (second.json()["points"], second.json()["balance"]) == (0, 18)
    statement = client.get(f"/api/v1/points/households/{h1}/statement", headers=staff)
    assert statement.status_code == 200
    assert statement.json()["entries"][0]["source"] == "志愿服务"
    db.expire_all()
    last = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last is not None
    assert (last.action, last.subject_id) == ("points.statement_viewed", str(h1))
    r = client.put(
        f"/api/v1/points/communities/{c1}/settings", json={"expiry_months": 0}, headers=staff
    )
    assert r.status_code == 422


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_leaderboard_opt_in_over_the_api(client: TestClient, db: Session, world: World) -> None:
    earn(db, world.households["h1"], 10)
    db.commit()
    alice = bearer(world, "alice")
    assert client.get("/api/v1/points/me/leaderboard", headers=alice).json()["opted_in"] is False
    assert client.get("/api/v1/points/leaderboard", headers=alice).json() == []
    r = client.put(
        "/api/v1/points/me/leaderboard",
        json={"opted_in": True, "display_name": "绿色家庭"},
        headers=alice,
    )
    assert r.status_code == 200
    rows = client.get("/api/v1/points/leaderboard", headers=bearer(world, "bob")).json()
    assert rows == [{"rank": 1, "label": "绿色家庭", "points": 10, "mine": False}]
    assert client.get("/api/v1/points/leaderboard", headers=bearer(world, "carol")).json() == []
