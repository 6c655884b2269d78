"""The waste API: idempotent ingestion and grading with points, anti-fraud, status alarms,
plans, and who may do what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import World, bearer
from tests.waste.helpers import CARDS, NOW, balances, count, event, make_site

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
LEDGER = ("points_transactions", "points_entries", "waste_disposals", "waste_grades")


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    """A fixed day: the events' times, the 7-day and future limits and the 24-hour list."""
    with time_machine.travel(NOW, tick=True):
        yield


def _device(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_replaying_the_same_disposal_events_twice_leaves_every_balance_unchanged(
    client: TestClient, world: World, db: Session
) -> None:
    site = make_site(db, world)
    near = site.bins["near"]
    from_bin = {
        "items": [
            event("e1", "h1", 0, grade="correct"),
            event("e2", "h2", 5, grade="incorrect"),
            event("e3", "h1", 30),
        ]
    }
    from_staff = {"items": [event("s1", "h2", 40, bin_id=near), event("s2", "h1", 60, bin_id=near)]}
    grades = {
        "items": [
            {"bin_id": site.bins["smart"], "event_id": "e3", "result": "correct"},
            {"bin_id": near, "event_id": "s1", "result": "correct"},
            {"bin_id": near, "event_id": "s2", "result": "incorrect", "reason": "plastic bag"},
        ]
    }
    staff = bearer(world, "staff1")

    def send() -> list[dict[str, object]]:
        replies = [
            client.post("/api/v1/waste/disposals", json=from_bin, headers=_device(site.token)),
            client.post("/api/v1/waste/disposals", json=from_staff, headers=staff),
            client.post("/api/v1/waste/grades", json=grades, headers=staff),
        ]
        for r in replies:
            assert r.status_code == 200, r.text
        return [r.json() for r in replies]

    first = send()
    assert [first[0]["accepted"], first[1]["accepted"], first[2]["accepted"]] == [3, 2, 3]
    assert first[0]["items"][0]["points"] == 2  # the community's sorting_correct rule
    after_first = balances(db, world)
    assert after_first["h1"] == 4
    assert after_first["h2"] == 2
    assert after_first["h3"] == 0
    rows = {t: count(db, t) for t in LEDGER}
    assert rows["waste_disposals"] == 5
    assert rows["waste_grades"] == 5

    second = send()
    assert [s["accepted"] for s in second] == [0, 0, 0]
    assert [s["duplicate"] for s in second] == [3, 2, 3]
    assert all(i["points"] == 0 for s in second for i in s["items"])
    assert balances(db, world) == after_first
    assert {t: count(db, t) for t in LEDGER} == rows


@SQLITE_ONLY
def test_bad_senders_and_bodies_are_refused_and_nothing_is_stored(
    client: TestClient, world: World, db: Session
) -> None:
    site = make_site(db, world)
    body = {"items": [event("x1", "h1", 0, bin_id=site.bins["near"])]}
    refusals = [
        (None, 401),
        ({"Authorization": "Bearer dt_not-a-real-token"}, 401),
        ({"Authorization": "Bearer not-a-key"}, 401),
        (bearer(world, "alice"), 403),  # a resident cannot report disposals
    ]
    for headers, status in refusals:
        r = client.post("/api/v1/waste/disposals", json=body, headers=headers or {})
        assert r.status_code == status, (headers, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    # Another community's staff: the bin is unknown to them, item by item.
    r = client.post("/api/v1/waste/disposals", json=body, headers=bearer(world, "staff2"))
    assert r.status_code == 200
    assert r.json()["items"][0] == {
        "index": 0,
        "event_id": "x1",
        "status": "rejected",
        "reason": "unknown_bin",
        "flags": [],
        "points": 0,
    }
    staff = bearer(world, "staff1")
    bad_bodies = [
        {},
        {"items": []},
        {"items": [{**event("x2", "h1", 0), "weight_kg": "heavy"}]},
        {"items": [{**event("x3", "h1", 0), "occurred_at": "2026-11-30T09:00:00"}]},  # no zone
        {"items": [{**event("x4", "h1", 0), "event_id": "has space"}]},
        {"items": [event(f"n{i}", "h1", 0) for i in range(1001)]},
    ]
    for bad in bad_bodies:
        r = client.post("/api/v1/waste/disposals", json=bad, headers=staff)
        assert r.status_code == 422, r.text
    r = client.post("/api/v1/waste/disposals", content=b"{not json", headers=staff)
    assert r.status_code == 422
    # Items that parse but cannot be stored: each says why.
    mixed = {
        "items": [
            event("y1", "h1", 0),  # a staff key must say which bin
            event("y2", "h3", 0, bin_id=site.bins["near"]),  # a card of another community
            {**event("y3", "h1", 0, bin_id=site.bins["near"]), "category": "glitter"},
            {
                **event("y4", "h1", 0, bin_id=site.bins["near"]),
                "occurred_at": "2099-01-01T00:00:00Z",
            },
            {**event("y5", "h1", 0, bin_id=site.bins["near"]), "card": "CARD-UNKNOWN"},
            {
                **event("y6", "h1", 0, bin_id=site.bins["near"]),
                "occurred_at": "2026-01-01T00:00:00Z",
            },
        ]
    }
    r = client.post("/api/v1/waste/disposals", json=mixed, headers=staff)
    assert [i["reason"] for i in r.json()["items"]] == [
        "bin_id_required",
        "unknown_card",
        "unknown_category",
        "time_in_future",
        "unknown_card",
        "too_old",
    ]
    # A device may only speak for its own bin.
    r = client.post(
        "/api/v1/waste/disposals",
        json={"items": [event("z1", "h1", 0, bin_id=site.bins["near"])]},
        headers=_device(site.token),
    )
    assert r.json()["items"][0]["reason"] == "bin_mismatch"
    assert count(db, "waste_disposals") == 0
    assert count(db, "points_entries") == 0


@SQLITE_ONLY
def test_flagged_disposals_earn_no_points_and_are_listed_for_their_community_only(
    client: TestClient, world: World, db: Session
) -> None:
    site = make_site(db, world)
    smart, far = site.bins["smart"], site.bins["far"]
    items = [
        event("w1", "h1", 0, weight=35, bin_id=smart, grade="correct"),  # over the 20 kg max
        event("w2", "h2", 0, weight=0, bin_id=smart, grade="correct"),
        event("t1", "h2", 100, bin_id=smart, grade="correct"),
        event("t2", "h2", 102, bin_id=far, grade="correct"),  # 1.1 km in 2 minutes
        *[event(f"b{n}", "h1", 200 + n, bin_id=smart, grade="correct") for n in range(6)],
    ]
    r = client.post(
        "/api/v1/waste/disposals", json={"items": items}, headers=bearer(world, "staff1")
    )
    got = {i["event_id"]: (i["flags"], i["points"]) for i in r.json()["items"]}
    assert got["w1"] == (["weight_over_max"], 0)
    assert got["w2"] == (["weight_not_positive"], 0)
    assert got["t1"] == (["impossible_travel"], 0)
    assert got["t2"] == (["impossible_travel"], 0)
    assert [got[f"b{n}"][0] for n in range(6)] == [[]] * 5 + [["too_frequent"]]
    assert got["b5"][1] == 0
    assert sum(points for _flags, points in got.values()) == 10  # b0..b4, 2 each (cap 10)
    listed = client.get("/api/v1/waste/flagged", headers=bearer(world, "staff1")).json()
    assert sorted(d["event_id"] for d in listed) == ["b5", "t1", "t2", "w1", "w2"]
    other = client.get(
        f"/api/v1/waste/flagged?community_id={world.places['c1']}", headers=bearer(world, "staff2")
    )
    assert other.status_code == 404
    assert client.get("/api/v1/waste/flagged", headers=bearer(world, "bob")).status_code == 403


@SQLITE_ONLY
def test_burning_raises_a_critical_alarm_at_once_and_ok_clears_it(
    client: TestClient, world: World, db: Session
) -> None:
    site = make_site(db, world)
    headers = _device(site.token)

    def alarms() -> list[dict[str, object]]:
        r = client.get("/api/v1/alarms", headers=bearer(world, "staff1"))
        assert r.status_code == 200, r.text
        items: list[dict[str, object]] = r.json()["items"]
        return items

    r = client.post("/api/v1/waste/status", json={"status": "burning"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "burning"
    burning = [a for a in alarms() if a["severity"] == "critical"]
    assert len(burning) == 1
    assert burning[0]["active"] is True
    client.post("/api/v1/waste/status", json={"status": "ok"}, headers=headers)
    assert [a["active"] for a in alarms() if a["severity"] == "critical"] == [False]
    # Fill level above the bin's threshold (80 %) → an alarm; emptied → cleared.
    client.post("/api/v1/waste/status", json={"fill_level": 91}, headers=headers)
    full = [a for a in alarms() if a["severity"] == "minor"]
    assert len(full) == 1
    assert full[0]["active"] is True
    r = client.post("/api/v1/waste/status", json={"fill_level": 5}, headers=headers)
    assert r.json()["last_emptied_at"] is not None
    assert [a["active"] for a in alarms() if a["severity"] == "minor"] == [False]
    # Staff of another community cannot touch the bin; a resident cannot either.
    for who in ("staff2", "alice"):
        r = client.post(
            "/api/v1/waste/status",
            json={"bin_id": site.bins["smart"], "status": "burning"},
            headers=bearer(world, who),
        )
        assert r.status_code in (403, 404), r.text
    assert client.post("/api/v1/waste/status", json={}, headers=headers).status_code == 422


@SQLITE_ONLY
def test_fill_level_from_telemetry_puts_the_bin_on_the_route(
    client: TestClient, world: World, db: Session
) -> None:
    site = make_site(db, world)
    r = client.post("/api/v1/telemetry", json={"fill_level": 96}, headers=_device(site.token))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    client.post(
        "/api/v1/waste/status",
        json={"bin_id": site.bins["far"], "fill_level": 85},
        headers=bearer(world, "pm1"),
    )
    r = client.post(
        "/api/v1/waste/plans",
        json={"community_id": world.places["c1"]},
        headers=bearer(world, "pm1"),
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    visited = [s["bin_id"] for route in plan["routes"] for s in route["stops"]]
    assert sorted(visited) == sorted([site.bins["smart"], site.bins["far"]])
    assert plan["unserved"] == []
    latest = client.get("/api/v1/waste/plans/latest", headers=bearer(world, "staff1")).json()
    assert latest["id"] == plan["id"]
    # Other people: planning elsewhere or as a resident is refused.
    for who in ("staff2", "alice"):
        r = client.post(
            "/api/v1/waste/plans",
            json={"community_id": world.places["c1"]},
            headers=bearer(world, who),
        )
        assert r.status_code in (403, 404)


@SQLITE_ONLY
def test_cards_are_stored_as_digests_and_residents_see_only_their_household(
    client: TestClient, world: World, db: Session
) -> None:
    site = make_site(db, world)
    raw = db.execute(text("SELECT card_digest, hint FROM waste_cards")).all()
    assert all(CARDS["h1"] not in digest for digest, _hint in raw)
    assert "0001" in {hint for _d, hint in raw}
    r = client.post(
        "/api/v1/waste/cards",
        json={"household_id": world.households["h1"], "card": CARDS["h1"]},
        headers=bearer(world, "staff1"),
    )
    assert r.status_code == 409
    r = client.post(
        "/api/v1/waste/cards",
        json={"household_id": world.households["h1"], "card": "NEW-CARD-9"},
        headers=bearer(world, "staff2"),
    )
    assert r.status_code == 404
    client.post(
        "/api/v1/waste/disposals",
        json={"items": [event("m1", "h1", 0, grade="correct"), event("m2", "h2", 1)]},
        headers=_device(site.token),
    )
    mine = client.get("/api/v1/me/waste/disposals", headers=bearer(world, "alice")).json()
    assert [(d["event_id"], d["grade"], d["points"]) for d in mine] == [("m1", "correct", 2)]
    theirs = client.get("/api/v1/me/waste/disposals", headers=bearer(world, "bob")).json()
    assert [d["event_id"] for d in theirs] == ["m2"]
    assert client.get("/api/v1/me/waste/disposals").status_code == 401
    rates = client.get(
        "/api/v1/waste/rates?start=2026-11-30&end=2026-11-30", headers=bearer(world, "staff1")
    ).json()
    assert rates["total"]["households"] == 2
    assert rates["total"]["participating"] == 2
    assert rates["total"]["correctness"] == 1.0
    assert rates["trend"][0]["day"] == str(dt.date(2026, 11, 30))


@SQLITE_ONLY
def test_the_refresh_task_takes_new_fill_levels_from_telemetry(
    app: object, client: TestClient, world: World, db: Session
) -> None:
    from linli.waste import tasks

    site = make_site(db, world)
    maker = app.state.sessionmaker  # type: ignore[attr-defined]  # the FastAPI app's state
    assert tasks.refresh(maker) == 0
    r = client.post("/api/v1/telemetry", json={"fill_level": 88}, headers=_device(site.token))
    assert r.json()["accepted"] == 1
    assert tasks.refresh(maker) == 1
    assert tasks.refresh(maker) == 0  # nothing newer
    bins = client.get("/api/v1/waste/bins", headers=bearer(world, "pm1")).json()
    assert {b["code"]: b["fill_level"] for b in bins}["SMART"] == 88
