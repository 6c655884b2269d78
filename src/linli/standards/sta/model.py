"""The eight SensorThings entity types as SQL sources over Linli's tables, with their links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Select,
    and_,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.orm import aliased, join

from linli.core.actor import Actor
from linli.core.errors import NotFound
from linli.core.validation import MAX_ID
from linli.device import service as device_service
from linli.standards.sta import tables

Row = Mapping[str, Any]
Expr = ColumnElement[Any]
# Table aliases are typed Any below: SQLAlchemy types their attributes as descriptors, not columns.

OM_MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
OM_OBSERVATION = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Observation"
GEOJSON = "application/geo+json"
UCUM = "http://unitsofmeasure.org/ucum.html#"
MAX_TS_MS = 2**62


@dataclass(frozen=True)
class Context:
    """What a request's queries depend on: who asks, the SQL dialect and the service root URL."""

    actor: Actor
    dialect: str
    root: str


@dataclass(frozen=True)
class Val:
    """A typed SQL value in a filter: ``kind`` says how it compares and what functions accept it.

    Kinds: num, str, bool, time (epoch ms), interval (start, end ms), geo (lat, lon),
    result (value, text), obsid (datastream id, ms), null. ``literal`` keeps a constant's value.
    """

    kind: str
    exprs: tuple[Expr, ...]
    literal: object = None
    is_literal: bool = False

    @property
    def expr(self) -> Expr:
        return self.exprs[0]


@dataclass
class Source:
    """One use of an entity set in a query: named columns over fresh table aliases."""

    cols: dict[str, Expr]
    froms: Any  # a join, or one aliased entity
    where: list[ColumnElement[bool]]
    props: dict[str, Val]
    order_key: list[Expr]

    def select(self) -> Select[Any]:
        labelled = [c.label(k) for k, c in self.cols.items()]
        return select(*labelled).select_from(self.froms).where(*self.where)


@dataclass(frozen=True)
class Nav:
    """A navigation property: the target set and the equality that links a parent to it."""

    name: str
    target: str
    many: bool
    parent_key: str
    child_key: str


@dataclass(frozen=True)
class EntityType:
    """An entity set: how to query it, render a row, and name a row."""

    plural: str
    singular: str
    source: Callable[[Context], Source]
    render: Callable[[Row, Context], dict[str, object]]
    navs: dict[str, Nav] = field(default_factory=dict)
    properties: tuple[str, ...] = ()
    observation_ids: bool = False

    def id_of(self, row: Row) -> int | str:
        if self.observation_ids:
            return f"{row['ds_id']}-{row['ts']}"
        return int(row["id"])

    def self_link(self, row: Row, ctx: Context) -> str:
        return f"{ctx.root}/{self.plural}({format_id(self.id_of(row))})"

    def id_condition(self, src: Source, raw: int | str) -> ColumnElement[bool]:
        """The condition selecting the entity with id ``raw``; unknown forms find nothing."""
        if self.observation_ids:
            ds_id, ts = parse_observation_id(raw)
            return and_(src.cols["ds_id"] == ds_id, src.cols["ts"] == ts)
        if isinstance(raw, str):
            if not raw.isdigit():
                raise NotFound(f"no {self.singular} with id {raw!r}")
            raw = int(raw)
        if not 1 <= raw <= MAX_ID:
            raise NotFound(f"no {self.singular} with id {raw}")
        return src.cols["id"] == raw


def format_id(value: int | str) -> str:
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


