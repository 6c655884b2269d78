"""The poll API: setting up, voting, paper ballots, results after close, receipts, and who may."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from linli.poll.models import Ballot, Poll, PollVoter
from tests.conftest import World, bearer
from tests.poll.helpers import set_area


def _create(client: TestClient, world: World, who: str = "staff1", **body: Any) -> dict[str, Any]:
    payload = {
        "place_id": world.places["c1"],
        "title": "Install a charging shed?",
        "options": ["Yes", "No"],
        **body,
    }
    r = client.post("/api/v1/polls", json=payload, headers=bearer(world, who))
    assert r.status_code == 201, r.text
    reply: dict[str, Any] = r.json()
    return reply


def _open(client: TestClient, world: World, **body: Any) -> dict[str, Any]:
    poll = _create(client, world, **body)
    r = client.post(f"/api/v1/polls/{poll['id']}/open", headers=bearer(world, "staff1"))
    assert r.status_code == 200, r.text
    reply: dict[str, Any] = r.json()
    return reply


def _count(db: Session, model: Any) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_staff_set_up_open_and_residents_vote_then_results_after_close(
    client: TestClient, world: World, db: Session
) -> None:
    poll = _open(client, world)
    assert poll["status"] == "open"
    assert poll["electorate_size"] == 3  # alice, alan, bob
    yes, no = (o["id"] for o in poll["options"])
    pid = poll["id"]
    alice = bearer(world, "alice")
    listed = client.get("/api/v1/polls", headers=alice).json()
    assert [p["id"] for p in listed["items"]] == [pid]
    assert client.get(f"/api/v1/polls/{pid}/my-vote", headers=alice).json()["voted"] is False
    r = client.post(f"/api/v1/polls/{pid}/vote", json={"option_id": yes}, headers=alice)
    assert r.status_code == 201, r.text
    receipt = r.json()["receipt"]
    mine = client.get(f"/api/v1/polls/{pid}/my-vote", headers=alice).json()
    assert mine["voted"] is True
    assert mine["via"] == "online"
    assert "option" not in str(mine)
    # Voting twice: 409, nothing more stored.
    again = client.post(f"/api/v1/polls/{pid}/vote", json={"option_id": no}, headers=alice)
    assert again.status_code == 409
    assert _count(db, Ballot) == 1
    # Results before close: refused.
    assert client.get(f"/api/v1/polls/{pid}/results", headers=alice).status_code == 409
    r = client.post(
        f"/api/v1/polls/{pid}/paper-ballots",
        json={"resident_id": world.residents["bob"], "option_id": no, "via": "paper"},
        headers=bearer(world, "staff1"),
    )
    assert r.status_code == 201, r.text
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "poll.ballot_recorded")).one()
    assert event.subject_resident_id == world.residents["bob"]
    assert str(no) not in event.detail
    assert client.post(f"/api/v1/polls/{pid}/close", headers=bearer(world, "staff1")).is_success
    # Voting after close.
    late = client.post(
        f"/api/v1/polls/{pid}/vote", json={"option_id": yes}, headers=bearer(world, "bob")
    )
    assert late.status_code == 409
    results = client.get(f"/api/v1/polls/{pid}/results", headers=alice).json()
    assert [(o["label"], o["votes"]) for o in results["options"]] == [("Yes", 1), ("No", 1)]
    assert results["turnout_pct"] == 66.7
    assert results["quorum_met"] is None
    assert len(results["receipt_hashes"]) == 2
    check = client.get(f"/api/v1/polls/{pid}/receipts/{receipt}", headers=alice)
    assert check.json() == {"poll_id": pid, "counted": True}
    forged = client.get(f"/api/v1/polls/{pid}/receipts/not-a-receipt", headers=alice)
    assert forged.json()["counted"] is False


def test_owners_by_area_results_show_both_quorums(
    client: TestClient, world: World, db: Session
) -> None:
    set_area(db, world.households["h1"], "100")
    set_area(db, world.households["h2"], "50")
    db.commit()
    poll = _open(client, world, electorate="owners_by_area", matter="major")
    assert poll["electorate_size"] == 2
    yes, _no = (o["id"] for o in poll["options"])
    pid = poll["id"]
    r = client.post(
        f"/api/v1/polls/{pid}/vote", json={"option_id": yes}, headers=bearer(world, "alice")
    )
    assert r.status_code == 201
    client.post(f"/api/v1/polls/{pid}/close", headers=bearer(world, "staff1"))
    results = client.get(f"/api/v1/polls/{pid}/results", headers=bearer(world, "staff1")).json()
    # 1 of 2 owners (< 2/3) with 100 of 150 m² (= 2/3): area quorum met, headcount not.
    assert results["quorum_area_met"] is True
    assert results["quorum_heads_met"] is False
    assert results["quorum_met"] is False
    assert results["winner_option_id"] is None
    assert results["options"][0]["weight"] == "100.00"
    assert results["turnout_area_pct"] == 66.7


def test_negative_cases_change_nothing(client: TestClient, world: World, db: Session) -> None:
    poll = _open(client, world)
    pid = poll["id"]
    yes = poll["options"][0]["id"]
    before = (_count(db, Poll), _count(db, PollVoter), _count(db, Ballot))
    body = {"place_id": world.places["c1"], "title": "x", "options": ["a", "b"]}
    # Anonymous.
    assert client.post("/api/v1/polls", json=body).status_code == 401
    assert client.post(f"/api/v1/polls/{pid}/vote", json={"option_id": yes}).status_code == 401
    # Wrong role: residents and the property manager cannot set polls up or record ballots.
    for who in ("alice", "pm1", "grid1"):
        assert (
            client.post("/api/v1/polls", json=body, headers=bearer(world, who)).status_code == 403
        )
    paper = {"resident_id": world.residents["bob"], "option_id": yes}
    r = client.post(
        f"/api/v1/polls/{pid}/paper-ballots", json=paper, headers=bearer(world, "grid1")
    )
    assert r.status_code == 403
    # Another community: c2 staff and residents do not see the poll at all.
    for who in ("staff2", "carol"):
        h = bearer(world, who)
        assert client.get(f"/api/v1/polls/{pid}", headers=h).status_code == 404
        assert client.post(f"/api/v1/polls/{pid}/close", headers=h).status_code == 404
        r = client.post(f"/api/v1/polls/{pid}/vote", json={"option_id": yes}, headers=h)
        assert r.status_code == 404
        assert client.get("/api/v1/polls", headers=h).json()["total"] == 0
    body_c1 = {**body, "place_id": world.places["c1"]}
    assert (
        client.post("/api/v1/polls", json=body_c1, headers=bearer(world, "staff2")).status_code
        == 403
    )
    # Staff are not voters; a bad option is a clear 422.
    r = client.post(
        f"/api/v1/polls/{pid}/vote", json={"option_id": yes}, headers=bearer(world, "staff1")
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/polls/{pid}/vote", json={"option_id": 999999}, headers=bearer(world, "alice")
    )
    assert r.status_code == 422
    # Invalid set-up.
    for bad in (
        {**body, "options": ["only one"]},
        {**body, "options": ["same", "same"]},
        {**body, "electorate": "everyone"},
        {**body, "title": ""},
    ):
        r = client.post("/api/v1/polls", json=bad, headers=bearer(world, "staff1"))
        assert r.status_code == 422, bad
    assert (_count(db, Poll), _count(db, PollVoter), _count(db, Ballot)) == before


def test_not_eligible_child_is_refused(client: TestClient, world: World, db: Session) -> None:
    # A resident of c1 without any owned area cannot vote by owners_by_area.
    set_area(db, world.households["h1"], "80")
    db.commit()
    poll = _open(client, world, electorate="owners_by_area")
    yes = poll["options"][0]["id"]
    r = client.post(
        f"/api/v1/polls/{poll['id']}/vote", json={"option_id": yes}, headers=bearer(world, "bob")
    )
    assert r.status_code == 403
    assert _count(db, Ballot) == 0
    mine = client.get(f"/api/v1/polls/{poll['id']}/my-vote", headers=bearer(world, "bob")).json()
    assert mine["eligible"] is False


def test_drafts_are_hidden_from_residents(client: TestClient, world: World) -> None:
    poll = _create(client, world)
    assert (
        client.get(f"/api/v1/polls/{poll['id']}", headers=bearer(world, "alice")).status_code == 404
    )
    assert (
        client.get(f"/api/v1/polls/{poll['id']}", headers=bearer(world, "staff1")).status_code
        == 200
    )
