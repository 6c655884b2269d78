"""The chart series: raw or rollup chosen by range, values from the stored rollups, access."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.core.actor import SYSTEM
from linli.core.errors import PermissionDenied
from linli.device import service as device_service
from linli.telemetry import series as series_service
from tests.conftest import World, bearer
from tests.telemetry.seeding import DAY_MS, MINUTE_MS, T0, add_device, add_readings


def _value(ts: int) -> float:
    return float((ts // MINUTE_MS) % 97)


def _stream(db: Session, world: World, *, step_ms: int, count: int) -> int:
    _dev, streams = add_device(db, world.places["c1-b1"])
    add_readings(
        db, streams[0], [(T0 + i * step_ms, _value(T0 + i * step_ms)) for i in range(count)]
    )
    db.commit()
    return streams[0]


def _compute(db: Session, stream_id: int, start: int, end: int, points: int) -> Any:
    account = account_service.by_username(db, "district")
    assert account is not None
    actor = account_service.build_actor(db, account, via="cli")
    view = device_service.readable_stream(db, actor, stream_id)
    return series_service.compute(db, view, start, end, points)


def test_few_readings_come_back_raw(db: Session, world: World) -> None:
    sid = _stream(db, world, step_ms=MINUTE_MS, count=30)
    s = _compute(db, sid, T0, T0 + DAY_MS, 1000)
    assert s.resolution == "raw"
    assert s.step_ms == 0
    assert len(s.points) == 30
    v = _value(T0 + 5 * MINUTE_MS)
    assert s.points[5] == (T0 + 5 * MINUTE_MS, v, v, v)


def test_one_day_of_minutes_is_binned_from_raw(db: Session, world: World) -> None:
    sid = _stream(db, world, step_ms=MINUTE_MS, count=1440)
    s = _compute(db, sid, T0, T0 + DAY_MS, 1000)
    assert s.resolution == "raw"
    assert s.step_ms == 120_000
    assert len(s.points) == 720
    ts, mean, lo, hi = s.points[10]
    a, b = _value(T0 + 20 * MINUTE_MS), _value(T0 + 21 * MINUTE_MS)
    assert (ts, mean, lo, hi) == (T0 + 20 * MINUTE_MS, (a + b) / 2, min(a, b), max(a, b))


def test_thirty_days_use_hourly_rollups(db: Session, world: World) -> None:
    sid = _stream(db, world, step_ms=10 * MINUTE_MS, count=30 * 144)
    s = _compute(db, sid, T0, T0 + 30 * DAY_MS, 1000)
    assert s.resolution == "3600"
    assert s.step_ms == 3_600_000
    assert len(s.points) == 720
    hour = [_value(T0 + 3 * 3_600_000 + i * 10 * MINUTE_MS) for i in range(6)]
    assert s.points[3] == (T0 + 3 * 3_600_000, sum(hour) / 6, min(hour), max(hour))


def test_rollups_are_merged_to_fit_the_points(db: Session, world: World) -> None:
    sid = _stream(db, world, step_ms=10 * MINUTE_MS, count=60 * 144)
    merged = _compute(db, sid, T0, T0 + 60 * DAY_MS, 200)
    assert merged.resolution == "3600"
    assert merged.step_ms == 43_200_000
    assert len(merged.points) <= 200
    half_day = [_value(T0 + 43_200_000 + i * 10 * MINUTE_MS) for i in range(72)]
    assert merged.points[1] == (
        T0 + 43_200_000,
        sum(half_day) / 72,
        min(half_day),
        max(half_day),
    )
    daily = _compute(db, sid, T0, T0 + 60 * DAY_MS, 100)
    assert daily.resolution == "86400"
    assert len(daily.points) == 60
    day = [_value(T0 + i * 10 * MINUTE_MS) for i in range(144)]
    assert daily.points[0][1] == sum(day) / 144


def test_too_dense_for_raw_bins_falls_back_to_five_minute_rollups(
    db: Session, world: World
) -> None:
    sid = _stream(db, world, step_ms=1000, count=7200)
    s = _compute(db, sid, T0, T0 + 7_200_000, 100)
    assert s.resolution == "300"
    assert len(s.points) == 24
    assert s.points[0][1] == sum(_value(T0 + i * 1000) for i in range(300)) / 300


def test_points_never_exceed_the_request(db: Session, world: World) -> None:
    sid = _stream(db, world, step_ms=MINUTE_MS, count=3 * 1440)
    for points in (2, 7, 50, 333, 1000):
        for span in (3_600_000, DAY_MS, 3 * DAY_MS):
            s = _compute(db, sid, T0 + 12_345, T0 + 12_345 + span, points)
            assert 0 < len(s.points) <= points, (points, span)


def _client_get(client: TestClient, world: World, who: str | None, url: str) -> Any:
    headers = bearer(world, who) if who else {}
    return client.get(url, headers=headers)


def test_series_api_answers_with_timing(client: TestClient, db: Session, world: World) -> None:
    sid = _stream(db, world, step_ms=MINUTE_MS, count=1440)
    url = f"/api/v1/datastreams/{sid}/series?start={T0}&end={T0 + DAY_MS}&points=500"
    r = _client_get(client, world, "staff1", url)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["datastream"] == sid
    assert body["unit"] == body["unit"].strip() != ""
    assert body["resolution"] == "300"
    assert len(body["points"]) == 288
    assert r.headers["server-timing"].startswith("series;dur=")
    iso = "/api/v1/datastreams/{}/series?start=2026-01-01T00:00:00Z&end=2026-01-01T01:00:00Z"
    r = _client_get(client, world, "staff1", iso.format(sid))
    assert r.status_code == 200
    assert r.json()["resolution"] == "raw"
    assert len(r.json()["points"]) == 60


def test_series_api_refuses_bad_input(client: TestClient, db: Session, world: World) -> None:
    sid = _stream(db, world, step_ms=MINUTE_MS, count=10)
    base = f"/api/v1/datastreams/{sid}/series"
    for query in ("?points=10001", "?points=1", "?start=yesterday", f"?start={T0}&end={T0}"):
        r = _client_get(client, world, "staff1", base + query)
        assert r.status_code == 422, query
    assert (
        _client_get(client, world, "staff1", "/api/v1/datastreams/999999/series").status_code == 404
    )


def test_series_api_permissions(client: TestClient, db: Session, world: World) -> None:
    sid = _stream(db, world, step_ms=MINUTE_MS, count=10)
    url = f"/api/v1/datastreams/{sid}/series?start={T0}&end={T0 + DAY_MS}"
    assert _client_get(client, world, None, url).status_code == 401
    assert _client_get(client, world, "alice", url).status_code == 403
    assert _client_get(client, world, "staff2", url).status_code == 404
    for who in ("staff1", "grid1", "district", "pm1"):
        assert _client_get(client, world, who, url).status_code == 200, who


def test_system_actor_sees_nothing_without_roles(db: Session, world: World) -> None:
    sid = _stream(db, world, step_ms=MINUTE_MS, count=1)
    with pytest.raises(PermissionDenied):
        series_service.series(db, SYSTEM, sid)
