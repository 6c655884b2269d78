"""JSON routes of the telemetry store: a chart's series and the export of any range."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Iterator
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from linli.core import ratelimit
from linli.core.errors import ValidationFailed
from linli.core.time import UTC
from linli.telemetry import series as series_service
from linli.web import ratelimit as limits
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1", tags=["telemetry"], dependencies=[CsrfChecked])

TimeParam = Annotated[
    str | None,
    Query(
        max_length=40,
        description="milliseconds since the epoch, or ISO 8601 (a time without a zone is UTC)",
    ),
]


class SeriesRead(BaseModel):
    """A chart's series; each point is ``[ts_ms, value or mean, min, max]``."""

    datastream: int
    name: str
    unit: str
    unit_ucum: str
    start: int
    end: int
    resolution: Literal["raw", "300", "3600", "86400"]
    step_ms: int
    points: list[tuple[int, float, float, float]]


def parse_time(value: str | None, name: str) -> int | None:
    """Milliseconds since the epoch from an integer or an ISO 8601 time; None when absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        if name == "start":
            raise ValidationFailed(
                "start must be milliseconds since 1970 or an ISO 8601 time"
            ) from None
        raise ValidationFailed("end must be milliseconds since 1970 or an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@router.get(
    "/datastreams/{datastream_id}/series",
    response_model=SeriesRead,
    responses={200: {"description": "the series; Server-Timing tells the time spent"}},
)
def get_series(
    db: Db,
    actor: LoggedIn,
    datastream_id: PathId,
    start: TimeParam = None,
    end: TimeParam = None,
    points: Annotated[int, Query(ge=2, le=series_service.MAX_POINTS)] = (
        series_service.DEFAULT_POINTS
    ),
) -> Response:
    """Points of a datastream for a chart: raw readings or a rollup, at most ``points`` of them."""
    began = time.perf_counter()
    found = series_service.series(
        db,
        actor,
        datastream_id,
        start_ms=parse_time(start, "start"),
        end_ms=parse_time(end, "end"),
        points=points,
    )
    body = orjson.dumps(
        {
            "datastream": found.stream.id,
            "name": found.stream.name,
            "unit": found.stream.unit_display,
            "unit_ucum": found.stream.unit_ucum,
            "start": found.start_ms,
            "end": found.end_ms,
            "resolution": found.resolution,
            "step_ms": found.step_ms,
            "points": found.points,
        }
    )
    spent_ms = (time.perf_counter() - began) * 1000
    return Response(
        body,
        media_type="application/json",
        headers={"Server-Timing": f"series;dur={spent_ms:.2f}", "Cache-Control": "no-store"},
    )


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _csv_chunks(request: Request, plan: series_service.ExportPlan) -> Iterator[bytes]:
    """CSV lines batch by batch, on a session of the export's own (the request's is closed)."""
    yield b"time,value,text\r\n"
    with request.app.state.sessionmaker() as db:
        for rows in series_service.export_batches(db, plan):
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\r\n")
            writer.writerows(
                (series_service.iso_ms(ts), _number(v), text or "") for ts, v, text in rows
            )
            yield buf.getvalue().encode()


def _json_chunks(request: Request, plan: series_service.ExportPlan) -> Iterator[bytes]:
    """A JSON document written batch by batch."""
    head = {
        "datastream": plan.stream.id,
        "name": plan.stream.name,
        "unit": plan.stream.unit_display,
        "unit_ucum": plan.stream.unit_ucum,
        "start": series_service.iso_ms(plan.start_ms),
        "end": series_service.iso_ms(plan.end_ms),
    }
    yield orjson.dumps(head)[:-1] + b',"observations":['
    first = True
    with request.app.state.sessionmaker() as db:
        for rows in series_service.export_batches(db, plan):
            items = [
                {"time": series_service.iso_ms(ts), "value": v, **({"text": x} if x else {})}
                for ts, v, x in rows
            ]
            chunk = orjson.dumps(items)[1:-1]
            yield chunk if first else b"," + chunk
            first = False
    yield b"]}"


@router.get("/datastreams/{datastream_id}/export")
def export(
    request: Request,
    db: Db,
    actor: LoggedIn,
    datastream_id: PathId,
    start: TimeParam = None,
    end: TimeParam = None,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> StreamingResponse:
    """Every reading of a range as CSV or JSON (times ISO 8601 UTC), streamed in batches."""
    limits.enforce(db, actor, ratelimit.EXPORT_ACCOUNT)
    plan = series_service.plan_export(
        db, actor, datastream_id, start_ms=parse_time(start, "start"), end_ms=parse_time(end, "end")
    )
    db.close()
    name = f"datastream-{plan.stream.id}.{format}"
    chunks = _csv_chunks(request, plan) if format == "csv" else _json_chunks(request, plan)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
