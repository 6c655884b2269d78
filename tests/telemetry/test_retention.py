"""Retention purge and device online/offline, with a frozen clock, on every backend."""

from __future__ import annotations

import datetime as dt

import time_machine
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from linli.device.models import Datastream, Device, DeviceProfile
from linli.telemetry import series as series_service
from linli.telemetry import tasks
from linli.telemetry.models import Observation, Rollup
from tests.conftest import World
from tests.telemetry.seeding import DAY_MS, T0, add_device, add_readings

NOW = dt.datetime.fromtimestamp((T0 + 400 * DAY_MS) / 1000, dt.UTC)


def _count(db: Session, model: type[Observation] | type[Rollup], stream_id: int) -> int:
    return int(
        db.execute(
            select(func.count()).select_from(model).where(model.datastream_id == stream_id)
        ).scalar_one()
    )


def test_purge_keeps_each_stream_for_its_retention(app: FastAPI, db: Session, world: World) -> None:
    _d1, (own, *_rest) = add_device(db, world.places["c1-b1"], uid="aq-1", profile="air_quality")
    _d2, (inherited,) = add_device(db, world.places["c2-b1"], uid="noise-2", profile="noise")
    # One reading a day for 400 days, up to the frozen now.
    days = [(T0 + i * DAY_MS, float(i)) for i in range(400)]
    add_readings(db, own, days)
    add_readings(db, inherited, days)
    db.execute(update(Datastream).where(Datastream.id == own).values(retention_days=30))
    db.execute(
        update(DeviceProfile).where(DeviceProfile.code == "noise").values(retention_days=100)
    )
    db.commit()

    with time_machine.travel(NOW, tick=False):
        result = tasks.purge(app.state.sessionmaker, batch=7)
    db.expire_all()
    assert result.observations == (400 - 30) + (400 - 100)
    # The datastream's own retention wins over its profile's (730 days for air quality).
    oldest_own = db.scalar(select(func.min(Observation.ts)).where(Observation.datastream_id == own))
    assert oldest_own == T0 + 370 * DAY_MS
    assert _count(db, Observation, own) == 30
    assert _count(db, Observation, inherited) == 100
    # Daily rollups stay ten times longer than the readings: all 400 days of them here.
    assert (
        db.scalar(select(func.count()).where(Rollup.datastream_id == own, Rollup.period_s == 86400))
        == 300
    )
    assert (
        db.scalar(
            select(func.count()).where(Rollup.datastream_id == inherited, Rollup.period_s == 86400)
        )
        == 400
    )
    assert (
        db.scalar(select(func.count()).where(Rollup.datastream_id == own, Rollup.period_s == 300))
        == 60
    )

    with time_machine.travel(NOW, tick=False):
        again = tasks.purge(app.state.sessionmaker)
    assert (again.observations, again.rollups) == (0, 0)


def _set_seen(
    db: Session, device_id: int, seen: dt.datetime | None, status: str = "active"
) -> None:
    db.execute(
        update(Device).where(Device.id == device_id).values(last_seen_at=seen, status=status)
    )


def test_offline_after_three_silent_intervals(app: FastAPI, db: Session, world: World) -> None:
    # The noise profile expects a reading every 60 s.
    online, _ = add_device(db, world.places["c1-b1"], uid="n-online")
    edge, _ = add_device(db, world.places["c1-b1"], uid="n-edge")
    offline, _ = add_device(db, world.places["c1-b1"], uid="n-offline")
    never, _ = add_device(db, world.places["c1-b1"], uid="n-never")
    disabled, _ = add_device(db, world.places["c2-b1"], uid="n-disabled")
    _set_seen(db, online, NOW - dt.timedelta(seconds=30))
    _set_seen(db, edge, NOW - dt.timedelta(seconds=180))
    _set_seen(db, offline, NOW - dt.timedelta(seconds=181))
    _set_seen(db, disabled, NOW - dt.timedelta(seconds=1), status="disabled")
    db.commit()

    with time_machine.travel(NOW, tick=False):
        states = {s.row.id: s.state for s in series_service.device_statuses(db, None)}
        sweep = tasks.StatusSweep()
        counts = sweep.run(app.state.sessionmaker)
    assert states == {
        online: "online",
        edge: "online",
        offline: "offline",
        never: "never",
        disabled: "disabled",
    }
    assert counts == {"online": 2, "offline": 1, "never": 1, "disabled": 1}
    assert sweep.offline == {offline}
    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        later = sweep.run(app.state.sessionmaker)
    assert later["offline"] == 3
    assert sweep.offline == {online, edge, offline}
