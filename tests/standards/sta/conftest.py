"""Devices and observations for the SensorThings tests: c1 has a public noise monitor and a
private air-quality station, c2 a private noise monitor; each stream has readings."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.telemetry import writer
from tests.conftest import World

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
MINUTE = 60_000


@dataclass
class StaWorld:
    """Ids of the seeded devices and streams."""

    devices: dict[str, int] = field(default_factory=dict)
    streams: dict[str, int] = field(default_factory=dict)
    profiles: dict[str, int] = field(default_factory=dict)
    properties: dict[str, int] = field(default_factory=dict)


def _streams(db: Session, device_id: int) -> dict[str, int]:
    ref = device_service.ref_by_uid(db, device_service.get_record(db, device_id).uid)
    assert ref is not None
    return {key: s.id for key, s in ref.streams.items()}


@pytest.fixture
def sta(app: FastAPI, world: World) -> StaWorld:
    """Seed devices with readings (numeric and text) in the test database."""
    sw = StaWorld()
    maker = app.state.sessionmaker
    with maker() as db:
        device_service.ensure_catalog(db)
        specs = {
            "noise-pub": ("noise", "c1-compound", 39.9042, 116.4074, True),
            "air-priv": ("air_quality", "c1-b1", 39.9100, 116.4200, False),
            "noise-c2": ("noise", "c2-compound", 31.2304, 121.4737, False),
            "gauge-nowhere": ("water_level", "c1-compound", None, None, True),
        }
        for uid, (profile, place, lat, lon, public) in specs.items():
            device, _token = device_service.create_device(
                db,
                None,
                DeviceCreate(
                    uid=uid,
                    name=f"Device {uid}",
                    place_id=world.places[place],
                    profile=profile,
                    latitude=lat,
                    longitude=lon,
                    is_public=public,
                ),
            )
            sw.devices[uid] = device.id
        db.commit()
        for uid, device_id in sw.devices.items():
            for key, stream_id in _streams(db, device_id).items():
                sw.streams[f"{uid}/{key}"] = stream_id
        from sqlalchemy import text

        sw.profiles = {
            code: int(i) for i, code in db.execute(text("SELECT id, code FROM device_profiles"))
        }
        sw.properties = {
            key: int(i) for i, key in db.execute(text("SELECT id, key FROM observed_properties"))
        }
    batches = []
    for name in ("noise-pub/noise", "noise-c2/noise", "air-priv/pm25"):
        rows: list[writer.Row] = [
            (sw.streams[name], T0 + i * MINUTE, 40.0 + i, None) for i in range(10)
        ]
        batches.append(writer.Batch(rows=rows, device_id=sw.devices[name.split("/")[0]]))
    gauge = sw.streams["gauge-nowhere/water_level"]
    batches.append(
        writer.Batch(
            rows=[(gauge, T0, None, "dry"), (gauge, T0 + MINUTE, 12.5, None)],
            device_id=sw.devices["gauge-nowhere"],
        )
    )
    writer.write(app.state.engine, batches)
    return sw
