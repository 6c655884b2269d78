"""The device API: who sees and manages which devices, tokens shown once, status, datastreams."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.crypto import sha256_hex
from linli.device import acl
from linli.device import service as device_service
from linli.device.models import Datastream, Device
from tests.conftest import World, bearer
from tests.device.conftest import Devices


def _body(world: World, uid: str = "AQ-NEW", place: str = "c1-b1") -> dict[str, object]:
    return {
        "uid": uid,
        "name": "东门空气站",
        "place_id": world.places[place],
        "profile": "air_quality",
        "latitude": 31.23,
        "longitude": 121.47,
    }


def test_anonymous_gets_401_everywhere(client: TestClient, world: World, devices: Devices) -> None:
    did = devices.ids["AQ-1"]
    for method, url in (
        ("GET", "/api/v1/devices"),
        ("GET", f"/api/v1/devices/{did}"),
        ("GET", f"/api/v1/devices/{did}/datastreams"),
        ("GET", "/api/v1/device-profiles"),
        ("POST", "/api/v1/devices"),
        ("POST", f"/api/v1/devices/{did}/disable"),
        ("POST", f"/api/v1/devices/{did}/token"),
    ):
        r = client.request(method, url, json=_body(world) if method == "POST" else None)
        assert r.status_code == 401, (method, url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_staff_lists_only_devices_of_their_community(
    client: TestClient, world: World, devices: Devices
) -> None:
    r = client.get("/api/v1/devices", headers=bearer(world, "staff1"))
    assert r.status_code == 200
    body = r.json()
    assert [d["uid"] for d in body["items"]] == ["AQ-1"]
    item = body["items"][0]
    assert item["connection"] == "offline"
    assert item["last_reading_at"] is None
    assert item["profile"] == "air_quality"
    assert "token" not in item
    assert "token_hash" not in item
    c2 = client.get("/api/v1/devices", headers=bearer(world, "staff2")).json()
    assert [d["uid"] for d in c2["items"]] == ["NZ-2"]
    everything = client.get("/api/v1/devices", headers=bearer(world, "district")).json()
    assert {d["uid"] for d in everything["items"]} == {"AQ-1", "NZ-2"}
    by_profile = client.get("/api/v1/devices?profile=noise", headers=bearer(world, "district"))
    assert [d["uid"] for d in by_profile.json()["items"]] == ["NZ-2"]
    by_place = client.get(
        f"/api/v1/devices?place_id={world.places['c1']}", headers=bearer(world, "district")
    )
    assert [d["uid"] for d in by_place.json()["items"]] == ["AQ-1"]


def test_resident_cannot_list_see_or_register(
    client: TestClient, world: World, devices: Devices
) -> None:
    alice = bearer(world, "alice")
    assert client.get("/api/v1/devices", headers=alice).status_code == 403
    assert client.get("/api/v1/device-profiles", headers=alice).status_code == 403
    assert client.get(f"/api/v1/devices/{devices.ids['AQ-1']}", headers=alice).status_code == 404
    r = client.post("/api/v1/devices", json=_body(world), headers=alice)
    assert r.status_code == 403


def test_other_community_staff_cannot_see_or_register_in_c1(
    client: TestClient, world: World, devices: Devices, db: Session
) -> None:
    staff2 = bearer(world, "staff2")
    did = devices.ids["AQ-1"]
    assert client.get(f"/api/v1/devices/{did}", headers=staff2).status_code == 404
    assert client.get(f"/api/v1/devices/{did}/datastreams", headers=staff2).status_code == 404
    assert client.post(f"/api/v1/devices/{did}/disable", headers=staff2).status_code == 404
    assert client.post(f"/api/v1/devices/{did}/token", headers=staff2).status_code == 404
    # community_staff may view but not register, even in c2
    assert (
        client.post("/api/v1/devices", json=_body(world, place="c2"), headers=staff2).status_code
        == 403
    )
    admin2 = bearer(world, "district")
    assert client.post("/api/v1/devices", json=_body(world), headers=admin2).status_code == 201
    pm1 = bearer(world, "pm1")
    r = client.post("/api/v1/devices", json=_body(world, "AQ-X", place="c2"), headers=pm1)
    assert r.status_code == 403
    assert db.scalars(select(Device).where(Device.uid == "AQ-X")).first() is None


def test_register_shows_the_token_once_and_stores_digests(
    client: TestClient, world: World, devices: Devices, db: Session
) -> None:
    r = client.post("/api/v1/devices", json=_body(world), headers=bearer(world, "pm1"))
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    token = body["token"]
    assert token.startswith("dt_")
    assert len(token) > 30
    stored = db.get(Device, body["id"])
    assert stored is not None
    assert stored.token_hash == sha256_hex(token)
    assert stored.mqtt_password_hash
    assert acl.verify_mosquitto_hash(token, stored.mqtt_password_hash)
    assert token not in stored.mqtt_password_hash
    streams = db.scalars(select(Datastream).where(Datastream.device_id == stored.id)).all()
    assert len(streams) == 8
    again = client.get(f"/api/v1/devices/{body['id']}", headers=bearer(world, "pm1")).json()
    assert "token" not in again
    assert device_service.ref_by_token(db, token) is not None
    dup = client.post("/api/v1/devices", json=_body(world), headers=bearer(world, "pm1"))
    assert dup.status_code == 409


def test_invalid_bodies_are_422(client: TestClient, world: World, devices: Devices) -> None:
    pm1 = bearer(world, "pm1")
    for change in (
        {"uid": "has space"},
        {"uid": "a:b"},  # ':' would break the Mosquitto password file
        {"uid": "x" * 65},
        {"profile": "toaster"},
        {"latitude": 91},
        {"name": ""},
    ):
        r = client.post("/api/v1/devices", json={**_body(world), **change}, headers=pm1)
        assert r.status_code == 422, change


def test_disable_enable_and_rotate_token(
    client: TestClient, world: World, devices: Devices, db: Session
) -> None:
    pm1 = bearer(world, "pm1")
    did = devices.ids["AQ-1"]
    old = devices.tokens["AQ-1"]
    seen: list[int] = []
    device_service.CHANGE_LISTENERS.append(seen.append)
    try:
        r = client.post(f"/api/v1/devices/{did}/disable", headers=pm1)
        assert r.status_code == 200
        assert r.json()["connection"] == "disabled"
        ref = device_service.ref_by_token(db, old)
        assert ref is not None
        assert not ref.active
        assert (
            client.post(f"/api/v1/devices/{did}/enable", headers=pm1).json()["status"] == "active"
        )
        rotated = client.post(f"/api/v1/devices/{did}/token", headers=pm1)
        assert rotated.status_code == 200
        assert rotated.headers["cache-control"] == "no-store"
        new = rotated.json()["token"]
    finally:
        device_service.CHANGE_LISTENERS.remove(seen.append)
    assert seen == [did, did, did]
    db.expire_all()
    assert device_service.ref_by_token(db, old) is None
    assert device_service.ref_by_token(db, new) is not None
    # grid workers and auditors see devices but do not manage them
    for who in ("grid1", "auditor1", "staff1"):
        assert client.get(f"/api/v1/devices/{did}", headers=bearer(world, who)).status_code == 200
        assert (
            client.post(f"/api/v1/devices/{did}/disable", headers=bearer(world, who)).status_code
            == 403
        )


def test_datastreams_and_status_follow_the_latest_reading(
    client: TestClient, world: World, devices: Devices, db: Session
) -> None:
    did = devices.ids["AQ-1"]
    stream = db.scalars(select(Datastream).where(Datastream.device_id == did)).first()
    assert stream is not None
    import time

    now_ms = int(time.time() * 1000)
    stream.last_value = 42.5
    stream.last_at_ms = now_ms
    db.commit()
    staff = bearer(world, "staff1")
    rows = client.get(f"/api/v1/devices/{did}/datastreams", headers=staff).json()
    assert rows[0]["key"] == "pm25"
    assert rows[0]["last_value"] == 42.5
    assert rows[0]["unit_display"] == "µg/m³"
    assert [r["key"] for r in rows][:2] == ["pm25", "pm10"]
    listed = client.get("/api/v1/devices?connection=online", headers=staff).json()
    assert [d["uid"] for d in listed["items"]] == ["AQ-1"]
    assert listed["items"][0]["last_reading_at"] is not None
    stream.last_at_ms = now_ms - 3600_000  # an hour of silence: 60 s interval × 3 exceeded
    db.commit()
    assert client.get("/api/v1/devices?connection=online", headers=staff).json()["total"] == 0
    assert client.get("/api/v1/devices?connection=offline", headers=staff).json()["total"] == 1


def test_profiles_list(client: TestClient, world: World, devices: Devices) -> None:
    r = client.get("/api/v1/device-profiles", headers=bearer(world, "staff1"))
    assert r.status_code == 200
    by_code = {p["code"]: p for p in r.json()}
    assert by_code["water_quality"]["adapter"] == "senml"
    assert by_code["wearable"]["adapter"] == "wearable_csv"
    assert "heart_rate" in by_code["wearable"]["properties"]
