"""Queries of the device registry."""

from __future__ import annotations

from sqlalchemy import bindparam, select
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
