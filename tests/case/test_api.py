"""The case API: report, read, lifecycle; refusals (anonymous, wrong role, other community)."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.case.models import Case
from tests.case.conftest import category_id, file_case
from tests.conftest import World, bearer


def _count(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Case)) or 0)


def test_anonymous_gets_401(client: TestClient, db: Session, world: World) -> None:
    case = file_case(db, world)
    before = _count(db)
    for method, url in (
        ("GET", "/api/v1/cases"),
        ("GET", "/api/v1/cases/queue"),
        ("GET", "/api/v1/case-categories"),
        ("GET", f"/api/v1/cases/{case.id}"),
        ("POST", "/api/v1/cases"),
        ("POST", f"/api/v1/cases/{case.id}/resolve"),
    ):
        r = client.request(method, url, json={"text": "x"} if method == "POST" else None)
        assert r.status_code == 401, (method, url, r.text)
    assert _count(db) == before


def test_report_and_work_a_case_over_the_api(client: TestClient, db: Session, world: World) -> None:
    light = category_id(db, "light")
    db.commit()
    alice, staff1, pm1 = (bearer(world, u) for u in ("alice", "staff1", "pm1"))
    cats = client.get("/api/v1/case-categories", headers=alice).json()
    assert {"light", "noise", "outage"} <= {c["code"] for c in cats}
    bad = client.post(
        "/api/v1/cases",
        json={"category_id": light, "place_id": world.places["c1-b1"], "description": ""},
        headers=alice,
    )
    assert bad.status_code == 422
    r = client.post(
        "/api/v1/cases",
        json={"category_id": light, "place_id": world.places["c1-b1"], "description": "灯坏了"},
        headers=alice,
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["mine"] is True
    assert case["status"] == "submitted"
    assert "reporter" not in r.text
    cid = case["id"]
    # A resident cannot work it (403); staff of another community do not see it (404).
    assert client.post(f"/api/v1/cases/{cid}/triage", json={}, headers=alice).status_code == 403
    staff2 = bearer(world, "staff2")
    assert client.get(f"/api/v1/cases/{cid}", headers=staff2).status_code == 200  # public case
    assert client.post(f"/api/v1/cases/{cid}/triage", json={}, headers=staff2).status_code == 403
    assert client.post(f"/api/v1/cases/{cid}/triage", json={}, headers=staff1).status_code == 200
    r = client.post(
        f"/api/v1/cases/{cid}/assign", json={"account_id": world.accounts["pm1"]}, headers=staff1
    )
    assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/cases/{cid}/start", headers=pm1).status_code == 200
    queue = client.get("/api/v1/cases/queue", headers=pm1).json()
    assert cid in [c["id"] for c in queue["items"]]
    assert client.get("/api/v1/cases/queue", headers=alice).status_code == 403
    r = client.post(f"/api/v1/cases/{cid}/resolve", json={"text": "换了灯泡"}, headers=pm1)
    assert r.status_code == 200
    assert r.json()["status"] == "resolved"
    bob = bearer(world, "bob")
    assert (
        client.post(f"/api/v1/cases/{cid}/rating", json={"rating": 5}, headers=bob).status_code
        == 403
    )
    r = client.post(f"/api/v1/cases/{cid}/rating", json={"rating": 6}, headers=alice)
    assert r.status_code == 422
    r = client.post(f"/api/v1/cases/{cid}/rating", json={"rating": 4}, headers=alice)
    assert r.status_code == 200
    assert r.json()["rating"] == 4
    assert client.put(f"/api/v1/cases/{cid}/follow", headers=bob).status_code == 204
    r = client.post(f"/api/v1/cases/{cid}/comments", json={"text": "谢谢"}, headers=bob)
    assert r.status_code == 201
    detail = client.get(f"/api/v1/cases/{cid}", headers=bob).json()
    assert detail["following"] is True
    assert [e["kind"] for e in detail["timeline"]][-2:] == ["rated", "comment"]
    assert client.delete(f"/api/v1/cases/{cid}/follow", headers=bob).status_code == 204


def test_private_case_refusals_across_tenants(
    client: TestClient, db: Session, world: World
) -> None:
    case = file_case(db, world, code="noise", text="楼上噪声")
    for outsider in ("staff2", "carol", "bob", "pm1"):
        r = client.get(f"/api/v1/cases/{case.id}", headers=bearer(world, outsider))
        assert r.status_code == 404, outsider
        assert "楼上噪声" not in r.text
        r = client.post(
            f"/api/v1/cases/{case.id}/resolve", json={"text": "x"}, headers=bearer(world, outsider)
        )
        assert r.status_code == 404
    mine = client.get("/api/v1/cases?scope=mine", headers=bearer(world, "alice")).json()
    assert case.id in [c["id"] for c in mine["items"]]
    others = client.get("/api/v1/cases", headers=bearer(world, "carol")).json()
    assert case.id not in [c["id"] for c in others["items"]]
    r = client.get("/api/v1/cases/queue", headers=bearer(world, "staff2")).json()
    assert case.id not in [c["id"] for c in r["items"]]


@pytest.mark.usefixtures("alice_consents_to_images")
def test_similar_and_photos_over_the_api(client: TestClient, db: Session, world: World) -> None:
    case = file_case(db, world, text="1号楼楼道灯不亮")
    r = client.post(
        "/api/v1/similar-cases",
        json={
            "category_id": category_id(db, "light"),
            "place_id": world.places["c1-b1u1"],
            "description": "楼道灯不亮",
        },
        headers=bearer(world, "bob"),
    )
    assert r.status_code == 200
    assert r.json()[0]["id"] == case.id
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, format="PNG")
    alice = bearer(world, "alice")
    r = client.post(f"/api/v1/cases/{case.id}/photos", content=out.getvalue(), headers=alice)
    assert r.status_code == 201, r.text
    pid = r.json()
    r = client.get(f"/api/v1/cases/{case.id}/photos/{pid}", headers=bearer(world, "staff1"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    bad = client.post(f"/api/v1/cases/{case.id}/photos", content=b"<html>", headers=alice)
    assert bad.status_code == 422
    assert client.get(f"/api/v1/cases/{case.id}/photos", headers=alice).json() == [pid]
