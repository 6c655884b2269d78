"""Environment monitors of the test world with a day of readings up to a fixed moment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from linli.device import service as device_service
from tests.conftest import World
from tests.telemetry.seeding import add_device, add_readings

SH = dt.timezone(dt.timedelta(hours=8))
# 2026-06-02 10:30 China Standard Time.
NOW = dt.datetime(2026, 6, 2, 10, 30, tzinfo=SH)
NOW_MS = int(NOW.timestamp() * 1000)
MIN = 60_000
HOURS = 36


@dataclass
class Monitors:
    """Device ids and datastream ids (by property) of the seeded monitors."""

    air: int
    noise: int
    water: int
    other_air: int
    streams: dict[str, dict[str, int]]


def _streams(db: Session, device_id: int) -> dict[str, int]:
    return {
        s.property_key: s.datastream_id
        for s in device_service.stream_infos(db)
        if s.device_id == device_id
    }


def _minutes(start_ms: int, end_ms: int, step: int = 1) -> list[int]:
    return list(range(start_ms, end_ms, step * MIN))


def _local_hour(ts: int) -> int:
    return dt.datetime.fromtimestamp(ts / 1000, SH).hour


@pytest.fixture
def monitors(db: Session, world: World) -> Monitors:
    """c1: an air station and a noise monitor in the compound, a tap-water probe in building 1;
    c2: an air station. Readings each minute (water every 5) for 36 hours up to NOW."""
    air, _ = add_device(
        db,
        world.places["c1-compound"],
        uid="aq-1",
        profile="air_quality",
        lat=31.2291,
        lon=121.4453,
    )
    nz, _ = add_device(
        db, world.places["c1-compound"], uid="nz-1", profile="noise", lat=31.2295, lon=121.4460
    )
    wq, _ = add_device(
        db, world.places["c1-b1"], uid="wq-1", profile="water_quality", lat=31.2288, lon=121.4449
    )
    other, _ = add_device(db, world.places["c2-compound"], uid="aq-2", profile="air_quality")
    start = NOW_MS - HOURS * 3_600_000
    stamps = _minutes(start, NOW_MS)
    s_air = _streams(db, air)
    # PM2.5 80 µg/m³ (HJ 633—2026: IAQI 100 at 60, 150 at 115) and gentle other pollutants.
    air_values = {
        "pm25": 80.0,
        "pm10": 90.0,
        "no2": 30.0,
        "o3": 60.0,
        "so2": 8.0,
        "co": 0.6,
        "humidity": 60.0,
        "temperature": 20.0,
    }
    for key, value in air_values.items():
        add_readings(db, s_air[key], [(t, value) for t in stamps])
    s_other = _streams(db, other)
    for key, value in air_values.items():
        add_readings(db, s_other[key], [(t, value / 4) for t in stamps])
    s_nz = _streams(db, nz)
    # 52 dB by day (within class 1's 55) and 48 dB at night (above its 45).
    add_readings(
        db, s_nz["noise"], [(t, 52.0 if 6 <= _local_hour(t - 1) < 22 else 48.0) for t in stamps]
    )
    s_wq = _streams(db, wq)
    water_stamps = _minutes(start, NOW_MS, 5)
    add_readings(db, s_wq["ph"], [(t, 7.2) for t in water_stamps])
    add_readings(db, s_wq["turbidity"], [(t, 1.3) for t in water_stamps])
    add_readings(db, s_wq["chlorine"], [(t, 0.4) for t in water_stamps])
    db.commit()
    return Monitors(air, nz, wq, other, {"air": s_air, "noise": s_nz, "water": s_wq})
