"""Alarm tests: a device in each community, a rule, and alarms raised as the rule engine does."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session

from linli.alarm import service as alarm_service
from linli.alarm.service import SignalItem
from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.place import service as place_service
from linli.rule.models import Rule
from tests.conftest import World

_sources = itertools.count(1)


@dataclass
class Setup:
    """The devices and the rule alarms are raised from."""

    world: World
    rule_id: int
    devices: dict[str, int] = field(default_factory=dict)


def make_setup(db: Session, world: World) -> Setup:
    """A smoke detector with a position in c1, one without in c1, a noise monitor in c2."""
    device_service.ensure_catalog(db)
    devices: dict[str, int] = {}
    for uid, place, profile, lat, lon in (
        ("SMK-1", "c1-b1", "noise", 31.2304, 121.4737),
        ("SMK-2", "c1-b1u1", "noise", None, None),
        ("NZ-2", "c2", "noise", 31.2404, 121.4837),
    ):
        device, _token = device_service.create_device(
            db,
            None,
            DeviceCreate(
                uid=uid,
                name=f"{uid} 探测器",
                place_id=world.places[place],
                profile=profile,
                latitude=lat,
                longitude=lon,
            ),
        )
        devices[uid] = device.id
    rule = Rule(
        name="噪声过高",
        kind="threshold",
        place_id=world.places["district"],
        property_key="noise",
        params={"above": 70},
        severity="critical",
        enabled=False,
    )
    db.add(rule)
    db.commit()
    return Setup(world, rule.id, devices)


@pytest.fixture
def setup(db: Session, world: World) -> Setup:
    return make_setup(db, world)


def raise_alarm(
    db: Session,
    setup: Setup,
    place: str,
    *,
    severity: str = "critical",
    device: str | None = None,
    title: str = "噪声过高",
    value: float | None = 81.5,
    kind: str = "raise",
    source: str | None = None,
    ts_ms: int = 1_760_000_000_000,
    details: dict[str, Any] | None = None,
    commit: bool = True,
) -> int:
    """Raise (or update, clear) an alarm through the service, as the live engine does."""
    place_id = setup.world.places[place]
    item = SignalItem(
        rule_id=setup.rule_id,
        rule_name="噪声过高",
        severity=severity,
        source=source or f"ds:{next(_sources)}",
        place_id=place_id,
        place_path=place_service.get(db, place_id).path,
        device_id=setup.devices[device] if device else None,
        datastream_id=None,
        title=title,
        kind=kind,
        started_ms=ts_ms,
        ts_ms=ts_ms,
        value=value,
        details=details or {},
    )
    touched = alarm_service.apply(db, [item])
    if commit:
        db.commit()
    return touched[0].id if touched else 0
