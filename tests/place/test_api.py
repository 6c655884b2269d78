"""The place tree over HTTP: each actor sees the subtrees of their grants, admins add places."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.place.models import Place
from tests.conftest import World, bearer


def visible(client: TestClient, world: World, who: str, query: str = "") -> set[int]:
    r = client.get(f"/api/v1/places{query}", headers=bearer(world, who))
    assert r.status_code == 200, r.text
    return {p["id"] for p in r.json()}


def subtree(world: World, community: str) -> set[int]:
    return {world.places[k] for k in world.places if k.startswith(community)}


def test_each_actor_sees_the_subtrees_of_their_grants(client: TestClient, world: World) -> None:
    assert visible(client, world, "staff1") == subtree(world, "c1")
    assert visible(client, world, "alice") == subtree(world, "c1")
    assert visible(client, world, "carol") == subtree(world, "c2")
    district = visible(client, world, "district")
    assert district == subtree(world, "c1") | subtree(world, "c2") | {
        world.places["district"],
        world.places["street"],
    }
    assert world.places["city"] not in district
    assert visible(client, world, "staff1", "?kind=unit") == {world.places["c1-b1u1"]}
    assert (
        client.get("/api/v1/places?kind=planet", headers=bearer(world, "staff1")).status_code == 422
    )


def test_a_place_outside_the_grants_is_not_found(client: TestClient, world: World) -> None:
    for who, place in (("staff1", "c2"), ("carol", "c1-b1u1"), ("staff2", "district")):
        r = client.get(f"/api/v1/places/{world.places[place]}", headers=bearer(world, who))
        assert r.status_code == 404, (who, place)
    r = client.get(f"/api/v1/places/{world.places['c1-b1']}", headers=bearer(world, "alice"))
    assert r.status_code == 200
    assert r.json()["path"].endswith(f"/{world.places['c1-b1']}/")


def test_admin_adds_places_in_own_community_only(
    client: TestClient, world: World, db: Session
) -> None:
    admin = bearer(world, "admin1")
    r = client.post(
        "/api/v1/places",
        json={
            "parent_id": world.places["c1-compound"],
            "kind": "building",
            "name": "2号楼",
            "code": "t-c1-b2",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    building = r.json()
    parent_path = db.get(Place, world.places["c1-compound"])
    assert parent_path is not None
    assert building["path"] == f"{parent_path.path}{building['id']}/"
    refused = (
        (
            {
                "parent_id": world.places["c2-compound"],
                "kind": "building",
                "name": "x",
                "code": "t-x1",
            },
            403,
        ),
        ({"parent_id": None, "kind": "city", "name": "新城", "code": "t-x2"}, 403),
        (
            {
                "parent_id": world.places["c1-b1u1"],
                "kind": "community",
                "name": "x",
                "code": "t-x3",
            },
            422,
        ),
        (
            {
                "parent_id": world.places["c1-compound"],
                "kind": "building",
                "name": "x",
                "code": "t-c1-b2",
            },
            409,
        ),
        (
            {
                "parent_id": world.places["c1-compound"],
                "kind": "building",
                "name": "x",
                "code": "a b",
            },
            422,
        ),
        (
            {
                "parent_id": world.places["c1-compound"],
                "kind": "building",
                "name": "\x00",
                "code": "t-x4",
            },
            422,
        ),
    )
    for body, status in refused:
        r = client.post("/api/v1/places", json=body, headers=admin)
        assert r.status_code == status, (body, r.text)
    for who in ("staff1", "alice", "auditor1"):
        body = {
            "parent_id": world.places["c1-compound"],
            "kind": "building",
            "name": "x",
            "code": f"t-{who}",
        }
        assert (
            client.post("/api/v1/places", json=body, headers=bearer(world, who)).status_code == 403
        )
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Place)) == len(world.places) + 1
