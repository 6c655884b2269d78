"""Queries of the device registry."""

from __future__ import annotations

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from linli.device.models import Datastream, Device, DeviceProfile, ObservedProperty

_BY_TOKEN_HASH = select(Device).where(Device.token_hash == bindparam("token_hash"))


def get(db: Session, device_id: int) -> Device | None:
    return db.get(Device, device_id)


def by_uid(db: Session, uid: str) -> Device | None:
    return db.scalars(select(Device).where(Device.uid == uid)).first()


def by_token_hash(db: Session, token_hash: str) -> Device | None:
    return db.scalars(_BY_TOKEN_HASH, {"token_hash": token_hash}).first()


def profile_by_code(db: Session, code: str) -> DeviceProfile | None:
    return db.scalars(select(DeviceProfile).where(DeviceProfile.code == code)).first()


def property_by_key(db: Session, key: str) -> ObservedProperty | None:
    return db.scalars(select(ObservedProperty).where(ObservedProperty.key == key)).first()


def datastreams_of(db: Session, device_id: int) -> list[Datastream]:
    stmt = select(Datastream).where(Datastream.device_id == device_id).order_by(Datastream.id)
    return list(db.scalars(stmt))


def stream_with_device(db: Session, datastream_id: int) -> tuple[Datastream, Device] | None:
    """A datastream and its device, or None."""
    stmt = (
        select(Datastream, Device)
        .join(Device, Device.id == Datastream.device_id)
        .where(Datastream.id == datastream_id)
    )
    row = db.execute(stmt).first()
    return (row[0], row[1]) if row is not None else None


def retention_by_stream(db: Session) -> list[tuple[int, int]]:
    """(datastream id, retention days): the datastream's own setting, else its profile's."""
    days = func.coalesce(Datastream.retention_days, DeviceProfile.retention_days)
    stmt = (
        select(Datastream.id, days)
        .join(Device, Device.id == Datastream.device_id)
        .join(DeviceProfile, DeviceProfile.id == Device.profile_id)
        .order_by(Datastream.id)
    )
    return [(int(i), int(d)) for i, d in db.execute(stmt)]


def devices_with_interval(db: Session, place_ids: Select[int] | None) -> list[tuple[Device, int]]:
    """Devices (of the places in ``place_ids``, or all) with their profile's expected interval."""
    stmt = select(Device, DeviceProfile.expected_interval_s).join(
        DeviceProfile, DeviceProfile.id == Device.profile_id
    )
    if place_ids is not None:
        stmt = stmt.where(Device.place_id.in_(place_ids))
    return [(d, int(s)) for d, s in db.execute(stmt.order_by(Device.name, Device.id))]


def device_ids_in(place_ids: Select[int]) -> Select[int]:
    """A subquery of the ids of the devices placed in ``place_ids``."""
    return select(Device.id).where(Device.place_id.in_(place_ids))


def profiles(db: Session) -> list[DeviceProfile]:
    return list(db.scalars(select(DeviceProfile).order_by(DeviceProfile.code)))


def profiles_by_id(db: Session, ids: list[int]) -> dict[int, DeviceProfile]:
    if not ids:
        return {}
    rows = db.scalars(select(DeviceProfile).where(DeviceProfile.id.in_(ids)))
    return {p.id: p for p in rows}


def last_reading_ms(db: Session, device_ids: list[int]) -> dict[int, int]:
    """The time of the newest reading of each device (over its datastreams), in epoch ms."""
    if not device_ids:
        return {}
    stmt = (
        select(Datastream.device_id, func.max(Datastream.last_at_ms))
        .where(Datastream.device_id.in_(device_ids))
        .group_by(Datastream.device_id)
    )
    return {device_id: ms for device_id, ms in db.execute(stmt) if ms is not None}


def page(db: Session, stmt: Select[Device], *, offset: int, limit: int) -> tuple[list[Device], int]:
    """One page of a device query (ordered by uid) and the total it pages through."""
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.scalars(stmt.order_by(Device.uid).offset(offset).limit(limit))
    return list(rows), total


def streams_with_properties(
    db: Session, device_id: int
) -> list[tuple[Datastream, ObservedProperty]]:
    stmt = (
        select(Datastream, ObservedProperty)
        .join(ObservedProperty, ObservedProperty.id == Datastream.property_id)
        .where(Datastream.device_id == device_id)
        .order_by(Datastream.id)
    )
    return [(ds, prop) for ds, prop in db.execute(stmt)]


def by_uids(db: Session, uids: list[str]) -> set[str]:
    if not uids:
        return set()
    return set(db.scalars(select(Device.uid).where(Device.uid.in_(uids))))


def mqtt_entries(db: Session) -> list[tuple[str, str]]:
    """(uid, Mosquitto hash) of every active device that has one."""
    stmt = (
        select(Device.uid, Device.mqtt_password_hash)
        .where(Device.status == "active", Device.mqtt_password_hash.is_not(None))
        .order_by(Device.uid)
    )
    return [(uid, hashed) for uid, hashed in db.execute(stmt) if hashed]
