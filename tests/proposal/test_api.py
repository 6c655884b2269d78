"""The proposal API: who may propose, support, answer and moderate, and what others see."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.proposal.models import Proposal, ProposalSupport
from tests.conftest import World, bearer
from tests.proposal.conftest import make_proposal

BODY = {"title": "楼道加装感应灯", "body": "晚上楼道太黑，老人上下楼容易摔倒，建议加装感应灯。"}


def _count(db: Session, model: type[Proposal] | type[ProposalSupport]) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_anonymous_gets_401_for_every_route(client: TestClient, db: Session, world: World) -> None:
    pid = make_proposal(db, world)
    for method, url in (
        ("GET", "/api/v1/proposals"),
        ("POST", "/api/v1/proposals"),
        ("GET", f"/api/v1/proposals/{pid}"),
        ("POST", f"/api/v1/proposals/{pid}/support"),
        ("DELETE", f"/api/v1/proposals/{pid}/support"),
        ("POST", f"/api/v1/proposals/{pid}/answer"),
        ("POST", f"/api/v1/proposals/{pid}/hide"),
        ("POST", f"/api/v1/proposals/{pid}/restore"),
        ("POST", f"/api/v1/proposals/{pid}/withdraw"),
        ("PUT", "/api/v1/proposal-settings"),
    ):
        r = client.request(method, url, json={"text": "x" * 20, **BODY})
        assert r.status_code == 401, (method, url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert _count(db, ProposalSupport) == 0
    assert db.get(Proposal, pid).status == "open"  # type: ignore[union-attr]


def test_resident_proposes_and_the_author_is_never_shown(
    client: TestClient, db: Session, world: World
) -> None:
    r = client.post(
        "/api/v1/proposals",
        json={"place_id": world.places["c1-b1"], **BODY},
        headers=bearer(world, "alice"),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "open"
    assert body["support_count"] == 0
    assert body["threshold"] == 20
    assert body["mine"] is True
    assert body["author_area"] == "c1社区 c1小区"
    assert [e["kind"] for e in body["history"]] == ["created"]
    for username in ("bob", "staff1", "district"):
        seen = client.get(f"/api/v1/proposals/{body['id']}", headers=bearer(world, username))
        assert seen.status_code == 200
        assert "王" not in seen.text
        assert "author_resident_id" not in seen.text
        assert seen.json()["mine"] is False
    listed = client.get("/api/v1/proposals", headers=bearer(world, "bob")).json()
    assert [p["id"] for p in listed["items"]] == [body["id"]]
    # Another community sees none of it.
    carol = bearer(world, "carol")
    assert client.get("/api/v1/proposals", headers=carol).json()["total"] == 0
    assert client.get(f"/api/v1/proposals/{body['id']}", headers=carol).status_code == 404


def test_bad_proposals_are_refused_and_nothing_is_stored(
    client: TestClient, db: Session, world: World
) -> None:
    alice = bearer(world, "alice")
    for payload, status in (
        ({"place_id": world.places["c1"], "title": "x", "body": BODY["body"]}, 422),
        ({"place_id": world.places["c1"], "title": BODY["title"], "body": "short"}, 422),
        ({"place_id": world.places["c1"], "title": "a\x00bcd", "body": BODY["body"]}, 422),
        ({"place_id": world.places["c1-b1u1"], **BODY}, 422),  # units are not offered
        ({"place_id": world.places["c2"], **BODY}, 403),  # not where she lives
        ({"place_id": 2**31 - 1, **BODY}, 422),
    ):
        r = client.post("/api/v1/proposals", json=payload, headers=alice)
        assert r.status_code == status, (payload, r.text)
    r = client.post(
        "/api/v1/proposals",
        json={"place_id": world.places["c1"], **BODY},
        headers=bearer(world, "staff1"),
    )
    assert r.status_code == 403  # staff are not residents
    assert _count(db, Proposal) == 0


def test_support_once_withdraw_and_other_communities(
    client: TestClient, db: Session, world: World
) -> None:
    pid = make_proposal(db, world)
    url = f"/api/v1/proposals/{pid}/support"
    r = client.post(url, headers=bearer(world, "bob"))
    assert r.status_code == 200, r.text
    assert r.json()["support_count"] == 1
    assert r.json()["supported"] is True
    again = client.post(url, headers=bearer(world, "bob"))
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert client.post(url, headers=bearer(world, "alice")).status_code == 409  # her own
    assert client.post(url, headers=bearer(world, "carol")).status_code == 404
    assert client.post(url, headers=bearer(world, "staff2")).status_code in (403, 404)
    assert _count(db, ProposalSupport) == 1
    r = client.delete(url, headers=bearer(world, "bob"))
    assert r.status_code == 200
    assert r.json()["support_count"] == 0
    assert client.delete(url, headers=bearer(world, "bob")).status_code == 409
    assert client.post(url, headers=bearer(world, "bob")).json()["support_count"] == 1


def test_answer_only_by_staff_of_the_place(client: TestClient, db: Session, world: World) -> None:
    pid = make_proposal(db, world)
    url = f"/api/v1/proposals/{pid}/answer"
    answer = {"text": "社区已联系物业，下周安装。"}
    assert client.post(url, json=answer, headers=bearer(world, "staff2")).status_code == 404
    for username in ("bob", "pm1", "grid1", "auditor1"):
        assert client.post(url, json=answer, headers=bearer(world, username)).status_code == 403
    assert client.post(url, json={"text": "ok"}, headers=bearer(world, "staff1")).status_code == 422
    r = client.post(url, json=answer, headers=bearer(world, "staff1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "answered"
    assert body["answer"] == answer["text"]
    assert body["answered_at"]
    assert client.post(url, json=answer, headers=bearer(world, "admin1")).status_code == 409
    # Answered: no more support, no withdrawal by the author.
    assert (
        client.post(f"/api/v1/proposals/{pid}/support", headers=bearer(world, "bob")).status_code
        == 409
    )
    assert (
        client.post(f"/api/v1/proposals/{pid}/withdraw", headers=bearer(world, "alice")).status_code
        == 409
    )


def test_hide_with_a_public_reason_and_restore(
    client: TestClient, db: Session, world: World
) -> None:
    pid = make_proposal(db, world, title="骂人的内容不该出现")
    staff = bearer(world, "staff1")
    hide = f"/api/v1/proposals/{pid}/hide"
    assert (
        client.post(hide, json={"reason": "含有辱骂"}, headers=bearer(world, "staff2")).status_code
        == 404
    )
    assert (
        client.post(hide, json={"reason": "含有辱骂"}, headers=bearer(world, "bob")).status_code
        == 403
    )
    assert client.post(hide, json={"reason": ""}, headers=staff).status_code == 422
    r = client.post(hide, json={"reason": "含有辱骂他人的内容"}, headers=staff)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "hidden"
    assert body["hidden"] is True
    assert body["title"] == ""
    assert body["body"] == ""
    assert body["moderation_reason"] == "含有辱骂他人的内容"
    seen = client.get(f"/api/v1/proposals/{pid}", headers=bearer(world, "bob"))
    assert "骂人的内容" not in seen.text
    assert (
        client.post(f"/api/v1/proposals/{pid}/support", headers=bearer(world, "bob")).status_code
        == 409
    )
    assert client.post(hide, json={"reason": "再次隐藏"}, headers=staff).status_code == 409
    r = client.post(f"/api/v1/proposals/{pid}/restore", headers=staff)
    assert r.status_code == 200
    assert r.json()["status"] == "open"
    assert r.json()["title"] == "骂人的内容不该出现"
    kinds = [e["kind"] for e in r.json()["history"]]
    assert kinds == ["created", "hidden", "restored"]
    assert client.post(f"/api/v1/proposals/{pid}/restore", headers=staff).status_code == 409


def test_author_withdraws(client: TestClient, db: Session, world: World) -> None:
    pid = make_proposal(db, world)
    url = f"/api/v1/proposals/{pid}/withdraw"
    assert client.post(url, headers=bearer(world, "bob")).status_code == 403
    r = client.post(url, headers=bearer(world, "alice"))
    assert r.status_code == 200
    assert r.json()["status"] == "withdrawn"


def test_threshold_settings_by_administrators(
    client: TestClient, db: Session, world: World
) -> None:
    payload = {"place_id": world.places["c1"], "threshold": 2, "answer_days": 5}
    url = "/api/v1/proposal-settings"
    assert client.put(url, json=payload, headers=bearer(world, "staff1")).status_code == 403
    assert client.put(url, json=payload, headers=bearer(world, "carol")).status_code == 403
    assert (
        client.put(
            url, json={**payload, "threshold": 0}, headers=bearer(world, "admin1")
        ).status_code
        == 422
    )
    r = client.put(url, json=payload, headers=bearer(world, "admin1"))
    assert r.status_code == 200, r.text
    assert client.get(url, headers=bearer(world, "bob")).json() == [
        {"place_id": world.places["c1"], "threshold": 2, "answer_days": 5}
    ]
    assert client.get(url, headers=bearer(world, "carol")).json() == []
    pid = make_proposal(db, world, place="c1-b1")
    body = client.post(f"/api/v1/proposals/{pid}/support", headers=bearer(world, "bob")).json()
    assert body["threshold"] == 2
    assert body["status"] == "open"
    awaiting = client.get("/api/v1/proposals?status=awaiting", headers=bearer(world, "staff1"))
    assert [p["id"] for p in awaiting.json()["items"]] == [pid]
