"""Use cases of the device registry, and the look-ups ingestion keeps in memory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.core.crypto import new_token, sha256_hex
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.device import catalog, permissions, repository
from linli.device.models import Datastream, Device, DeviceProfile, ObservedProperty
from linli.device.schemas import DeviceCreate
from linli.place import service as place_service

DEVICE_TOKEN_PREFIX = "dt_"  # noqa: S105 - a marker, not a secret


@dataclass(frozen=True, slots=True)
class StreamRef:
    """What ingestion needs to know of a datastream."""

    id: int
    key: str
    min_value: float | None
    max_value: float | None


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What ingestion needs to know of a device (kept in memory, refreshed on change)."""

    id: int
    uid: str
    active: bool
    adapter: str
    place_id: int
    streams: dict[str, StreamRef]


def ensure_catalog(db: Session) -> None:
    """Create the built-in observed properties and device profiles that are missing."""
    known = {p.key: p for p in db.scalars(select(ObservedProperty))}
    for key, (name, name_zh, ucum, display, low, high) in catalog.PROPERTIES.items():
        if key not in known:
            db.add(
                ObservedProperty(
                    key=key,
                    name=name,
                    name_zh=name_zh,
                    unit_ucum=ucum,
                    unit_display=display,
                    min_value=low,
                    max_value=high,
                    definition=f"urn:linli:property:{key}",
                )
            )
    codes = {p.code for p in db.scalars(select(DeviceProfile))}
    for code, (name, name_zh, adapter, props, interval, retention) in catalog.PROFILES.items():
        if code not in codes:
            db.add(
                DeviceProfile(
                    code=code,
                    name=name,
                    name_zh=name_zh,
                    adapter=adapter,
                    properties=list(props),
                    expected_interval_s=interval,
                    retention_days=retention,
                )
            )
    db.flush()


def token_digest(token: str) -> str:
    """The digest under which a device token is stored."""
    return sha256_hex(token)


def create_device(db: Session, actor: Actor | None, data: DeviceCreate) -> tuple[Device, str]:
    """Register a device with a datastream per profile property; the token is returned once."""
    place = place_service.get(db, data.place_id)
    if actor is not None and not permissions.can_manage(actor, place.path):
        raise PermissionDenied("you cannot register devices here")
    profile = repository.profile_by_code(db, data.profile)
    if profile is None:
        raise ValidationFailed(f"unknown device profile {data.profile}")
    if repository.by_uid(db, data.uid) is not None:
        raise Conflict(f"a device with uid {data.uid} already exists")
    token = DEVICE_TOKEN_PREFIX + new_token(24)
    device = Device(
        uid=data.uid,
        name=data.name,
        place_id=place.id,
        profile_id=profile.id,
        latitude=data.latitude,
        longitude=data.longitude,
        firmware=data.firmware,
        is_public=data.is_public,
        token_hash=sha256_hex(token),
    )
    db.add(device)
    db.flush()
    for key in profile.properties:
        prop = repository.property_by_key(db, key)
        if prop is None:
            raise ValidationFailed(f"profile {profile.code} names an unknown property {key}")
        db.add(
            Datastream(
                device_id=device.id,
                property_id=prop.id,
                name=f"{data.name} · {prop.name}",
                unit_ucum=prop.unit_ucum,
                unit_display=prop.unit_display,
            )
        )
    db.flush()
    return device, token


def get_record(db: Session, device_id: int) -> Device:
    device = repository.get(db, device_id)
    if device is None:
        raise NotFound("no such device")
    return device


def _ref(db: Session, device: Device) -> DeviceRef:
    profile = db.get(DeviceProfile, device.profile_id)
    assert profile is not None
    rows = db.execute(
        select(
            Datastream.id,
            ObservedProperty.key,
            ObservedProperty.min_value,
            ObservedProperty.max_value,
        )
        .join(ObservedProperty, ObservedProperty.id == Datastream.property_id)
        .where(Datastream.device_id == device.id)
    ).all()
    streams = {key: StreamRef(id=i, key=key, min_value=lo, max_value=hi) for i, key, lo, hi in rows}
    return DeviceRef(
        id=device.id,
        uid=device.uid,
        active=device.status == "active",
        adapter=profile.adapter,
        place_id=device.place_id,
        streams=streams,
    )


def ref_by_token(db: Session, token: str) -> DeviceRef | None:
    """The device a token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    device = repository.by_token_hash(db, sha256_hex(token))
    return _ref(db, device) if device is not None else None


def ref_by_uid(db: Session, uid: str) -> DeviceRef | None:
    """The device with this uid (MQTT topics carry the uid), or None."""
    device = repository.by_uid(db, uid)
    return _ref(db, device) if device is not None else None
