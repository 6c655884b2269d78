"""Device tests: the built-in catalogue in the test database, and a device in each community."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from tests.conftest import World


@dataclass
class Devices:
    """Ids and tokens of the devices registered for a test."""

    ids: dict[str, int]
    tokens: dict[str, str]


@pytest.fixture
def devices(db: Session, world: World) -> Devices:
    """The catalogue, plus an air station in c1 and a noise monitor in c2."""
    device_service.ensure_catalog(db)
    ids: dict[str, int] = {}
    tokens: dict[str, str] = {}
    for uid, place, profile in (("AQ-1", "c1-compound", "air_quality"), ("NZ-2", "c2", "noise")):
        device, token = device_service.create_device(
            db,
            None,
            DeviceCreate(
                uid=uid, name=f"{uid} station", place_id=world.places[place], profile=profile
            ),
        )
        ids[uid] = device.id
        tokens[uid] = token
    db.commit()
    return Devices(ids, tokens)
