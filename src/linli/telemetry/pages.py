"""Console pages of the telemetry store: a datastream's chart and table, quarantine, site plan."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from linli.core.actor import Actor
from linli.core.errors import PermissionDenied
from linli.core.pagination import PageParams
from linli.core.time import UTC, to_local
from linli.device import service as device_service
from linli.telemetry import series as series_service
from linli.telemetry import service as telemetry_service
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

RANGES_MS = {
    "24h": 86_400_000,
    "7d": 7 * 86_400_000,
    "30d": 30 * 86_400_000,
    "1y": 365 * 86_400_000,
}
RANGE_LABELS = {
    "24h": N_("Last 24 hours"),
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "1y": N_("Last year"),
}
RESOLUTION_LABELS = {
    "raw": N_("each reading"),
    "300": N_("5-minute summaries"),
    "3600": N_("hourly summaries"),
    "86400": N_("daily summaries"),
}
STATE_LABELS = {
    "online": N_("Online"),
    "offline": N_("Offline"),
    "never": N_("Never reported"),
    "disabled": N_("Disabled"),
}
TABLE_POINTS = 120
QUARANTINE_PAGE = 20
RAW_SHOWN = 600
MAP_W, MAP_H, MAP_PAD = 800, 560, 40


def _require_device_viewer(actor: Actor) -> None:
    if not device_service.can_view_devices(actor):
        raise PermissionDenied("your role cannot see devices")


def _local(ts_ms: int, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(dt.datetime.fromtimestamp(ts_ms / 1000, UTC)).strftime(fmt)


@router.get("/console/datastreams/{datastream_id}")
def datastream_page(
    request: Request,
    db: Db,
    actor: LoggedIn,
    datastream_id: PathId,
    range_: Annotated[Literal["24h", "7d", "30d", "1y"], Query(alias="range")] = "24h",
) -> Response:
    """A datastream's chart, with its readings as a table for reading without JavaScript."""
    _require_device_viewer(actor)
    stream = device_service.readable_stream(db, actor, datastream_id)
    end = (stream.last_at_ms or series_service.now_ms()) + 1
    found = series_service.series(
        db, actor, datastream_id, start_ms=end - RANGES_MS[range_], end_ms=end, points=TABLE_POINTS
    )
    rows = [(_local(ts), mean, lo, hi) for ts, mean, lo, hi in reversed(found.points)]
    return view(
        request,
        "telemetry/datastream.html",
        {
            "stream": stream,
            "datastreams": [stream],
            "range": range_,
            "ranges": RANGE_LABELS,
            "resolution": RESOLUTION_LABELS[found.resolution],
            "summarised": found.step_ms > 0,
            "rows": rows,
            "start_label": _local(found.start_ms),
            "end_label": _local(found.end_ms - 1),
            "last_label": _local(stream.last_at_ms) if stream.last_at_ms else "",
        },
    )


@dataclass(frozen=True)
class QuarantineRow:
    """A refused payload as the page shows it."""

    received: str
    transport: str
    device_uid: str
    content_type: str
    reason: str
    raw: str
    truncated: bool
    size: int


@router.get("/console/quarantine")
def quarantine_page(
    request: Request,
    db: Db,
    actor: LoggedIn,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Payloads and readings that were refused, newest first, with the reason and the raw text."""
    _require_device_viewer(actor)
    params = PageParams(page=page, size=QUARANTINE_PAGE)
    found = telemetry_service.quarantined(db, actor, params)
    items, total = found.items, found.total
    rows = [
        QuarantineRow(
            received=to_local(q.received_at).strftime("%Y-%m-%d %H:%M:%S"),
            transport=q.transport,
            device_uid=q.device_uid,
            content_type=q.content_type,
            reason=q.reason,
            raw=q.raw[:RAW_SHOWN],
            truncated=len(q.raw) > RAW_SHOWN,
            size=len(q.raw),
        )
        for q in items
    ]
    return view(
        request,
        "telemetry/quarantine.html",
        {"rows": rows, "pager": shell.pager(request, params, total)},
    )


@dataclass(frozen=True)
class MapPoint:
    """A device placed on the site plan (``x``/``y`` None when it has no position)."""

    id: int
    uid: str
    name: str
    state: str
    last_seen: str
    x: float | None
    y: float | None
    latitude: float | None
    longitude: float | None


def _project(
    statuses: list[series_service.DeviceStatus],
) -> list[MapPoint]:
    """Scale latitude and longitude to the drawing, keeping distances true (a local plan)."""
    placed = [s for s in statuses if s.row.latitude is not None and s.row.longitude is not None]
    lats = [s.row.latitude for s in placed if s.row.latitude is not None]
    lons = [s.row.longitude for s in placed if s.row.longitude is not None]
    x_of: dict[int, tuple[float, float]] = {}
    if placed:
        mid_lat = (min(lats) + max(lats)) / 2
        squeeze = math.cos(math.radians(mid_lat))
        span_x = max((max(lons) - min(lons)) * squeeze, 1e-4)
        span_y = max(max(lats) - min(lats), 1e-4)
        scale = min((MAP_W - 2 * MAP_PAD) / span_x, (MAP_H - 2 * MAP_PAD) / span_y)
        off_x = (MAP_W - span_x * scale) / 2
        off_y = (MAP_H - span_y * scale) / 2
        for s in placed:
            assert s.row.latitude is not None
            assert s.row.longitude is not None
            x = off_x + (s.row.longitude - min(lons)) * squeeze * scale
            y = MAP_H - (off_y + (s.row.latitude - min(lats)) * scale)
            x_of[s.row.id] = (round(x, 1), round(y, 1))
    return [
        MapPoint(
            id=s.row.id,
            uid=s.row.uid,
            name=s.row.name,
            state=s.state,
            last_seen=to_local(s.row.last_seen_at).strftime("%Y-%m-%d %H:%M")
            if s.row.last_seen_at
            else "",
            x=x_of[s.row.id][0] if s.row.id in x_of else None,
            y=x_of[s.row.id][1] if s.row.id in x_of else None,
            latitude=s.row.latitude,
            longitude=s.row.longitude,
        )
        for s in statuses
    ]


@router.get("/console/map")
def site_plan(request: Request, db: Db, actor: LoggedIn) -> Response:
    """A site plan of the actor's devices coloured by status, with the same facts as a table."""
    _require_device_viewer(actor)
    points = _project(series_service.device_statuses(db, actor))
    counts = {state: sum(1 for p in points if p.state == state) for state in STATE_LABELS}
    return view(
        request,
        "telemetry/map.html",
        {
            "points": points,
            "placed": [p for p in points if p.x is not None],
            "counts": counts,
            "states": STATE_LABELS,
            "width": MAP_W,
            "height": MAP_H,
            "offline_factor": series_service.OFFLINE_FACTOR,
        },
    )
