"""Shared set-up for waste tests: a smart bin device and bins in c1, a bin in c2, cards, a truck."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.points import service as points_service
from linli.waste import service as waste_service
from linli.waste.schemas import CardCreate, ContainerCreate, TruckCreate
from tests.conftest import World

T0 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
NOW = T0 + dt.timedelta(hours=6)  # the tests' clock: the events above are from this morning
CARDS = {"h1": "CARD-H1-0001", "h2": "CARD-H2-0002", "h3": "CARD-H3-0003"}


@dataclass
class Site:
    device_id: int
    token: str
    bins: dict[str, int] = field(default_factory=dict)
    truck_id: int = 0


def make_site(db: Session, world: World) -> Site:
    """bin ``smart`` (a smart bin device) and ``far`` (1.1 km away) in c1, ``other`` in c2."""
    device_service.ensure_catalog(db)
    device, token = device_service.create_device(
        db,
        None,
        DeviceCreate(
            uid="t-bin-1",
            name="智能桶 1",
            place_id=world.places["c1-compound"],
            profile="smart_bin",
            latitude=31.2300,
            longitude=121.4450,
        ),
    )
    site = Site(device_id=device.id, token=token)
    specs = {
        "smart": ("c1-compound", 31.2300, 121.4450, "food", device.id),
        "near": ("c1-compound", 31.2303, 121.4452, "residual", None),
        "far": ("c1-b1", 31.2400, 121.4450, "recyclable", None),
        "other": ("c2-compound", 31.2500, 121.4600, "residual", None),
    }
    for key, (place, lat, lon, category, device_id) in specs.items():
        site.bins[key] = waste_service.create_container(
            db,
            None,
            ContainerCreate(
                place_id=world.places[place],
                code=key.upper(),
                name=f"{key} bin",
                latitude=lat,
                longitude=lon,
                category=category,
                capacity_l=240,
                max_load_kg=100,
                max_disposal_kg=20,
                device_id=device_id,
            ),
        ).id
    for hh, card in CARDS.items():
        waste_service.register_card(
            db, None, CardCreate(household_id=world.households[hh], card=card)
        )
    site.truck_id = waste_service.create_truck(
        db,
        None,
        TruckCreate(
            community_id=world.places["c1"],
            name="truck",
            capacity_kg=500,
            capacity_l=2000,
            depot_latitude=31.2280,
            depot_longitude=121.4440,
            shift_start_min=360,
            shift_end_min=600,
        ),
    ).id
    db.commit()
    return site


def event(
    event_id: str,
    hh: str,
    minutes: int,
    *,
    weight: float = 1.5,
    bin_id: int | None = None,
    grade: str | None = None,
) -> dict[str, object]:
    item: dict[str, object] = {
        "event_id": event_id,
        "card": CARDS[hh],
        "weight_kg": weight,
        "occurred_at": (T0 + dt.timedelta(minutes=minutes)).isoformat(),
    }
    if bin_id is not None:
        item["bin_id"] = bin_id
    if grade is not None:
        item["grade"] = {"result": grade, "reason": "" if grade == "correct" else "mixed"}
    return item


def balances(db: Session, world: World) -> dict[str, int]:
    db.expire_all()
    return {
        hh: points_service.balance_of_household(db, hid) for hh, hid in world.households.items()
    }


def count(db: Session, table: str) -> int:
    db.expire_all()
    return int(db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
