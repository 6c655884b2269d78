"""HTTP ingestion: device auth, body forms, per-item validation, duplicates, what is stored."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.core.db import session_scope
from linli.core.pagination import PageParams
from linli.device import service as device_service
from linli.device.models import Datastream, Device, ObservedProperty
from linli.device.schemas import DeviceCreate
from linli.telemetry import service as telemetry_service
from linli.telemetry.models import Observation, QuarantinedPayload, Rollup
from tests.conftest import World, bearer

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SENML = "application/senml+json"


@dataclass
class Dev:
    id: int
    uid: str
    token: str
    streams: dict[str, int]

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_device(app: FastAPI, world: World, uid: str, profile: str = "air_quality") -> Dev:
    with session_scope(app.state.sessionmaker) as db:
        device_service.ensure_catalog(db)
        device, token = device_service.create_device(
            db,
            None,
            DeviceCreate(uid=uid, name=uid, place_id=world.places["c1-b1"], profile=profile),
        )
        rows = db.execute(
            select(ObservedProperty.key, Datastream.id)
            .join(Datastream, Datastream.property_id == ObservedProperty.id)
            .where(Datastream.device_id == device.id)
        ).all()
        return Dev(device.id, uid, token, dict(rows))


def rows(db: Session, stream_id: int) -> list[tuple[int, float | None]]:
    db.expire_all()
    stmt = select(Observation.ts, Observation.value).where(Observation.datastream_id == stream_id)
    return [(t, v) for t, v in db.execute(stmt.order_by(Observation.ts))]


def rollup(db: Session, stream_id: int, period: int, bucket: int) -> tuple[object, ...] | None:
    found = db.execute(
        select(Rollup.count, Rollup.min, Rollup.max, Rollup.sum, Rollup.last, Rollup.last_ts).where(
            Rollup.datastream_id == stream_id, Rollup.period_s == period, Rollup.bucket == bucket
        )
    ).first()
    return tuple(found) if found else None


def quarantine(db: Session) -> list[QuarantinedPayload]:
    db.expire_all()
    return list(db.scalars(select(QuarantinedPayload).order_by(QuarantinedPayload.id)))


def post(client: TestClient, dev: Dev, body: object, **headers: str) -> dict[str, object]:
    response = client.post(
        "/api/v1/telemetry", content=orjson.dumps(body), headers=dev.auth() | headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_flat_values_are_stamped_on_receipt_and_update_latest(
    client: TestClient, app: FastAPI, db: Session, world: World
) -> None:
    dev = make_device(app, world, "aq-flat")
    before = int(time.time() * 1000)
    answer = post(client, dev, {"pm25": 12.5, "temperature": 21, "humidity": "40.5"})
    after = int(time.time() * 1000)
    assert answer == {"accepted": 3, "duplicate": 0, "rejected": 0, "rejected_items": []}
    ((ts, value),) = rows(db, dev.streams["pm25"])
    assert before <= ts <= after
    assert value == 12.5
    assert rows(db, dev.streams["humidity"])[0][1] == 40.5
    stream = db.get(Datastream, dev.streams["temperature"])
    assert stream is not None
    assert (stream.last_value, stream.last_at_ms, stream.first_at_ms) == (21.0, ts, ts)
    device = db.get(Device, dev.id)
    assert device is not None
    assert device.last_seen_at is not None
    for period in (300, 3600, 86400):
        bucket = ts - ts % (period * 1000)
        assert rollup(db, dev.streams["pm25"], period, bucket) == (1, 12.5, 12.5, 12.5, 12.5, ts)


def test_timed_batches_fill_rollups_and_keep_the_newest_as_latest(
    client: TestClient, app: FastAPI, db: Session, world: World
) -> None:
    dev = make_device(app, world, "aq-timed")
    first = [{"ts": T0 + i * 60_000, "values": {"pm25": 10.0 + i, "pm10": 20}} for i in range(4)]
    assert post(client, dev, first)["accepted"] == 8
    # An older reading arriving later joins the rollups but does not become the latest value.
    late = {"ts": T0 + 30_000, "values": {"pm25": 99.0}}
    newer = {"ts": T0 + 400_000, "values": {"pm25": 1.0}}
    assert post(client, dev, [late, newer])["accepted"] == 2
    sid = dev.streams["pm25"]
    assert len(rows(db, sid)) == 6
    assert rollup(db, sid, 300, T0) == (5, 10.0, 99.0, 10 + 11 + 12 + 13 + 99.0, 13.0, T0 + 180_000)
    assert rollup(db, sid, 300, T0 + 300_000) == (1, 1.0, 1.0, 1.0, 1.0, T0 + 400_000)
    assert rollup(db, sid, 3600, T0) == (6, 1.0, 99.0, 146.0, 1.0, T0 + 400_000)
    assert rollup(db, sid, 86400, T0) == (6, 1.0, 99.0, 146.0, 1.0, T0 + 400_000)
    db.expire_all()
    stream = db.get(Datastream, sid)
    assert stream is not None
    assert (stream.last_value, stream.last_at_ms, stream.first_at_ms) == (1.0, T0 + 400_000, T0)
    # A reading older than everything moves first_at_ms only.
    assert post(client, dev, {"ts": T0 - 86_400_000, "values": {"pm25": 5}})["accepted"] == 1
    db.expire_all()
    stream = db.get(Datastream, sid)
    assert stream is not None
    assert (stream.last_value, stream.first_at_ms) == (1.0, T0 - 86_400_000)


def test_repeats_are_duplicates_not_rows_and_never_count_twice(
    client: TestClient, app: FastAPI, db: Session, world: World
) -> None:
    dev = make_device(app, world, "aq-dup")
    body = [{"ts": T0 + i * 1000, "values": {"pm25": float(i)}} for i in range(5)]
    assert post(client, dev, body) == {
        "accepted": 5,
        "duplicate": 0,
        "rejected": 0,
        "rejected_items": [],
    }
    again = post(client, dev, [*body[3:], {"ts": T0 + 9000, "values": {"pm25": 50.0}}])
    assert (again["accepted"], again["duplicate"]) == (1, 2)
    # The same key twice in one payload: the first is stored, the second is a duplicate.
    twice = [
        {"ts": T0 + 20_000, "values": {"pm25": 1.0}},
        {"ts": T0 + 20_000, "values": {"pm25": 2.0}},
    ]
    assert (post(client, dev, twice)["accepted"], post(client, dev, twice)["duplicate"]) == (1, 2)
    sid = dev.streams["pm25"]
    stored = rows(db, sid)
    assert len(stored) == 7
    assert (T0 + 20_000, 1.0) in stored
    assert rollup(db, sid, 300, T0) == (
        7,
        0.0,
        50.0,
        0 + 1 + 2 + 3 + 4 + 50 + 1.0,
        1.0,
        T0 + 20_000,
    )


def test_bad_items_are_refused_and_quarantined_while_the_rest_is_stored(
    client: TestClient, app: FastAPI, db: Session, world: World
) -> None:
    dev = make_device(app, world, "aq-bad")
    now = int(time.time() * 1000)
    body = [
        {"ts": T0, "values": {"pm25": 12, "radiation": 3, "pm10": "lots", "humidity": 140}},
        {"ts": now + 3_600_000, "values": {"pm25": 1}},
        {"ts": 915_148_800_000, "values": {"pm25": 1}},  # 1999
        {"ts": T0, "values": {"temperature": None, "co": 1.5}},
    ]
    answer = post(client, dev, body)
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (2, 0, 6)
    reasons = {(i["item"], i["reason"]) for i in answer["rejected_items"]}  # type: ignore[union-attr]
    items = {item for item, _r in reasons}
    assert {"radiation", "pm10", "humidity", "pm25", "[2].ts", "[3].temperature"} <= items | {
        "pm25"
    }
    text = " | ".join(r for _i, r in reasons)
    assert "unknown key 'radiation'" in text
    assert "needs a number" in text
    assert "above its maximum 100" in text
    assert "future" in text
    assert "2000" in text
    assert "null" in text
    assert rows(db, dev.streams["pm25"]) == [(T0, 12.0)]
    assert rows(db, dev.streams["co"]) == [(T0, 1.5)]
    assert rows(db, dev.streams["humidity"]) == []
    held = quarantine(db)
    assert len(held) == 6
    assert all(q.device_id == dev.id and q.transport == "http" for q in held)
    assert any("radiation" in q.reason and '"value":3' in q.raw for q in held)


def test_device_authentication(client: TestClient, app: FastAPI, db: Session, world: World) -> None:
    dev = make_device(app, world, "aq-auth")
    body = orjson.dumps({"pm25": 1})
    for headers in (
        {},
        {"Authorization": "Bearer dt_not-a-real-token"},
        {"Authorization": f"Basic {dev.token}"},
        bearer(world, "admin1"),  # an API key is not a device token
    ):
        response = client.post("/api/v1/telemetry", content=body, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.post("/api/v1/dt_wrong/telemetry", content=body).status_code == 401
    # The ThingsBoard-style alias carries the token in the path.
    response = client.post(f"/api/v1/{dev.token}/telemetry", content=body)
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    with session_scope(app.state.sessionmaker) as s:
        s.execute(update(Device).where(Device.id == dev.id).values(status="disabled"))
    telemetry_ingest_cache_clear()
    response = client.post("/api/v1/telemetry", content=body, headers=dev.auth())
    assert response.status_code == 403
    assert response.json()["status"] == 403
    assert len(rows(db, dev.streams["pm25"])) == 1


def telemetry_ingest_cache_clear() -> None:
    from linli.telemetry import ingest

    ingest.invalidate_devices()


def test_oversized_and_unreadable_bodies(
    client: TestClient, app: FastAPI, db: Session, world: World
) -> None:
    dev = make_device(app, world, "aq-big")
    big = b'{"pm25": 1, "x": "' + b"a" * 1_100_000 + b'"}'
    response = client.post("/api/v1/telemetry", content=big, headers=dev.auth())
    assert response.status_code == 413
    assert quarantine(db) == []
    garbage = b'{"pm25": 1,, oops'
    response = client.post("/api/v1/telemetry", content=garbage, headers=dev.auth())
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "JSON" in response.json()["detail"]
    (held,) = quarantine(db)
    assert held.raw == garbage.decode()
    assert held.device_id == dev.id
    assert held.reason.startswith("unreadable payload")
    for body in (b"[]", b"42", b'"text"'):
        assert client.post("/api/v1/telemetry", content=body, headers=dev.auth()).status_code == 400
    assert len(quarantine(db)) == 4
    assert rows(db, dev.streams["pm25"]) == []


def test_senml_records(client: TestClient, app: FastAPI, db: Session, world: World) -> None:
    dev = make_device(app, world, "wq-senml", profile="water_quality")
    t0_s = T0 / 1000
    pack = [
        {"bn": "urn:dev:ow:wq-senml:", "bt": t0_s, "n": "ph", "u": "pH", "v": 7.2},
        {"n": "turbidity", "v": 3.5, "t": 60},
        {"n": "chlorine", "v": 0.4, "t": 120},
        {"n": "ph", "v": 7.4, "t": 120},
        {"n": "voltage", "v": 3.3},
    ]
    response = client.post(
        "/api/v1/telemetry",
        content=orjson.dumps(pack),
        headers=dev.auth() | {"Content-Type": SENML},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (4, 1)
    assert "voltage" in answer["rejected_items"][0]["reason"]
    assert rows(db, dev.streams["ph"]) == [(T0, 7.2), (T0 + 120_000, 7.4)]
    assert rows(db, dev.streams["turbidity"]) == [(T0 + 60_000, 3.5)]


def test_quarantine_is_listed_to_staff_of_the_device_community(
    client: TestClient, app: FastAPI, db: Session, world: World
) -> None:
    dev = make_device(app, world, "aq-q")
    post(client, dev, {"radiation": 1})
    page_of = {}
    for username in ("staff1", "staff2", "district"):
        account = account_service.get_account(db, world.accounts[username])
        actor = account_service.build_actor(db, account, via="cli")
        page_of[username] = telemetry_service.quarantined(db, actor, PageParams())
    assert page_of["staff1"].total == 1
    assert page_of["staff1"].items[0].device_uid == "aq-q"
    assert page_of["staff2"].total == 0
    assert page_of["district"].total == 1
    count = db.scalar(select(func.count()).select_from(QuarantinedPayload))
    assert count == 1
