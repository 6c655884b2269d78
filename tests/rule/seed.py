"""Devices and readings for the rule console and API tests."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.core.actor import Actor
from linli.device import service as device_service
from tests.conftest import World
from tests.telemetry.seeding import add_device, add_readings

MIN = 60_000


def actor_of(db: Session, world: World, username: str = "admin1") -> Actor:
    """The actor of a test account, as the command line builds it."""
    account = account_service.get_account(db, world.accounts[username])
    return account_service.build_actor(db, account, via="cli")


def device(db: Session, world: World, *, uid: str, profile: str, place: str) -> dict[str, int]:
    """A device at a test place; its datastream ids by property key."""
    device_id, _streams = add_device(db, world.places[place], uid=uid, profile=profile)
    db.commit()
    return {
        s.property_key: s.datastream_id
        for s in device_service.stream_infos(db)
        if s.device_id == device_id
    }


def recent(
    values: list[float], *, step_min: int = 10, hours_ago: int = 24
) -> list[tuple[int, float]]:
    """Readings ``step_min`` apart, starting ``hours_ago`` hours before now (whole minutes)."""
    start = (int(time.time() * 1000) // MIN - hours_ago * 60) * MIN
    return [(start + i * step_min * MIN, v) for i, v in enumerate(values)]


# PM2.5 that stays above 75 for an hour, then falls back: one alarm for pm25_high.
PM25_EPISODE = [50.0] * 6 + [100.0] * 6 + [40.0] * 6


def store(db: Session, stream_id: int, readings: list[tuple[int, float]]) -> None:
    """Store readings (and their rollups) and commit."""
    add_readings(db, stream_id, readings)
    db.commit()
