"""Every query of the environment domain."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.environment.models import PlaceSetting, WaterMonitor


def place_settings(db: Session, place_ids: list[int]) -> dict[int, PlaceSetting]:
    """The settings of these places that have any, by place id."""
    if not place_ids:
        return {}
    rows = db.scalars(select(PlaceSetting).where(PlaceSetting.place_id.in_(place_ids)))
    return {row.place_id: row for row in rows}


def place_setting(db: Session, place_id: int) -> PlaceSetting | None:
    """The settings of one place, if it has any."""
    return db.scalar(select(PlaceSetting).where(PlaceSetting.place_id == place_id))


def add(db: Session, row: PlaceSetting | WaterMonitor) -> None:
    """Stage a new row and give it its id."""
    db.add(row)
    db.flush()


def water_monitors(db: Session, device_ids: list[int]) -> dict[int, WaterMonitor]:
    """The water body settings of these devices, by device id."""
    if not device_ids:
        return {}
    rows = db.scalars(select(WaterMonitor).where(WaterMonitor.device_id.in_(device_ids)))
    return {row.device_id: row for row in rows}
