"""SensorThings creates: Observations (through the ingestion writer) and Things with Datastreams."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.time import utc_now
from linli.core.validation import MAX_ID
from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.standards.sta import tables
from linli.standards.sta.filter import tokenize
from linli.standards.sta.model import MAX_TS_MS
from linli.telemetry import writer

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_TEXT = 255


def _ref_id(value: object, what: str) -> int:
    """The id in ``{"@iot.id": n}`` (or a bare n)."""
    if isinstance(value, dict):
        value = value.get("@iot.id")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValidationFailed(f'{what} must be given as {{"@iot.id": <number>}}')
    return value


def _time_ms(value: object) -> int:
    """An ISO 8601 instant (or the start of an interval ``a/b``) as epoch ms."""
    if not isinstance(value, str):
        raise ValidationFailed("phenomenonTime must be an ISO 8601 date and time")
    text = value.split("/")[0].strip()
    try:
        tokens = tokenize(text)
    except Exception:
        tokens = []
    if len(tokens) != 2 or not isinstance(tokens[0].value, dt.datetime):
        raise ValidationFailed(f"phenomenonTime {value!r} is not an ISO 8601 date and time")
    ms = (tokens[0].value - EPOCH) // dt.timedelta(milliseconds=1)
    if abs(ms) > MAX_TS_MS:
        raise ValidationFailed("phenomenonTime is out of range")
    return int(ms)


def observation_datastream(body: dict[str, Any], path_datastream: int | None) -> int:
    """The datastream an Observation body names (or the one of its URL)."""
    if path_datastream is not None:
        return path_datastream
    if "Datastream" in body:
        return _ref_id(body["Datastream"], "Datastream")
    if "Datastream@iot.id" in body:
        return _ref_id(body["Datastream@iot.id"], "Datastream@iot.id")
    raise ValidationFailed('an Observation needs its Datastream: {"Datastream": {"@iot.id": n}}')


def create_observation(
    db: Session, actor: Actor, body: dict[str, Any], *, datastream_id: int
) -> tuple[int, int]:
    """Store one Observation through the ingestion writer; returns its (datastream, ms) key."""
    found = db.execute(
        select(tables.Datastream, tables.ObservedProperty)
        .join(tables.ObservedProperty, tables.ObservedProperty.id == tables.Datastream.property_id)
        .where(tables.Datastream.id == datastream_id)
    ).first()
    if found is None:
        raise NotFound("no such Datastream")
    stream, prop = found
    device = device_service.get_record(db, stream.device_id)
    if not device_service.may_manage(db, actor, device):
        raise PermissionDenied("you cannot write observations of this device")
    if "result" not in body:
        raise ValidationFailed("an Observation needs a result")
    result = body["result"]
    value: float | None = None
    text: str | None = None
    if isinstance(result, bool):
        text = "true" if result else "false"
    elif isinstance(result, int | float):
        value = float(result)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationFailed("result must be a finite number")
        low, high = prop.min_value, prop.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValidationFailed(f"result {value} is outside the plausible range of {prop.name}")
    elif isinstance(result, str):
        if len(result) > MAX_TEXT or "\x00" in result:
            raise ValidationFailed(f"a text result has at most {MAX_TEXT} characters, no NUL")
        text = result
    else:
        raise ValidationFailed("result must be a number, a string or true/false")
    when = body.get("phenomenonTime")
    ts = _time_ms(when) if when is not None else (utc_now() - EPOCH) // dt.timedelta(milliseconds=1)
    device_id = device.id
    engine = db.get_bind()
    db.rollback()  # no transaction of ours may hold SQLite's write lock while the writer commits
    batch = writer.Batch(rows=[(datastream_id, int(ts), value, text)], device_id=device_id)
    stored = writer.write(engine, [batch])[0]  # type: ignore[arg-type]  # the bind is an Engine
    if stored.inserted == 0:
        raise Conflict("this Datastream already has an Observation at that phenomenonTime")
    return datastream_id, int(ts)


def create_thing(db: Session, actor: Actor, body: dict[str, Any]) -> int:
    """Register a device from a Thing with its Location and Datastreams (deep insert)."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("a Thing needs a name")
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise ValidationFailed("properties must be an object")
    place = props.get("place", props.get("place_id"))
    if place is None:
        raise ValidationFailed("properties.place (the id of the place of the device) is required")
    place_id = _ref_id(place, "properties.place")
    lat, lon = _location(body.get("Locations"))
    streams = body.get("Datastreams") or []
    if not isinstance(streams, list):
        raise ValidationFailed("Datastreams must be a list")
    wanted: list[tuple[int, int, str | None]] = []
    for item in streams:
        if not isinstance(item, dict):
            raise ValidationFailed("each Datastream must be an object")
        sensor = _ref_id(item.get("Sensor"), "Datastream.Sensor")
        observed = _ref_id(item.get("ObservedProperty"), "Datastream.ObservedProperty")
        ds_name = item.get("name")
        wanted.append((sensor, observed, ds_name if isinstance(ds_name, str) else None))
    profile_code = props.get("profile")
    sensors = {s for s, _o, _n in wanted}
    if len(sensors) > 1:
        raise ValidationFailed("all Datastreams of a Thing come from one Sensor (device profile)")
    if sensors:
        profile = db.get(tables.DeviceProfile, sensors.pop())
        if profile is None:
            raise ValidationFailed("no such Sensor")
        profile_code = profile.code
    if not isinstance(profile_code, str):
        raise ValidationFailed("name the Sensor of the Datastreams, or properties.profile")
    try:
        data = DeviceCreate(
            uid=str(props.get("uid") or f"sta-{secrets.token_hex(6)}"),
            name=name.strip()[:200],
            place_id=place_id,
            profile=profile_code,
            latitude=lat,
            longitude=lon,
            is_public=bool(props.get("public", False)),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ValidationFailed(f"{where}: {first.get('msg', 'not valid')}") from None
    device, _token = device_service.create_device(db, actor, data)
    own = {
        s.property_id: s
        for s in db.scalars(
            select(tables.Datastream).where(tables.Datastream.device_id == device.id)
        )
    }
    for _sensor, observed, ds_name in wanted:
        stream = own.get(observed)
        if stream is None:
            raise ValidationFailed(
                f"the Sensor {profile_code} does not observe ObservedProperty {observed}"
            )
        if ds_name and ds_name.strip():
            stream.name = ds_name.strip()[:200]
    db.flush()
    return device.id


def _location(locations: object) -> tuple[float | None, float | None]:
    if locations in (None, []):
        return None, None
    if not isinstance(locations, list) or len(locations) != 1 or not isinstance(locations[0], dict):
        raise ValidationFailed("a Thing has at most one Location, given inline")
    geo = locations[0].get("location")
    if not isinstance(geo, dict) or geo.get("type") != "Point":
        raise ValidationFailed("a Location is a GeoJSON Point")
    coords = geo.get("coordinates")
    if (
        not isinstance(coords, list)
        or len(coords) < 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords[:2])
    ):
        raise ValidationFailed("a Point has [longitude, latitude] coordinates")
    lon, lat = float(coords[0]), float(coords[1])
    return lat, lon
