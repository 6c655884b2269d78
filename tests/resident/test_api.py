"""Residents and households over HTTP: who sees whom, masking, search, encryption, reveal."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from linli.core.time import utc_now
from linli.resident.models import Household, Resident
from tests.conftest import PASSWORD, World, bearer

ALICE_PHONE = "13812345678"
ALAN_PHONE = "13812340000"
CAROL_PHONE = "15011112222"
MASKED_NAME = re.compile(r"^\S\*+$")
MASKED_PHONE = re.compile(r"^\d{3}\*+\d{4}$")


def alice_id_number(db: Session, world: World) -> str:
    resident = db.get(Resident, world.residents["alice"])
    assert resident is not None
    assert resident.id_number
    return resident.id_number


def listed(
    client: TestClient, world: World, who: str, query: str = ""
) -> dict[int, dict[str, str]]:
    r = client.get(f"/api/v1/residents{query}", headers=bearer(world, who))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return {item["id"]: item for item in body["items"]}


def test_resident_sees_own_household_only_with_others_masked(
    client: TestClient, world: World
) -> None:
    alice, alan = world.residents["alice"], world.residents["alan"]
    items = listed(client, world, "alice")
    assert set(items) == {alice, alan}
    assert items[alice]["name"] == "王小丽"  # herself, unmasked
    assert items[alan]["name"] == "王**"
    assert all(MASKED_PHONE.match(i["phone"]) for i in items.values())
    assert items[alice]["phone"] == "138****5678"
    r = client.get(f"/api/v1/residents/{alan}", headers=bearer(world, "alice"))
    assert r.status_code == 200
    assert r.json()["name"] == "王**"
    assert (
        client.get(f"/api/v1/residents/{alice}", headers=bearer(world, "alice")).json()["name"]
        == "王小丽"
    )
    homes = client.get("/api/v1/households", headers=bearer(world, "alice")).json()
    assert [h["id"] for h in homes["items"]] == [world.households["h1"]]
    own = client.get(f"/api/v1/households/{world.households['h1']}", headers=bearer(world, "alice"))
    assert own.status_code == 200
    assert own.json()["room"] == "101"


def test_resident_cannot_see_another_household_or_community(
    client: TestClient, world: World
) -> None:
    alice = bearer(world, "alice")
    for resident in ("bob", "carol"):
        r = client.get(f"/api/v1/residents/{world.residents[resident]}", headers=alice)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
    for household in ("h2", "h3"):
        r = client.get(f"/api/v1/households/{world.households[household]}", headers=alice)
        assert r.status_code == 404
    # Searching does not reach past the own household either.
    assert listed(client, world, "alice", "?phone=13987654321") == {}
    assert listed(client, world, "alice", "?name=李") == {}
    assert listed(client, world, "alice", f"?place_id={world.places['c2']}") == {}
    carol = listed(client, world, "carol")
    assert set(carol) == {world.residents["carol"]}


def test_staff_see_their_community_only(client: TestClient, world: World) -> None:
    c1 = {world.residents[k] for k in ("alice", "alan", "bob")}
    assert set(listed(client, world, "staff1")) == c1
    assert set(listed(client, world, "grid1")) == c1
    assert set(listed(client, world, "staff2")) == {world.residents["carol"]}
    assert set(listed(client, world, "district")) == c1 | {world.residents["carol"]}
    staff1 = bearer(world, "staff1")
    r = client.get(f"/api/v1/residents/{world.residents['carol']}", headers=staff1)
    assert r.status_code == 404
    r = client.get(f"/api/v1/households/{world.households['h3']}", headers=staff1)
    assert r.status_code == 404
    homes = client.get("/api/v1/households", headers=staff1).json()
    assert {h["id"] for h in homes["items"]} == {world.households["h1"], world.households["h2"]}
    district = bearer(world, "district")
    r = client.get(f"/api/v1/residents/{world.residents['carol']}", headers=district)
    assert r.status_code == 200
    # Roles without resident administration see nobody.
    assert listed(client, world, "pm1") == {}
    assert listed(client, world, "auditor1") == {}


def test_staff_cannot_register_in_another_community(
    client: TestClient, world: World, db: Session
) -> None:
    staff1 = bearer(world, "staff1")
    before = db.scalar(select(func.count()).select_from(Resident))
    for body in (
        {"household_id": world.households["h3"], "name": "越界者"},
        {"place_id": world.places["c2-b1u1"], "name": "越界者"},
    ):
        r = client.post("/api/v1/residents", json=body, headers=staff1)
        assert r.status_code == 403, r.text
    r = client.post(
        "/api/v1/households",
        json={"place_id": world.places["c2-b1u1"], "room": "909"},
        headers=staff1,
    )
    assert r.status_code == 403
    # Residents cannot register people at all, not even in their own unit.
    r = client.post(
        "/api/v1/residents",
        json={"household_id": world.households["h1"], "name": "新人"},
        headers=bearer(world, "alice"),
    )
    assert r.status_code == 403
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Resident)) == before
    assert db.scalar(select(func.count()).where(Household.room == "909")) == 0


def test_staff_register_a_resident_stored_encrypted_and_read_masked(
    client: TestClient, world: World, db: Session
) -> None:
    staff1 = bearer(world, "staff1")
    r = client.post(
        "/api/v1/households",
        json={"place_id": world.places["c1-b1u1"], "room": "305", "floor": 3, "area_m2": "88.50"},
        headers=staff1,
    )
    assert r.status_code == 201, r.text
    household_id = r.json()["id"]
    assert r.json()["address"].endswith("305")
    r = client.post(
        "/api/v1/residents",
        json={
            "household_id": household_id,
            "name": "赵一鸣",
            "phone": "139-0000-1111",
            "id_number": "11010119800101007X",
            "date_of_birth": "1980-01-01",
            "relation": "owner",
        },
        headers=staff1,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "赵**"
    assert body["phone"] == "139****1111"
    assert body["age_group"] == "adult"
    assert "id_number" not in body
    assert "date_of_birth" not in body
    assert "11010119800101007X" not in r.text
    assert "1980-01-01" not in r.text
    row = db.execute(
        text("SELECT phone, id_number, date_of_birth, birth_year FROM residents WHERE id = :id"),
        {"id": body["id"]},
    ).one()
    assert row.birth_year == 1980
    for stored, plain in ((row.phone, "13900001111"), (row.id_number, "11010119800101007X")):
        assert stored.startswith("v1:")
        assert plain not in stored
    assert "1980" not in row.date_of_birth
    created = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "resident.created", AuditEvent.subject_resident_id == body["id"]
        )
    ).one()
    assert created.actor_username == "staff1"
    assert created.place_id == world.places["c1-b1u1"]
    # The same ID number cannot be registered twice.
    r = client.post(
        "/api/v1/residents",
        json={"household_id": household_id, "name": "重复", "id_number": "11010119800101007x"},
        headers=staff1,
    )
    assert r.status_code == 409


def test_lists_and_details_never_carry_id_number_or_birth_date(
    client: TestClient, world: World, db: Session
) -> None:
    id_number = alice_id_number(db, world)
    for who in ("staff1", "district", "alice", "grid1"):
        headers = bearer(world, who)
        r = client.get("/api/v1/residents", headers=headers)
        detail = client.get(f"/api/v1/residents/{world.residents['alice']}", headers=headers)
        for response in (r, detail):
            assert response.status_code == 200
            assert id_number not in response.text
            assert ALICE_PHONE not in response.text
            assert "id_number" not in response.text
            assert "date_of_birth" not in response.text
        for item in r.json()["items"]:
            assert MASKED_PHONE.match(item["phone"])
            if who != "alice":
                assert MASKED_NAME.match(item["name"]), item
    carol = listed(client, world, "district")[world.residents["carol"]]
    assert carol["name"] == "张**"
    assert carol["phone"] == "150****2222"


def test_staff_detail_view_is_recorded(client: TestClient, world: World, db: Session) -> None:
    alan = world.residents["alan"]
    assert (
        client.get(f"/api/v1/residents/{alan}", headers=bearer(world, "staff1")).status_code == 200
    )
    viewed = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "resident.viewed", AuditEvent.subject_resident_id == alan
        )
    ).all()
    assert [e.actor_username for e in viewed] == ["staff1"]


def test_phone_search_finds_the_exact_number_by_digest(client: TestClient, world: World) -> None:
    assert set(listed(client, world, "staff1", f"?phone={ALICE_PHONE}")) == {
        world.residents["alice"]
    }
    assert set(listed(client, world, "staff1", "?phone=138%201234%205678")) == {
        world.residents["alice"]
    }
    assert set(listed(client, world, "staff1", "?phone=138-1234-5678")) == {
        world.residents["alice"]
    }
    # Part of a number finds nothing: the digest only matches a whole number.
    assert listed(client, world, "staff1", "?phone=1381234") == {}
    # Another community's resident is not found by staff of c1, but by the district.
    assert listed(client, world, "staff1", f"?phone={CAROL_PHONE}") == {}
    assert set(listed(client, world, "district", f"?phone={CAROL_PHONE}")) == {
        world.residents["carol"]
    }
    r = client.get("/api/v1/residents?phone=not-a-phone", headers=bearer(world, "staff1"))
    assert r.status_code == 422


def test_name_search_is_literal_and_scoped(client: TestClient, world: World) -> None:
    assert set(listed(client, world, "staff1", "?name=王")) == {
        world.residents["alice"],
        world.residents["alan"],
    }
    assert listed(client, world, "staff1", "?name=%25") == {}  # no LIKE wildcards
    assert listed(client, world, "staff1", "?name=张") == {}  # carol lives in c2


def test_sensitive_fields_are_encrypted_at_rest(db: Session, world: World) -> None:
    id_number = alice_id_number(db, world)
    rows = db.execute(
        text("SELECT id, name, phone, phone_digest, id_number, id_number_digest FROM residents")
    ).all()
    assert len(rows) == 4
    dump = repr(rows)
    for plain in (ALICE_PHONE, ALAN_PHONE, CAROL_PHONE, "13987654321", id_number):
        assert plain not in dump
    alice = next(r for r in rows if r.id == world.residents["alice"])
    assert alice.phone.startswith("v1:")
    assert alice.id_number.startswith("v1:")
    assert len(alice.phone_digest) == 32
    # The same value encrypts differently each time (random nonce), but digests equal.
    alan = next(r for r in rows if r.id == world.residents["alan"])
    assert alan.phone != alice.phone


def test_reveal_by_community_staff_is_audited_without_the_values(
    client: TestClient, world: World, db: Session
) -> None:
    alice = world.residents["alice"]
    id_number = alice_id_number(db, world)
    r = client.post(
        f"/api/v1/residents/{alice}/reveal",
        json={"fields": ["phone", "id_number"], "reason": "核对低保申请材料"},
        headers=bearer(world, "staff1"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["fields"] == {"phone": ALICE_PHONE, "id_number": id_number}
    assert r.headers["cache-control"] == "no-store"
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "resident.sensitive_read")
    ).one()
    assert event.actor_account_id == world.accounts["staff1"]
    assert event.subject_resident_id == alice
    assert event.fields == "id_number,phone"
    assert event.reason == "核对低保申请材料"
    assert event.outcome == "ok"
    assert event.place_id is not None
    row = db.execute(text("SELECT * FROM audit_events WHERE id = :id"), {"id": event.id}).one()
    stored = repr(tuple(row))
    assert ALICE_PHONE not in stored
    assert id_number not in stored
    assert "5678" not in stored


def test_reveal_by_property_manager_is_refused_and_audited(
    client: TestClient, world: World, db: Session
) -> None:
    alice = world.residents["alice"]
    r = client.post(
        f"/api/v1/residents/{alice}/reveal",
        json={"fields": ["phone"], "reason": "维修联系"},
        headers=bearer(world, "pm1"),
    )
    assert r.status_code == 403, r.text
    assert ALICE_PHONE not in r.text
    denied = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "permission.denied", AuditEvent.actor_username == "pm1"
        )
    ).one()
    assert denied.outcome == "denied"
    assert denied.subject_resident_id == alice
    assert denied.fields == "phone"
    assert denied.reason == "维修联系"
    assert (
        db.scalar(select(func.count()).where(AuditEvent.action == "resident.sensitive_read")) == 0
    )


def test_reveal_from_another_community_is_refused_and_audited(
    client: TestClient, world: World, db: Session
) -> None:
    alice = world.residents["alice"]
    for who in ("staff2", "bob"):
        r = client.post(
            f"/api/v1/residents/{alice}/reveal",
            json={"fields": ["phone", "id_number"], "reason": "想看看"},
            headers=bearer(world, who),
        )
        assert r.status_code == 404, (who, r.text)
        assert ALICE_PHONE not in r.text
    denied = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "permission.denied", AuditEvent.subject_resident_id == alice)
        .order_by(AuditEvent.id)
    ).all()
    assert [e.actor_username for e in denied] == ["staff2", "bob"]
    # A reveal of a resident that does not exist is a plain 404.
    r = client.post(
        "/api/v1/residents/999999/reveal",
        json={"fields": ["phone"], "reason": "test"},
        headers=bearer(world, "staff1"),
    )
    assert r.status_code == 404


def test_reveal_asks_for_known_fields_and_a_reason(client: TestClient, world: World) -> None:
    url = f"/api/v1/residents/{world.residents['alice']}/reveal"
    staff1 = bearer(world, "staff1")
    for body in (
        {"fields": ["phone"]},
        {"fields": ["phone"], "reason": ""},
        {"fields": [], "reason": "valid reason"},
        {"fields": ["name", "password_hash"], "reason": "valid reason"},
        {"fields": ["phone"], "reason": "bad\x00reason"},
    ):
        r = client.post(url, json=body, headers=staff1)
        assert r.status_code == 422, body
        assert ALICE_PHONE not in r.text


def test_resident_sees_in_access_log_who_revealed_their_data(
    client: TestClient, world: World
) -> None:
    alice = world.residents["alice"]
    r = client.post(
        f"/api/v1/residents/{alice}/reveal",
        json={"fields": ["phone"], "reason": "通知停水"},
        headers=bearer(world, "staff1"),
    )
    assert r.status_code == 200
    log = client.get("/api/v1/me/access-log", headers=bearer(world, "alice"))
    assert log.status_code == 200
    entries = log.json()["items"]
    reads = [e for e in entries if e["action"] == "resident.sensitive_read"]
    assert len(reads) == 1
    assert reads[0]["actor_username"] == "staff1"
    assert reads[0]["fields"] == "phone"
    assert reads[0]["reason"] == "通知停水"
    assert reads[0]["at"].endswith(("Z", "+00:00"))
    assert "ip" not in reads[0]
    assert "hash" not in reads[0]
    # Bob's log shows nothing about Alice.
    bob_log = client.get("/api/v1/me/access-log", headers=bearer(world, "bob")).json()
    assert all(e["action"] != "resident.sensitive_read" for e in bob_log["items"])


def test_resident_updates_own_phone(client: TestClient, world: World, db: Session) -> None:
    r = client.patch(
        "/api/v1/me/resident",
        json={"phone": "13700001234", "current_password": PASSWORD},
        headers=bearer(world, "alice"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "137****1234"
    assert set(listed(client, world, "staff1", "?phone=13700001234")) == {world.residents["alice"]}
    assert listed(client, world, "staff1", f"?phone={ALICE_PHONE}") == {}
    stored = db.execute(
        text("SELECT phone FROM residents WHERE id = :id"), {"id": world.residents["alice"]}
    ).scalar_one()
    assert "13700001234" not in stored
    updated = db.scalars(select(AuditEvent).where(AuditEvent.action == "resident.updated")).one()
    assert updated.fields == "phone"
    assert "13700001234" not in updated.detail
    r = client.patch("/api/v1/me/resident", json={"phone": "12"}, headers=bearer(world, "alice"))
    assert r.status_code == 422
    # Staff without a resident record have no own record to change.
    r = client.patch(
        "/api/v1/me/resident", json={"phone": "13700001234"}, headers=bearer(world, "staff1")
    )
    assert r.status_code == 403


def test_implausible_birth_dates_are_refused(client: TestClient, world: World, db: Session) -> None:
    staff1 = bearer(world, "staff1")
    for value in ("2999-01-01", "1066-10-14"):
        r = client.post(
            "/api/v1/residents",
            json={"household_id": world.households["h1"], "name": "未来人", "date_of_birth": value},
            headers=staff1,
        )
        assert r.status_code == 422, value
    assert db.scalar(select(func.count()).where(Resident.name == "未来人")) == 0
    five_years_ago = (utc_now().date() - dt.timedelta(days=5 * 365)).isoformat()
    r = client.post(
        "/api/v1/residents",
        json={
            "household_id": world.households["h1"],
            "name": "王小宝",
            "date_of_birth": five_years_ago,
        },
        headers=staff1,
    )
    assert r.status_code == 201
    assert r.json()["age_group"] == "child"
