"""Use cases of the device registry, and the look-ups ingestion keeps in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.core.crypto import new_token, sha256_hex
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.pagination import PageParams
from linli.core.time import utc_now
from linli.device import acl, catalog, permissions, repository
from linli.device.models import Datastream, Device, DeviceProfile, ObservedProperty
from linli.device.schemas import (
    Connection,
    DatastreamView,
    DeviceCreate,
    DeviceIssued,
    DeviceSummary,
    ProfileRead,
)
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


def new_device_token() -> str:
    """A fresh device token (192 random bits); shown once, stored as digests only."""
    return DEVICE_TOKEN_PREFIX + new_token(24)


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
    token = new_device_token()
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
        mqtt_password_hash=acl.mosquitto_hash(token),
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
    """A device by id without a visibility check (for trusted callers: ingestion, tasks)."""
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


# --- reads for the telemetry store (charts, export, retention, device status) ---------------


@dataclass(frozen=True, slots=True)
class StreamView:
    """A datastream someone may read, with what a chart needs to label it."""

    id: int
    name: str
    unit_display: str
    unit_ucum: str
    device_id: int
    device_uid: str
    device_name: str
    first_at_ms: int | None
    last_at_ms: int | None
    last_value: float | None


@dataclass(frozen=True, slots=True)
class DeviceStatusRow:
    """What a status view needs of a device: where it is, when it last reported, how often."""

    id: int
    uid: str
    name: str
    place_id: int
    latitude: float | None
    longitude: float | None
    enabled: bool
    last_seen_at: dt.datetime | None
    expected_interval_s: int


def readable_stream(db: Session, actor: Actor, datastream_id: int) -> StreamView:
    """A datastream the actor may read; 403 without a device role, 404 outside their places."""
    if not actor.roles & permissions.DEVICE_VIEW_ROLES:
        raise PermissionDenied("your role cannot see device readings")
    found = repository.stream_with_device(db, datastream_id)
    if found is None:
        raise NotFound("no such datastream")
    stream, device = found
    if not permissions.can_view(actor, place_service.get(db, device.place_id).path):
        raise NotFound("no such datastream")
    return StreamView(
        id=stream.id,
        name=stream.name,
        unit_display=stream.unit_display,
        unit_ucum=stream.unit_ucum,
        device_id=device.id,
        device_uid=device.uid,
        device_name=device.name,
        first_at_ms=stream.first_at_ms,
        last_at_ms=stream.last_at_ms,
        last_value=stream.last_value,
    )


def retention_by_stream(db: Session) -> list[tuple[int, int]]:
    """(datastream id, days to keep raw readings) for every datastream."""
    return repository.retention_by_stream(db)


def can_view_devices(actor: Actor) -> bool:
    """Whether the actor holds a role that sees devices somewhere."""
    return bool(actor.roles & permissions.DEVICE_VIEW_ROLES)


def status_rows(db: Session, actor: Actor | None) -> list[DeviceStatusRow]:
    """Devices the actor may see (all for ``None``, a trusted job) with their expected interval."""
    place_ids = None
    if actor is not None:
        place_ids = place_service.ids_under(actor.paths_for(permissions.DEVICE_VIEW_ROLES))
    return [
        DeviceStatusRow(
            id=d.id,
            uid=d.uid,
            name=d.name,
            place_id=d.place_id,
            latitude=d.latitude,
            longitude=d.longitude,
            enabled=d.status == "active",
            last_seen_at=d.last_seen_at,
            expected_interval_s=interval,
        )
        for d, interval in repository.devices_with_interval(db, place_ids)
    ]


def visible_device_ids(actor: Actor) -> Select[int]:
    """A subquery of the ids of the devices the actor may see."""
    paths = actor.paths_for(permissions.DEVICE_VIEW_ROLES)
    return repository.device_ids_in(place_service.ids_under(paths))


def visible_clause(actor: Actor, device: type[Device] = Device) -> ColumnElement[bool]:
    """SQL condition on devices (the class or an alias) that ``actor`` may read."""
    return permissions.visible(actor, device)


def may_manage(db: Session, actor: Actor, device: Device) -> bool:
    """Whether ``actor`` may change ``device`` or write readings for it."""
    return permissions.can_manage(actor, place_service.get(db, device.place_id).path)


# --- the registry as staff see it -------------------------------------------------------------

# A device is online while its newest reading is younger than this many expected intervals.
ONLINE_INTERVALS = 3
# Called with a device id after its token or status changed (ingestion drops cached refs).
CHANGE_LISTENERS: list[Callable[[int], None]] = []


def _changed(device_id: int) -> None:
    for listener in CHANGE_LISTENERS:
        listener(device_id)


def connection_of(
    device: Device, profile: DeviceProfile, last_ms: int | None, now: dt.datetime
) -> Connection:
    """online, offline or disabled, from the newest reading and the expected interval."""
    if device.status != "active":
        return "disabled"
    if last_ms is None:
        return "offline"
    silent_s = now.timestamp() - last_ms / 1000
    return "online" if silent_s <= ONLINE_INTERVALS * profile.expected_interval_s else "offline"


def _last_ms(device: Device, stream_ms: int | None) -> int | None:
    seen = int(device.last_seen_at.timestamp() * 1000) if device.last_seen_at else None
    candidates = [ms for ms in (seen, stream_ms) if ms is not None]
    return max(candidates) if candidates else None


def _from_ms(ms: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC) if ms is not None else None


def summaries(db: Session, devices: list[Device]) -> list[DeviceSummary]:
    """Devices with their place, profile, connection status and last reading time."""
    ids = [d.id for d in devices]
    profiles = repository.profiles_by_id(db, sorted({d.profile_id for d in devices}))
    last = repository.last_reading_ms(db, ids)
    places = place_service.by_ids(db, sorted({d.place_id for d in devices}))
    labels: dict[int, str] = {}
    now = utc_now()
    out: list[DeviceSummary] = []
    for device in devices:
        profile = profiles[device.profile_id]
        if device.place_id not in labels:
            place = places.get(device.place_id)
            labels[device.place_id] = (
                place_service.label(db, place, from_kind="community") if place else ""
            )
        last_ms = _last_ms(device, last.get(device.id))
        out.append(
            DeviceSummary.model_validate(
                {
                    **{k: getattr(device, k) for k in _READ_FIELDS},
                    "place_label": labels[device.place_id],
                    "profile": profile.code,
                    "profile_name": profile.name,
                    "profile_name_zh": profile.name_zh,
                    "connection": connection_of(device, profile, last_ms, now),
                    "last_reading_at": _from_ms(last_ms),
                }
            )
        )
    return out


_READ_FIELDS = (
    "id",
    "uid",
    "name",
    "place_id",
    "profile_id",
    "latitude",
    "longitude",
    "status",
    "firmware",
    "battery",
    "is_public",
    "last_seen_at",
)


def list_devices(
    db: Session,
    actor: Actor,
    *,
    params: PageParams,
    place_id: int | None = None,
    profile: str | None = None,
    connection: Connection | None = None,
) -> tuple[list[DeviceSummary], int]:
    """A page of the devices the actor may see, optionally of one place subtree or profile."""
    if not permissions.may_view_any(actor):
        raise PermissionDenied("your role cannot see devices")
    stmt = permissions.visible_devices(actor)
    if place_id is not None:
        place = place_service.get(db, place_id)
        stmt = stmt.where(Device.place_id.in_(place_service.ids_under([place.path])))
    if profile:
        found = repository.profile_by_code(db, profile)
        if found is None:
            raise ValidationFailed("unknown device profile")
        stmt = stmt.where(Device.profile_id == found.id)
    if connection is None:
        devices, total = repository.page(db, stmt, offset=params.offset, limit=params.size)
        return summaries(db, devices), total
    # Connection status depends on time and readings: filter after summarising.
    if connection == "disabled":
        stmt = stmt.where(Device.status != "active")
    else:
        stmt = stmt.where(Device.status == "active")
    devices, _total = repository.page(db, stmt, offset=0, limit=100_000)
    matching = [s for s in summaries(db, devices) if s.connection == connection]
    return matching[params.offset : params.offset + params.size], len(matching)


def _visible(db: Session, actor: Actor, device_id: int) -> tuple[Device, str]:
    device = repository.get(db, device_id)
    if device is None:
        raise NotFound("no such device")
    place = place_service.get(db, device.place_id)
    if not permissions.can_view(actor, place.path):
        raise NotFound("no such device")
    return device, place.path


def get_device(db: Session, actor: Actor, device_id: int) -> DeviceSummary:
    """One device the actor may see (404 otherwise, so its existence is not revealed)."""
    device, _path = _visible(db, actor, device_id)
    return summaries(db, [device])[0]


def _manageable(db: Session, actor: Actor, device_id: int) -> Device:
    device, path = _visible(db, actor, device_id)
    if not permissions.can_manage(actor, path):
        raise PermissionDenied("your role cannot change devices here")
    return device


def register(db: Session, actor: Actor, data: DeviceCreate) -> DeviceIssued:
    """Register a device for the actor; the answer carries its token, shown only this once."""
    if not permissions.may_manage_any(actor):
        raise PermissionDenied("your role cannot register devices")
    device, token = create_device(db, actor, data)
    return DeviceIssued(**summaries(db, [device])[0].model_dump(), token=token)


def set_enabled(db: Session, actor: Actor, device_id: int, *, enabled: bool) -> DeviceSummary:
    """Disable a device (its readings are refused) or enable it again."""
    device = _manageable(db, actor, device_id)
    device.status = "active" if enabled else "disabled"
    db.flush()
    _changed(device.id)
    return summaries(db, [device])[0]


def rotate_token(db: Session, actor: Actor, device_id: int) -> DeviceIssued:
    """Issue a new token for a device; the old one stops working at once."""
    device = _manageable(db, actor, device_id)
    token = reissue_token(db, device.id)
    return DeviceIssued(**summaries(db, [device])[0].model_dump(), token=token)


def datastreams(db: Session, actor: Actor, device_id: int) -> list[DatastreamView]:
    """The datastreams of a device the actor may see, with their latest values."""
    device, _path = _visible(db, actor, device_id)
    return [
        DatastreamView(
            id=ds.id,
            device_id=ds.device_id,
            key=prop.key,
            name=ds.name,
            property_name=prop.name,
            property_name_zh=prop.name_zh,
            unit_ucum=ds.unit_ucum,
            unit_display=ds.unit_display,
            last_value=ds.last_value,
            last_at_ms=ds.last_at_ms,
            last_at=_from_ms(ds.last_at_ms),
        )
        for ds, prop in repository.streams_with_properties(db, device.id)
    ]


def profiles(db: Session, actor: Actor | None = None) -> list[ProfileRead]:
    """Every device profile (kinds of device), by code; ``actor`` must be able to see devices."""
    if actor is not None and not permissions.may_view_any(actor):
        raise PermissionDenied("your role cannot see devices")
    return [ProfileRead.model_validate(p) for p in repository.profiles(db)]


def manageable_place_paths(actor: Actor) -> list[str]:
    """Where the actor may register devices (place path prefixes)."""
    return actor.paths_for(permissions.DEVICE_ADMIN_ROLES)


def viewable_place_paths(actor: Actor) -> list[str]:
    """Where the actor may see devices (place path prefixes)."""
    return actor.paths_for(permissions.DEVICE_VIEW_ROLES)


def may_view_devices(actor: Actor) -> bool:
    """Whether the actor gets the device pages at all."""
    return permissions.may_view_any(actor)


def may_register_devices(actor: Actor) -> bool:
    """Whether the actor may register devices anywhere."""
    return permissions.may_manage_any(actor)


def existing_uids(db: Session, uids: list[str]) -> set[str]:
    """Which of ``uids`` are already registered."""
    return repository.by_uids(db, uids)


def mqtt_password_entries(db: Session) -> list[tuple[str, str]]:
    """(uid, Mosquitto hash) of each active device that can connect over MQTT."""
    return repository.mqtt_entries(db)


def may_manage_place(actor: Actor, place_path: str) -> bool:
    """Whether the actor may register devices at the place with this path."""
    return permissions.can_manage(actor, place_path)


def may_manage_device(db: Session, actor: Actor, device_id: int) -> bool:
    """Whether the actor may disable, enable or re-key this device."""
    device = repository.get(db, device_id)
    if device is None:
        return False
    return permissions.can_manage(actor, place_service.get(db, device.place_id).path)


def reissue_token(db: Session, device_id: int) -> str:
    """A new token for a device, for trusted callers (demo seed, CLI); returns it once."""
    device = get_record(db, device_id)
    token = new_device_token()
    device.token_hash = sha256_hex(token)
    device.mqtt_password_hash = acl.mosquitto_hash(token)
    db.flush()
    _changed(device.id)
    return token


# --- what the rule engine watches -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """A datastream with what rules match on: its property, profile and place."""

    datastream_id: int
    device_id: int
    device_uid: str
    device_name: str
    active: bool
    place_id: int
    place_path: str
    # Ids of the device's place and its ancestors by kind (building, compound ...).
    place_kinds: dict[str, int]
    profile_code: str
    property_key: str
    interval_s: int
    last_at_ms: int | None


def stream_infos(db: Session) -> list[StreamInfo]:
    """Every datastream with its device, profile, property and place (for the rule engine)."""
    rows = db.execute(
        select(
            Datastream.id,
            Device.id,
            Device.uid,
            Device.name,
            Device.status,
            Device.place_id,
            DeviceProfile.code,
            DeviceProfile.expected_interval_s,
            ObservedProperty.key,
            Datastream.last_at_ms,
        )
        .join(Device, Device.id == Datastream.device_id)
        .join(DeviceProfile, DeviceProfile.id == Device.profile_id)
        .join(ObservedProperty, ObservedProperty.id == Datastream.property_id)
        .order_by(Datastream.id)
    ).all()
    place_ids = {r[5] for r in rows}
    places = place_service.by_ids(db, sorted(place_ids))
    chain_ids: set[int] = set()
    for place in places.values():
        chain_ids.update(int(p) for p in place.path.strip("/").split("/") if p)
    chain = place_service.by_ids(db, sorted(chain_ids))
    kinds_of: dict[int, dict[str, int]] = {}
    for pid, place in places.items():
        kinds: dict[str, int] = {}
        for part in place.path.strip("/").split("/"):
            if part and int(part) in chain:
                kinds[chain[int(part)].kind] = int(part)
        kinds_of[pid] = kinds
    return [
        StreamInfo(
            datastream_id=sid,
            device_id=did,
            device_uid=uid,
            device_name=name,
            active=status == "active",
            place_id=pid,
            place_path=places[pid].path if pid in places else "/",
            place_kinds=kinds_of.get(pid, {}),
            profile_code=code,
            property_key=key,
            interval_s=interval,
            last_at_ms=last,
        )
        for sid, did, uid, name, status, pid, code, interval, key, last in rows
    ]


def property_keys(db: Session) -> set[str]:
    """Keys of every observed property in the catalogue."""
    return set(db.scalars(select(ObservedProperty.key)))


def profile_codes(db: Session) -> set[str]:
    """Codes of every device profile."""
    return set(db.scalars(select(DeviceProfile.code)))


def profile_interval(db: Session, code: str) -> int:
    """A profile's expected reporting interval in seconds (60 when there is no such profile)."""
    found = db.scalar(select(DeviceProfile.expected_interval_s).where(DeviceProfile.code == code))
    return int(found) if found is not None else 60


