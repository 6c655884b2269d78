"""JSON API of the environment domain: public status, trends and open data downloads."""

from __future__ import annotations

import csv
import io
from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from linli.core import ratelimit
from linli.environment import service
from linli.environment.schemas import (
    AirRead,
    Metric,
    NoiseRead,
    ObservationType,
    StatusRead,
    TrendRead,
    WaterRead,
    parse_time,
)
from linli.web import ratelimit as limits
from linli.web.deps import CsrfChecked, CurrentActor, Db, QueryId

# Public open data: no login (tests/core/test_http_security.py lists these as the public routes).
router = APIRouter(prefix="/api/v1", tags=["environment"], dependencies=[CsrfChecked])

TimeParam = Annotated[
    str | None,
    Query(max_length=40, description="milliseconds since the epoch, or ISO 8601 (no zone: UTC)"),
]


def air_read(found: service.AirStatus) -> AirRead:
    """The AQI as the API shows it (category and advice are English message ids)."""
    r = found.result
    return AirRead(
        standard=r.standard,
        mode=r.mode,
        aqi=r.aqi,
        level=r.level,
        category=r.category,
        colour=r.colour,
        advice=r.advice,
        primary=list(r.primary),
        iaqi=r.iaqi,
        low_confidence=r.low_confidence,
        concentrations={k: round(v, 3) for k, v in found.concentrations.items()},
        start=found.start_ms,
        end=found.end_ms,
    )


@router.get("/environment/status", response_model=StatusRead)
def get_status(db: Db, place: QueryId = None) -> StatusRead:
    """A community's AQI (hourly and daily), noise and water status; open to everyone."""
    found = service.status(db, place)
    return StatusRead(
        place=found.community_id,
        name=found.name,
        current=air_read(found.hourly),
        today=air_read(found.today),
        yesterday=air_read(found.yesterday),
        noise=[
            NoiseRead(
                device=n.monitor.uid,
                name=n.monitor.name,
                zone=n.compliance.zone,
                ld=n.levels.ld,
                ln=n.levels.ln,
                lmax_night=n.levels.lmax_night,
                day_limit=n.compliance.day_limit,
                night_limit=n.compliance.night_limit,
                night_lmax_limit=n.compliance.night_lmax_limit,
                ok=n.compliance.ok,
            )
            for n in found.noise
        ],
        water=[
            WaterRead(
                device=w.monitor.uid,
                name=w.monitor.name,
                water_body=w.body,
                values=w.values,
                ok=w.ok,
                water_class=w.surface.water_class if w.surface is not None else None,
                failing=[f.parameter for f in w.failures],
            )
            for w in found.water
        ],
    )


@router.get("/environment/trends", response_model=TrendRead)
def get_trend(
    db: Db,
    metric: Metric = "aqi",
    place: QueryId = None,
    start: TimeParam = None,
    end: TimeParam = None,
    points: Annotated[int, Query(ge=2, le=10_000)] = 1000,
) -> Response:
    """A community's hourly (up to 8 days) or daily series of the AQI or a monitored property.

    Same point shape as a datastream's series, ``[ts_ms, mean, lowest, highest]`` over the
    community's monitors. ``points`` is accepted for that API's callers; bins are fixed.
    """
    end_ms = parse_time(end) or service.now_ms()
    start_ms = parse_time(start) or end_ms - service.DAY_MS
    found = service.trend(db, place, metric, start_ms=start_ms, end_ms=end_ms)
    body = TrendRead(
        place=place or service.community(db, None)[0],
        metric=found.metric,
        start=found.start_ms,
        end=found.end_ms,
        resolution="3600" if found.step_ms == service.HOUR_MS else "86400",
        step_ms=found.step_ms,
        points=found.points,
    )
    return Response(
        body.model_dump_json(), media_type="application/json", headers={"Cache-Control": "no-store"}
    )


def _observations(
    db: Db, kind: ObservationType, place: int | None, start: str | None, end: str | None
) -> tuple[str, list[dict[str, object]]]:
    rows = service.observations(
        db, kind=kind, community_id=place, start_ms=parse_time(start), end_ms=parse_time(end)
    )
    return service.OBSERVATION_TYPES[kind], rows


@router.get("/environment/observations.json")
def observations_json(
    db: Db,
    actor: CurrentActor,
    kind: Annotated[ObservationType, Query(alias="type")] = "air",
    place: QueryId = None,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """Open data: FIWARE AirQualityObserved, NoiseLevelObserved or WaterQualityObserved
    entities (key-values) of a community's monitors, hourly or per noise day."""
    limits.enforce(db, actor, ratelimit.EXPORT_PUBLIC_IP)
    _profile, rows = _observations(db, kind, place, start, end)
    return Response(
        orjson.dumps(rows),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="environment-{kind}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/environment/observations.csv")
def observations_csv(
    db: Db,
    actor: CurrentActor,
    kind: Annotated[ObservationType, Query(alias="type")] = "air",
    place: QueryId = None,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """The same open data as CSV: one column per FIWARE attribute (GeoJSON and lists as JSON)."""
    limits.enforce(db, actor, ratelimit.EXPORT_PUBLIC_IP)
    profile, rows = _observations(db, kind, place, start, end)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    fields = service.FIWARE_FIELDS[profile]
    writer.writerow(fields)
    for row in rows:
        writer.writerow([service.csv_cell(row.get(name)) for name in fields])
    return Response(
        buf.getvalue().encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="environment-{kind}.csv"',
            "Cache-Control": "no-store",
        },
    )
