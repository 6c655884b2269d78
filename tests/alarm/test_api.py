"""The alarm API: who sees and handles which alarms, filters, details, acknowledging, comments."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.alarm.models import Alarm, AlarmEvent
from linli.audit.models import AuditEvent
from tests.alarm.conftest import Setup, raise_alarm
from tests.conftest import World, bearer, csrf_of


def _ids(body: dict[str, object]) -> list[int]:
    items = body["items"]
    assert isinstance(items, list)
    return [int(item["id"]) for item in items]


def test_anonymous_gets_401_everywhere(client: TestClient, db: Session, setup: Setup) -> None:
    aid = raise_alarm(db, setup, "c1-b1")
    for method, url in (
        ("GET", "/api/v1/alarms"),
        ("GET", "/api/v1/alarms/counts"),
        ("GET", "/api/v1/alarms/stream"),
        ("GET", f"/api/v1/alarms/{aid}"),
        ("POST", f"/api/v1/alarms/{aid}/acknowledge"),
        ("POST", f"/api/v1/alarms/{aid}/comments"),
    ):
        r = client.request(method, url, json={"text": "x"} if method == "POST" else None)
        assert r.status_code == 401, (method, url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    db.expire_all()
    alarm = db.get(Alarm, aid)
    assert alarm is not None
    assert alarm.acknowledged_at is None


def test_staff_list_only_their_community_newest_first(
    client: TestClient, db: Session, world: World, setup: Setup
) -> None:
    first = raise_alarm(db, setup, "c1-b1", device="SMK-1", ts_ms=1_760_000_000_000)
    second = raise_alarm(db, setup, "c1-b1u1", severity="minor", ts_ms=1_760_000_060_000)
    other = raise_alarm(db, setup, "c2", device="NZ-2")
    r = client.get("/api/v1/alarms", headers=bearer(world, "staff1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert _ids(body) == [second, first]
    assert body["total"] == 2
    assert body["page"] == 1
    item = body["items"][1]
    assert item["severity"] == "critical"
    assert item["title"] == "噪声过高"
    assert item["device_id"] == setup.devices["SMK-1"]
    assert item["place_id"] == world.places["c1-b1"]
    assert item["value"] == 81.5
    assert item["active"] is True
    assert item["acknowledged"] is False
    assert _ids(client.get("/api/v1/alarms", headers=bearer(world, "staff2")).json()) == [other]
    everything = client.get("/api/v1/alarms", headers=bearer(world, "district")).json()
    assert set(_ids(everything)) == {first, second, other}
    paged = client.get("/api/v1/alarms?size=1&page=2", headers=bearer(world, "staff1")).json()
    assert _ids(paged) == [first]
    assert paged["total"] == 2


def test_filters_by_status_severity_and_place(
    client: TestClient, db: Session, world: World, setup: Setup
) -> None:
    headers = bearer(world, "staff1")
    crit = raise_alarm(db, setup, "c1-b1", source="ds:crit")
    minor = raise_alarm(db, setup, "c1-b1u1", severity="minor", source="ds:minor")
    gone = raise_alarm(db, setup, "c1-compound", severity="major", source="ds:gone")
    # The major alarm clears and is acknowledged: no longer open. The minor one is taken.
    raise_alarm(db, setup, "c1-compound", kind="clear", source="ds:gone", severity="major")
    for aid in (gone, minor):
        assert client.post(f"/api/v1/alarms/{aid}/acknowledge", headers=headers).status_code == 200

    def ids(query: str) -> set[int]:
        r = client.get(f"/api/v1/alarms?{query}", headers=headers)
        assert r.status_code == 200, (query, r.text)
        return set(_ids(r.json()))

    assert ids("") == {crit, minor}
    assert ids("status=open") == {crit, minor}
    assert ids("status=active") == {crit, minor}
    assert ids("status=unacknowledged") == {crit}
    assert ids("status=cleared") == {gone}
    assert ids("status=all") == {crit, minor, gone}
    assert ids("severity=minor") == {minor}
    assert ids("status=all&severity=major") == {gone}
    assert ids(f"place_id={world.places['c1-b1']}") == {crit, minor}
    assert ids(f"place_id={world.places['c1-b1u1']}") == {minor}
    assert ids(f"place_id={world.places['c2']}") == set()
    for bad in (
        "status=closed",
        "severity=huge",
        "place_id=0",
        "place_id=99999999999999",
        "size=0",
    ):
        assert client.get(f"/api/v1/alarms?{bad}", headers=headers).status_code == 422, bad


def test_detail_with_timeline_acknowledge_and_comment(
    client: TestClient, db: Session, world: World, setup: Setup
) -> None:
    aid = raise_alarm(db, setup, "c1-b1", device="SMK-1")
    headers = bearer(world, "grid1")
    r = client.get(f"/api/v1/alarms/{aid}", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == aid
    assert [e["kind"] for e in body["timeline"]] == ["raised"]
    assert body["timeline"][0]["value"] == 81.5

    r = client.post(
        f"/api/v1/alarms/{aid}/comments", json={"text": "  已派人查看  "}, headers=headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "comment"
    assert r.json()["text"] == "已派人查看"
    assert r.json()["by_person"] is True
    assert r.json()["account_id"] == world.accounts["grid1"]
    for bad in ({"text": ""}, {"text": "   "}, {"text": "x" * 2001}, {}):
        r = client.post(f"/api/v1/alarms/{aid}/comments", json=bad, headers=headers)
        assert r.status_code == 422, bad

    r = client.post(f"/api/v1/alarms/{aid}/acknowledge", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged"] is True
    assert r.json()["acknowledged_by_account_id"] == world.accounts["grid1"]
    again = client.post(f"/api/v1/alarms/{aid}/acknowledge", headers=bearer(world, "staff1"))
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["type"].endswith("/conflict")

    timeline = client.get(f"/api/v1/alarms/{aid}", headers=headers).json()["timeline"]
    assert [e["kind"] for e in timeline] == ["raised", "comment", "acknowledged"]
    db.expire_all()
    alarm = db.get(Alarm, aid)
    assert alarm is not None
    assert alarm.acknowledged_by_account_id == world.accounts["grid1"]
    kinds = db.scalars(
        select(AlarmEvent.kind).where(AlarmEvent.alarm_id == aid).order_by(AlarmEvent.id)
    ).all()
    assert list(kinds) == ["raised", "comment", "acknowledged"]
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "alarm.acknowledge")).all()
    assert len(audit) == 1
    assert audit[0].subject_id == str(aid)


def test_resident_is_refused(client: TestClient, db: Session, world: World, setup: Setup) -> None:
    aid = raise_alarm(db, setup, "c1-b1u1")
    headers = bearer(world, "alice")
    for url in ("/api/v1/alarms", "/api/v1/alarms/counts", "/api/v1/alarms/stream"):
        r = client.get(url, headers=headers)
        assert r.status_code == 403, (url, r.text)
    assert client.get(f"/api/v1/alarms/{aid}", headers=headers).status_code in (403, 404)
    r = client.post(f"/api/v1/alarms/{aid}/acknowledge", headers=headers)
    assert r.status_code in (403, 404)


def test_other_community_sees_nothing_of_c1(
    client: TestClient, db: Session, world: World, setup: Setup
) -> None:
    aid = raise_alarm(db, setup, "c1-b1", title="c1 的报警")
    headers = bearer(world, "staff2")
    r = client.get(f"/api/v1/alarms/{aid}", headers=headers)
    assert r.status_code == 404
    assert "c1 的报警" not in r.text
    assert client.post(f"/api/v1/alarms/{aid}/acknowledge", headers=headers).status_code == 404
    r = client.post(f"/api/v1/alarms/{aid}/comments", json={"text": "hi"}, headers=headers)
    assert r.status_code == 404
    for query in ("", "?status=all", f"?place_id={world.places['c1-b1']}"):
        body = client.get(f"/api/v1/alarms{query}", headers=headers).json()
        assert body["items"] == [], query
        assert body["total"] == 0
    counts = client.get("/api/v1/alarms/counts", headers=headers).json()
    assert counts == []
    db.expire_all()
    alarm = db.get(Alarm, aid)
    assert alarm is not None
    assert alarm.acknowledged_at is None
    assert db.scalars(select(AlarmEvent.kind).where(AlarmEvent.alarm_id == aid)).all() == ["raised"]


def test_auditor_may_view_but_not_handle(
    client: TestClient, db: Session, world: World, setup: Setup
) -> None:
    aid = raise_alarm(db, setup, "c1-b1")
    headers = bearer(world, "auditor1")
    assert _ids(client.get("/api/v1/alarms", headers=headers).json()) == [aid]
    assert client.get(f"/api/v1/alarms/{aid}", headers=headers).status_code == 200
    assert client.get("/api/v1/alarms/counts", headers=headers).status_code == 200
    r = client.post(f"/api/v1/alarms/{aid}/acknowledge", headers=headers)
    assert r.status_code == 403
    r = client.post(f"/api/v1/alarms/{aid}/comments", json={"text": "看一下"}, headers=headers)
    assert r.status_code == 403
    db.expire_all()
    alarm = db.get(Alarm, aid)
    assert alarm is not None
    assert alarm.acknowledged_at is None


def test_cookie_session_needs_the_csrf_token(
    make_client: Callable[..., TestClient], db: Session, setup: Setup
) -> None:
    aid = raise_alarm(db, setup, "c1-b1")
    staff = make_client("staff1")
    r = staff.post(f"/api/v1/alarms/{aid}/acknowledge")
    assert r.status_code == 403
    assert r.json()["type"].endswith("/csrf_failed")
    token = csrf_of(staff.get("/console/alarms").text)
    r = staff.post(f"/api/v1/alarms/{aid}/acknowledge", headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged"] is True


def test_counts_propagate_up_to_the_places_the_caller_sees(
    client: TestClient, db: Session, world: World, setup: Setup
) -> None:
    raise_alarm(db, setup, "c1-b1u1", severity="critical")
    raise_alarm(db, setup, "c1-b1", severity="major")
    raise_alarm(db, setup, "c1-compound", severity="minor")
    raise_alarm(db, setup, "c2", severity="warning")
    p = world.places

    def by_place(username: str) -> dict[int, dict[str, int]]:
        r = client.get("/api/v1/alarms/counts", headers=bearer(world, username))
        assert r.status_code == 200, r.text
        return {row["place_id"]: row for row in r.json()}

    staff = by_place("staff1")
    assert set(staff) == {p["c1"], p["c1-compound"], p["c1-b1"], p["c1-b1u1"]}
    assert staff[p["c1-b1u1"]]["critical"] == 1
    assert staff[p["c1-b1u1"]]["major"] == 0
    assert (staff[p["c1-b1"]]["critical"], staff[p["c1-b1"]]["major"]) == (1, 1)
    for place in ("c1-compound", "c1"):
        row = staff[p[place]]
        assert (row["critical"], row["major"], row["minor"], row["warning"]) == (1, 1, 1, 0)
        assert row["unacknowledged"] == 3
    district = by_place("district")
    # The district admin sees the district and below, not the city above it.
    assert p["city"] not in district
    assert district[p["district"]]["warning"] == 1
    assert district[p["street"]]["critical"] == 1
    assert district[p["c2"]]["warning"] == 1
    assert district[p["c2"]]["critical"] == 0