# --- for the rule console -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PropertyName:
    """An observed property as people read it."""

    key: str
    name: str
    name_zh: str
    unit_display: str


def property_names(db: Session) -> dict[str, PropertyName]:
    """Every observed property of the catalogue by key, with its names and unit."""
    rows = db.execute(
        select(
            ObservedProperty.key,
            ObservedProperty.name,
            ObservedProperty.name_zh,
            ObservedProperty.unit_display,
        ).order_by(ObservedProperty.key)
    ).all()
    return {key: PropertyName(key, name, name_zh, unit) for key, name, name_zh, unit in rows}


@dataclass(frozen=True, slots=True)
class StreamChoice:
    """A datastream a rule would watch, as a choice for a backtest."""

    datastream_id: int
    device_uid: str
    device_name: str
    place_id: int
    property_key: str
    last_at_ms: int | None
    # The device profile's reporting interval (missing-data rules need it).
    interval_s: int = 60


def streams_under(
    db: Session,
    actor: Actor,
    *,
    place_path: str,
    property_keys: list[str],
    profile_code: str = "",
    limit: int = 500,
) -> list[StreamChoice]:
    """Datastreams of these properties at or under a place that the actor may read."""
    if not property_keys or not actor.roles & permissions.DEVICE_VIEW_ROLES:
        return []
    stmt = (
        select(
            Datastream.id,
            Device.uid,
            Device.name,
            Device.place_id,
            ObservedProperty.key,
            Datastream.last_at_ms,
            DeviceProfile.expected_interval_s,
        )
        .join(Device, Device.id == Datastream.device_id)
        .join(ObservedProperty, ObservedProperty.id == Datastream.property_id)
        .join(DeviceProfile, DeviceProfile.id == Device.profile_id)
        .where(
            ObservedProperty.key.in_(property_keys),
            Device.place_id.in_(place_service.ids_under([place_path])),
            Device.place_id.in_(
                place_service.ids_under(actor.paths_for(permissions.DEVICE_VIEW_ROLES))
            ),
        )
        .order_by(Device.uid, Datastream.id)
        .limit(limit)
    )
    if profile_code:
        stmt = stmt.where(DeviceProfile.code == profile_code)
    return [StreamChoice(*row) for row in db.execute(stmt).all()]