def parse_observation_id(raw: int | str) -> tuple[int, int]:
    """``'<datastream id>-<epoch ms>'`` as its two numbers; anything else names nothing."""
    text = str(raw)
    head, sep, tail = text.partition("-")
    if not sep or not head.isdigit() or not tail.lstrip("-").isdigit():
        raise NotFound(f"no Observation with id {text!r}; ids look like '3-1700000000000'")
    ds_id, ts = int(head), int(tail)
    if not 1 <= ds_id <= MAX_ID or abs(ts) > MAX_TS_MS:
        raise NotFound(f"no Observation with id {text!r}")
    return ds_id, ts


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC with a ``Z``."""
    if ms is None:
        return None
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_dt(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def datetime_ms(column: Expr, dialect: str) -> Expr:
    """A UTC timestamp column as epoch milliseconds, in SQL."""
    if dialect == "sqlite":
        days = func.julianday(column) - 2440587.5
        return cast(func.round(days * 86400000), BigInteger)
    return cast(func.round(func.extract("epoch", column) * 1000), BigInteger)


def _num(e: Expr) -> Val:
    return Val("num", (e,))


def _str(e: Expr) -> Val:
    return Val("str", (e,))


def _const(text: str) -> Val:
    return Val("str", (literal(text),), text, True)


def _point(lat: object, lon: object) -> dict[str, object] | None:
    if lat is None or lon is None:
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


# --- sources ------------------------------------------------------------------------------


def _devices(ctx: Context, *, located: bool) -> tuple[Any, Any, list[ColumnElement[bool]]]:
    d: Any = aliased(tables.Device)
    p: Any = aliased(tables.DeviceProfile)
    where: list[ColumnElement[bool]] = [device_service.visible_clause(ctx.actor, d)]
    if located:
        where += [d.latitude.is_not(None), d.longitude.is_not(None)]
    return d, p, where


def _device_cols(d: Any, p: Any) -> dict[str, Expr]:
    return {
        "id": d.id,
        "name": d.name,
        "uid": d.uid,
        "status": d.status,
        "place_id": d.place_id,
        "profile_code": p.code,
        "profile_name": p.name,
        "lat": d.latitude,
        "lon": d.longitude,
        "created_at": d.created_at,
    }


def _geo(d: Any) -> Val:
    return Val("geo", (d.latitude, d.longitude))


def things_source(ctx: Context) -> Source:
    d, p, where = _devices(ctx, located=False)
    props = {
        "id": _num(d.id),
        "name": _str(d.name),
        "description": _str(p.name),
        "properties/uid": _str(d.uid),
        "properties/profile": _str(p.code),
        "properties/place": _num(d.place_id),
        "properties/status": _str(d.status),
        "location": _geo(d),
        "Locations/location": _geo(d),
    }
    return Source(_device_cols(d, p), _join(d, p, p.id == d.profile_id), where, props, [d.id])


def _join(left: Any, right: Any, on: ColumnElement[bool]) -> FromClause:
    return join(left, right, on)


def _geo_entity_source(ctx: Context, geometry_key: str) -> Source:
    """A located device as a GeoJSON entity: its geometry under ``location`` or ``feature``."""
    d, p, where = _devices(ctx, located=True)
    props = {
        "id": _num(d.id),
        "name": _str(d.name),
        "description": _str(p.name),
        "encodingType": _const(GEOJSON),
        geometry_key: _geo(d),
    }
    return Source(_device_cols(d, p), _join(d, p, p.id == d.profile_id), where, props, [d.id])


def locations_source(ctx: Context) -> Source:
    return _geo_entity_source(ctx, "location")


def historical_locations_source(ctx: Context) -> Source:
    d, p, where = _devices(ctx, located=True)
    props = {"id": _num(d.id), "time": Val("time", (datetime_ms(d.created_at, ctx.dialect),))}
    return Source(_device_cols(d, p), _join(d, p, p.id == d.profile_id), where, props, [d.id])


def features_source(ctx: Context) -> Source:
    return _geo_entity_source(ctx, "feature")


def datastreams_source(ctx: Context) -> Source:
    ds: Any = aliased(tables.Datastream)
    d: Any = aliased(tables.Device)
    op: Any = aliased(tables.ObservedProperty)
    joined = _join(_join(ds, d, d.id == ds.device_id), op, op.id == ds.property_id)
    cols: dict[str, Expr] = {
        "id": ds.id,
        "name": ds.name,
        "description": op.description,
        "op_name": op.name,
        "unit_ucum": ds.unit_ucum,
        "unit_display": ds.unit_display,
        "first_ms": ds.first_at_ms,
        "last_ms": ds.last_at_ms,
        "last_value": ds.last_value,
        "device_id": ds.device_id,
        "property_id": ds.property_id,
        "profile_id": d.profile_id,
        "lat": d.latitude,
        "lon": d.longitude,
    }
    interval = Val("interval", (ds.first_at_ms, ds.last_at_ms))
    props = {
        "id": _num(ds.id),
        "name": _str(ds.name),
        "description": _str(op.description),
        "unitOfMeasurement/name": _str(ds.unit_display),
        "unitOfMeasurement/symbol": _str(ds.unit_display),
        "properties/ucum": _str(ds.unit_ucum),
        "phenomenonTime": interval,
        "resultTime": interval,
    }
    where = [device_service.visible_clause(ctx.actor, d)]
    return Source(cols, joined, where, props, [ds.id])


def sensors_source(ctx: Context) -> Source:
    p: Any = aliased(tables.DeviceProfile)
    cols: dict[str, Expr] = {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "code": p.code,
        "adapter": p.adapter,
        "interval": p.expected_interval_s,
    }
    props = {
        "id": _num(p.id),
        "name": _str(p.name),
        "description": _str(p.description),
        "encodingType": _const("text/html"),
        "properties/code": _str(p.code),
        "properties/adapter": _str(p.adapter),
    }
    return Source(cols, p, [], props, [p.id])


def observed_properties_source(ctx: Context) -> Source:
    op: Any = aliased(tables.ObservedProperty)
    cols: dict[str, Expr] = {
        "id": op.id,
        "name": op.name,
        "definition": op.definition,
        "description": op.description,
        "key": op.key,
        "name_zh": op.name_zh,
    }
    props = {
        "id": _num(op.id),
        "name": _str(op.name),
        "definition": _str(op.definition),
        "description": _str(op.description),
        "properties/key": _str(op.key),
    }
    return Source(cols, op, [], props, [op.id])


def observations_source(ctx: Context) -> Source:
    o: Any = aliased(tables.Observation)
    ds: Any = aliased(tables.Datastream)
    d: Any = aliased(tables.Device)
    joined = _join(_join(o, ds, ds.id == o.datastream_id), d, d.id == ds.device_id)
    cols: dict[str, Expr] = {
        "ds_id": o.datastream_id,
        "ts": o.ts,
        "value": o.value,
        "text": o.text,
        "device_id": ds.device_id,
    }
    time = Val("time", (o.ts,))
    props = {
        "id": Val("obsid", (o.datastream_id, o.ts)),
        "phenomenonTime": time,
        "resultTime": time,
        "result": Val("result", (o.value, o.text)),
    }
    where = [device_service.visible_clause(ctx.actor, d)]
    return Source(cols, joined, where, props, [o.datastream_id, o.ts])


# --- rendering ----------------------------------------------------------------------------


def render_thing(row: Row, ctx: Context) -> dict[str, object]:
    return {
        "name": row["name"],
        "description": row["profile_name"],
        "properties": {
            "uid": row["uid"],
            "profile": row["profile_code"],
            "place": row["place_id"],
            "status": row["status"],
        },
    }


def render_location(row: Row, ctx: Context) -> dict[str, object]:
    return {
        "name": row["name"],
        "description": row["profile_name"],
        "encodingType": GEOJSON,
        "location": _point(row["lat"], row["lon"]),
    }


def render_historical_location(row: Row, ctx: Context) -> dict[str, object]:
    return {"time": iso_dt(row["created_at"])}


def render_feature(row: Row, ctx: Context) -> dict[str, object]:
    return {
        "name": row["name"],
        "description": row["profile_name"],
        "encodingType": GEOJSON,
        "feature": _point(row["lat"], row["lon"]),
    }


def _interval(first: int | None, last: int | None) -> str | None:
    if first is None or last is None:
        return None
    return f"{iso_ms(first)}/{iso_ms(last)}"


def render_datastream(row: Row, ctx: Context) -> dict[str, object]:
    ucum = row["unit_ucum"] or ""
    out: dict[str, object] = {
        "name": row["name"],
        "description": row["description"] or row["op_name"],
        "unitOfMeasurement": {
            "name": row["unit_display"] or ucum,
            "symbol": row["unit_display"] or ucum,
            "definition": UCUM + quote(ucum, safe="") if ucum else "",
        },
        "observationType": OM_MEASUREMENT if ucum else OM_OBSERVATION,
        "phenomenonTime": _interval(row["first_ms"], row["last_ms"]),
        "resultTime": _interval(row["first_ms"], row["last_ms"]),
        "properties": {"ucum": ucum, "lastValue": row["last_value"]},
    }
    point = _point(row["lat"], row["lon"])
    if point is not None:
        out["observedArea"] = point
    return out


def render_sensor(row: Row, ctx: Context) -> dict[str, object]:
    return {
        "name": row["name"],
        "description": row["description"] or row["name"],
        "encodingType": "text/html",
        "metadata": f"{ctx.root}/sensor-descriptions/{row['id']}",
        "properties": {
            "code": row["code"],
            "adapter": row["adapter"],
            "expectedIntervalSeconds": row["interval"],
        },
    }


def render_observed_property(row: Row, ctx: Context) -> dict[str, object]:
    return {
        "name": row["name"],
        "definition": row["definition"],
        "description": row["description"] or row["name"],
        "properties": {"key": row["key"], "name_zh": row["name_zh"]},
    }


def render_observation(row: Row, ctx: Context) -> dict[str, object]:
    value = row["value"]
    when = iso_ms(row["ts"])
    return {
        "phenomenonTime": when,
        "resultTime": when,
        "result": value if value is not None else row["text"],
    }


def _navs(*items: Nav) -> dict[str, Nav]:
    return {n.name: n for n in items}


ENTITY_TYPES: dict[str, EntityType] = {
    "Things": EntityType(
        "Things",
        "Thing",
        things_source,
        render_thing,
        _navs(
            Nav("Locations", "Locations", True, "id", "id"),
            Nav("HistoricalLocations", "HistoricalLocations", True, "id", "id"),
            Nav("Datastreams", "Datastreams", True, "id", "device_id"),
        ),
        ("name", "description", "properties"),
    ),
    "Locations": EntityType(
        "Locations",
        "Location",
        locations_source,
        render_location,
        _navs(
            Nav("Things", "Things", True, "id", "id"),
            Nav("HistoricalLocations", "HistoricalLocations", True, "id", "id"),
        ),
        ("name", "description", "encodingType", "location"),
    ),
    "HistoricalLocations": EntityType(
        "HistoricalLocations",
        "HistoricalLocation",
        historical_locations_source,
        render_historical_location,
        _navs(
            Nav("Thing", "Things", False, "id", "id"),
            Nav("Locations", "Locations", True, "id", "id"),
        ),
        ("time",),
    ),
    "Datastreams": EntityType(
        "Datastreams",
        "Datastream",
        datastreams_source,
        render_datastream,
        _navs(
            Nav("Thing", "Things", False, "device_id", "id"),
            Nav("Sensor", "Sensors", False, "profile_id", "id"),
            Nav("ObservedProperty", "ObservedProperties", False, "property_id", "id"),
            Nav("Observations", "Observations", True, "id", "ds_id"),
        ),
        (
            "name",
            "description",
            "unitOfMeasurement",
            "observationType",
            "observedArea",
            "phenomenonTime",
            "resultTime",
            "properties",
        ),
    ),
    "Sensors": EntityType(
        "Sensors",
        "Sensor",
        sensors_source,
        render_sensor,
        _navs(Nav("Datastreams", "Datastreams", True, "id", "profile_id")),
        ("name", "description", "encodingType", "metadata", "properties"),
    ),
    "ObservedProperties": EntityType(
        "ObservedProperties",
        "ObservedProperty",
        observed_properties_source,
        render_observed_property,
        _navs(Nav("Datastreams", "Datastreams", True, "id", "property_id")),
        ("name", "definition", "description", "properties"),
    ),
    "Observations": EntityType(
        "Observations",
        "Observation",
        observations_source,
        render_observation,
        _navs(
            Nav("Datastream", "Datastreams", False, "ds_id", "id"),
            Nav("FeatureOfInterest", "FeaturesOfInterest", False, "device_id", "id"),
        ),
        ("phenomenonTime", "resultTime", "result"),
        observation_ids=True,
    ),
    "FeaturesOfInterest": EntityType(
        "FeaturesOfInterest",
        "FeatureOfInterest",
        features_source,
        render_feature,
        _navs(Nav("Observations", "Observations", True, "id", "device_id")),
        ("name", "description", "encodingType", "feature"),
    ),
}
