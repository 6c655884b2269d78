"""Incident JSON API: who may do what, lifecycle over HTTP, dispatch offers on the phone."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import World, bearer
from tests.incident.conftest import api_key, register, responder_account

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _create(client: TestClient, world: World, user: str = "staff1", **extra: object) -> int:
    body = {
        "place_id": world.places["c1-b1"],
        "type": "pipe_burst",
        "title": "地下室水管爆裂",
        "severity": 3,
        "node": "building:building-1",
        **extra,
    }
    r = client.post("/api/v1/incidents", json=body, headers=bearer(world, user))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_anonymous_gets_401_everywhere(client: TestClient, world: World) -> None:
    for method, path in (
        ("get", "/api/v1/incidents"),
        ("post", "/api/v1/incidents"),
        ("get", "/api/v1/incidents/1"),
        ("get", "/api/v1/responders"),
        ("get", "/api/v1/equipment"),
        ("post", "/api/v1/dispatch-offers/1/accept"),
        ("post", "/api/v1/dispatch-offers/1/decline"),
    ):
        r = client.request(method, path, json={})
        assert r.status_code == 401, (method, path, r.status_code)


def test_residents_and_other_communities_are_refused(client: TestClient, world: World) -> None:
    body = {"place_id": world.places["c1-b1"], "type": "fire", "title": "火"}
    assert (
        client.post("/api/v1/incidents", json=body, headers=bearer(world, "alice")).status_code
        == 403
    )
    assert (
        client.post("/api/v1/incidents", json=body, headers=bearer(world, "staff2")).status_code
        == 403
    )
    incident_id = _create(client, world)
    for user in ("staff2", "alice", "pm1"):
        r = client.get(f"/api/v1/incidents/{incident_id}", headers=bearer(world, user))
        assert r.status_code == 404, user
        assert client.get("/api/v1/incidents", headers=bearer(world, user)).json() == []
        r = client.post(
            f"/api/v1/incidents/{incident_id}/status",
            json={"status": "on_scene"},
            headers=bearer(world, user),
        )
        assert r.status_code == 404, user
    assert [
        i["id"] for i in client.get("/api/v1/incidents", headers=bearer(world, "staff1")).json()
    ] == [incident_id]


def test_lifecycle_over_http_with_bad_transitions(client: TestClient, world: World) -> None:
    staff = bearer(world, "staff1")
    incident_id = _create(client, world)
    url = f"/api/v1/incidents/{incident_id}"
    r = client.post(f"{url}/status", json={"status": "contained", "note": "关阀"}, headers=staff)
    assert r.status_code == 200
    assert r.json()["status"] == "contained"
    r = client.post(f"{url}/status", json={"status": "on_scene"}, headers=staff)
    assert r.status_code == 409
    r = client.post(f"{url}/status", json={"status": "closed"}, headers=staff)
    assert r.status_code == 422  # closing needs the report: its own route
    assert client.post(f"{url}/close", json={"after_action": ""}, headers=staff).status_code == 422
    r = client.post(f"{url}/close", json={"after_action": "阀门老化，已更换。"}, headers=staff)
    assert r.status_code == 200
    assert r.json()["closed_at"] is not None
    assert client.post(f"{url}/close", json={"after_action": "x"}, headers=staff).status_code == 409
    timeline = client.get(url, headers=staff).json()["timeline"]
    assert [e["kind"] for e in timeline] == ["reported", "status", "status", "after_action"]
    assert timeline[1]["text"] == "关阀"
    open_ids = [i["id"] for i in client.get("/api/v1/incidents", headers=staff).json()]
    assert incident_id not in open_ids
    every = client.get("/api/v1/incidents?include_closed=true", headers=staff).json()
    assert incident_id in [i["id"] for i in every]


def test_dispatch_decline_and_answers_by_the_right_responder_only(
    client: TestClient, db: Session, world: World
) -> None:
    staff = bearer(world, "staff1")
    ids = {}
    for name, node in (("plumber1", "building:building-1"), ("plumber2", "building:building-2")):
        ids[name] = register(db, world, name, ["plumbing"], node)
    spare_account = responder_account(db, world, "plumber3")
    keys = {name: api_key(db, world, name) for name in ("plumber1", "plumber2", "plumber3")}
    db.commit()
    r = client.post(
        "/api/v1/responders",
        json={
            "account_id": spare_account,
            "place_id": world.places["c1"],
            "display_name": "王师傅",
            "skills": ["Plumbing"],
            "node": "building:building-12",
        },
        headers=staff,
    )
    assert r.status_code == 201, r.text
    assert r.json()["skills"] == ["plumbing"]
    ids["plumber3"] = r.json()["id"]
    r = client.post(
        "/api/v1/responders",
        json={"account_id": spare_account, "place_id": world.places["c1"], "display_name": "x"},
        headers=staff,
    )
    assert r.status_code == 409
    r = client.post(
        "/api/v1/responders",
        json={"account_id": spare_account, "place_id": world.places["c1"], "display_name": "x"},
        headers=bearer(world, "staff2"),
    )
    assert r.status_code == 403

    incident_id = _create(client, world)
    plan = client.get(f"/api/v1/incidents/{incident_id}/recommendation", headers=staff).json()
    assert {a["responder_id"] for a in plan["assignments"]} == {ids["plumber1"], ids["plumber2"]}
    sent = client.post(f"/api/v1/incidents/{incident_id}/dispatch", headers=staff).json()
    assert {o["responder_id"] for o in sent} == {ids["plumber1"], ids["plumber2"]}
    mine = client.get("/api/v1/dispatch-offers", headers=keys["plumber1"]).json()
    assert [o["responder_id"] for o in mine] == [ids["plumber1"]]
    offer = mine[0]["id"]

    for other in (keys["plumber2"], keys["plumber3"], staff, bearer(world, "staff2")):
        r = client.post(f"/api/v1/dispatch-offers/{offer}/accept", headers=other)
        assert r.status_code == 404
    r = client.post(f"/api/v1/dispatch-offers/{offer}/decline", headers=keys["plumber1"])
    assert r.status_code == 200
    assert r.json()["status"] == "declined"
    r = client.post(f"/api/v1/dispatch-offers/{offer}/accept", headers=keys["plumber1"])
    assert r.status_code == 409
    offers = client.get(f"/api/v1/incidents/{incident_id}/offers", headers=staff).json()
    assert [(o["responder_id"], o["status"]) for o in offers] == [
        (ids["plumber1"], "declined"),
        (ids["plumber2"], "offered"),
        (ids["plumber3"], "offered"),
    ]
    r = client.post(
        f"/api/v1/responders/{ids['plumber1']}/status",
        json={"status": "off_duty"},
        headers=keys["plumber1"],
    )
    assert r.status_code == 200
    assert r.json()["on_shift"] is False
    r = client.post(
        f"/api/v1/responders/{ids['plumber1']}/status",
        json={"status": "available"},
        headers=keys["plumber2"],
    )
    assert r.status_code == 403


def test_dispatch_needs_a_point_on_the_site_plan(client: TestClient, world: World) -> None:
    staff = bearer(world, "staff1")
    incident_id = _create(client, world, node=None)
    url = f"/api/v1/incidents/{incident_id}"
    assert client.get(f"{url}/recommendation", headers=staff).status_code == 409
    assert client.post(f"{url}/dispatch", headers=staff).status_code == 409
    r = client.patch(url, json={"node": "nowhere"}, headers=staff)
    assert r.status_code == 422
    r = client.patch(url, json={"node": "gate:east-gate", "severity": 4}, headers=staff)
    assert r.status_code == 200
    assert (r.json()["node"], r.json()["severity"]) == ("gate:east-gate", 4)
    plan = client.get(f"{url}/recommendation", headers=staff).json()
    assert plan["assignments"] == []  # nobody on the register yet
    assert plan["unfilled"] == [["plumbing", 0], ["plumbing", 1]]
    kinds = [e["kind"] for e in client.get(url, headers=staff).json()["timeline"]]
    assert kinds == ["reported", "severity", "located"]
    r = client.patch(url, json={"severity": 2}, headers=bearer(world, "staff2"))
    assert r.status_code == 404
