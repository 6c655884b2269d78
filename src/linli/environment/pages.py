"""Pages of the environment domain: the public environment page and the staff settings page."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.core.actor import Actor
from linli.core.errors import LinliError, NotFound, PermissionDenied
from linli.core.i18n import gettext as _
from linli.core.time import UTC, to_local
from linli.environment import aqi, noise, service, water
from linli.environment.schemas import Metric, TrendRead, parse_time
from linli.web import shell
from linli.web.deps import CsrfChecked, CurrentActor, Db, LoggedIn, PathId, QueryId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

RANGE_LABELS = {"24h": N_("Last 24 hours"), "7d": N_("Last 7 days"), "1y": N_("Last year")}
METRIC_LABELS = {
    "aqi": N_("Air quality index (AQI)"),
    "pm25": N_("PM2.5"),
    "noise": N_("Noise level"),
    "chlorine": N_("Free chlorine"),
    "turbidity": N_("Turbidity"),
}
METRIC_UNITS = {
    "aqi": "",
    "pm25": "µg/m³",
    "noise": "dB(A)",
    "chlorine": "mg/L",
    "turbidity": "NTU",
}
AQI_OPTION_LABELS = {
    "": N_("China (HJ 633), by date: the 2026 edition from 1 March 2026"),
    "us-epa": N_("United States EPA (for comparison)"),
}
WATER_BODY_LABELS = {
    "tap": N_("Tap water (GB 5749-2022)"),
    "lake": N_("Lake or reservoir (GB 3838-2002)"),
    "river": N_("River (GB 3838-2002)"),
}
PROFILE_LABELS = {
    service.AIR: N_("Air quality"),
    service.NOISE: N_("Noise"),
    service.WATER: N_("Water quality"),
}
DONE = {"saved": N_("The settings were saved; the noise rules follow the new classes.")}
PLAN_W, PLAN_H, PLAN_PAD = 800, 480, 40


def _local(ts_ms: int, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(dt.datetime.fromtimestamp(ts_ms / 1000, UTC)).strftime(fmt)


@dataclass(frozen=True)
class PlanPoint:
    """A monitor on the site plan (``x``/``y`` None without a position)."""

    number: int
    name: str
    profile: str
    x: float | None
    y: float | None


def _plan(monitors: list[service.Monitor]) -> list[PlanPoint]:
    """Scale the monitors' positions to the drawing, keeping distances true (a local plan)."""
    placed = [m for m in monitors if m.latitude is not None and m.longitude is not None]
    lats = [m.latitude for m in placed if m.latitude is not None]
    lons = [m.longitude for m in placed if m.longitude is not None]
    spots: dict[int, tuple[float, float]] = {}
    if placed:
        squeeze = math.cos(math.radians((min(lats) + max(lats)) / 2))
        span_x = max((max(lons) - min(lons)) * squeeze, 1e-4)
        span_y = max(max(lats) - min(lats), 1e-4)
        scale = min((PLAN_W - 2 * PLAN_PAD) / span_x, (PLAN_H - 2 * PLAN_PAD) / span_y)
        off_x = (PLAN_W - span_x * scale) / 2
        off_y = (PLAN_H - span_y * scale) / 2
        for m in placed:
            assert m.latitude is not None
            assert m.longitude is not None
            x = off_x + (m.longitude - min(lons)) * squeeze * scale
            y = PLAN_H - (off_y + (m.latitude - min(lats)) * scale)
            spots[m.device_id] = (round(x, 1), round(y, 1))
    return [
        PlanPoint(
            number=i,
            name=m.name,
            profile=m.profile,
            x=spots[m.device_id][0] if m.device_id in spots else None,
            y=spots[m.device_id][1] if m.device_id in spots else None,
        )
        for i, m in enumerate(monitors, start=1)
    ]


def _text_colour(hex_colour: str) -> str:
    """Black or white, whichever reads better on the AQI colour (WCAG relative luminance)."""
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#1b1b19" if luminance > 0.18 else "#ffffff"


@router.get("/environment")
def environment_page(
    request: Request,
    db: Db,
    actor: CurrentActor,
    place: QueryId = None,
    range_: Annotated[Literal["24h", "7d", "1y"], Query(alias="range")] = "24h",
) -> Response:
    """The public environment page of a community: air, noise and water, trends and downloads."""
    found = service.status(db, place)
    metrics = ["aqi", "pm25", "noise"]
    if any(m.profile == service.WATER for m in found.monitors):
        metrics += ["chlorine", "turbidity"]
    last = max((m.last_at_ms or 0 for m in found.monitors), default=0)
    latest = found.latest.result
    return view(
        request,
        "environment/public.html",
        {
            "status": found,
            "communities": service.communities(db),
            "may_edit": not actor.is_anonymous and service.may_edit(db, actor, found.community_id),
            "latest": latest,
            "badge_text": _text_colour(latest.colour),
            "pollutants": aqi.POLLUTANT_LABELS,
            "standards": aqi.STANDARD_LABELS,
            "zones": noise.ZONE_LABELS,
            "parameters": water.PARAMETER_LABELS,
            "classes": water.CLASS_LABELS,
            "bodies": WATER_BODY_LABELS,
            "profiles": PROFILE_LABELS,
            "plan": _plan(found.monitors),
            "plan_w": PLAN_W,
            "plan_h": PLAN_H,
            "metrics": [(m, METRIC_LABELS[m], METRIC_UNITS[m]) for m in metrics],
            "range": range_,
            "ranges": RANGE_LABELS,
            "last_ms": last or found.now_ms,
            "now_label": _local(found.now_ms),
            "local": _local,
        },
    )


@router.get("/environment/series/{place_id}/{metric}")
def series_feed(
    db: Db,
    place_id: PathId,
    metric: Metric,
    start: Annotated[str | None, Query(max_length=40)] = None,
    end: Annotated[str | None, Query(max_length=40)] = None,
    points: Annotated[int, Query(ge=2, le=10_000)] = 1000,
) -> Response:
    """The public page's chart feed (the shape of ``/api/v1/environment/trends``)."""
    end_ms = parse_time(end) or service.now_ms()
    start_ms = parse_time(start) or end_ms - service.DAY_MS
    found = service.trend(db, place_id, metric, start_ms=start_ms, end_ms=end_ms)
    body = TrendRead(
        place=place_id,
        metric=metric,
        start=found.start_ms,
        end=found.end_ms,
        resolution="3600" if found.step_ms == service.HOUR_MS else "86400",
        step_ms=found.step_ms,
        points=found.points,
    )
    return Response(
        body.model_dump_json(), media_type="application/json", headers={"Cache-Control": "no-store"}
    )


# --- staff settings ---------------------------------------------------------------------------


def _settings_context(
    view_: service.SettingsView, choices: list[tuple[int, str]], error: str = "", done: str = ""
) -> dict[str, object]:
    return {
        "settings": view_,
        "choices": choices,
        "aqi_choices": [(k, _(v)) for k, v in AQI_OPTION_LABELS.items()],
        "zone_choices": [
            (
                zone,
                _(
                    "%(zone)s — day %(day)s dB(A), night %(night)s dB(A)",
                    zone=_(label),
                    day=f"{noise.ZONE_LIMITS[zone][0]:g}",
                    night=f"{noise.ZONE_LIMITS[zone][1]:g}",
                ),
            )
            for zone, label in noise.ZONE_LABELS.items()
        ],
        "body_choices": [(k, _(v)) for k, v in WATER_BODY_LABELS.items()],
        "error": error,
        "done": DONE.get(done, ""),
    }


def _community_for(db: Db, actor: Actor, place: int | None) -> tuple[int, list[tuple[int, str]]]:
    choices = service.editable_communities(db, actor)
    if not choices:
        raise PermissionDenied("You may not change environment settings.")
    wanted = place if place is not None else choices[0][0]
    if wanted not in {cid for cid, _name in choices}:
        raise NotFound("No such community.")
    return wanted, choices


@router.get("/console/environment")
def settings_page(
    request: Request,
    db: Db,
    actor: LoggedIn,
    place: QueryId = None,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """Staff choose the AQI standard, the acoustic zone classes and the water bodies."""
    cid, choices = _community_for(db, actor, place)
    return view(
        request,
        "environment/settings.html",
        _settings_context(service.settings_view(db, actor, cid), choices, done=done),
    )


@router.post("/console/environment")
async def save_settings_page(request: Request, db: Db, actor: LoggedIn) -> Response:
    """Save the settings form; the noise rules of the monitored places follow."""
    form = await request.form()
    raw_place = str(form.get("place", ""))
    cid, choices = _community_for(db, actor, int(raw_place) if raw_place.isdigit() else None)
    zones: dict[int, str] = {}
    waters: dict[int, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if key.startswith("zone-") and key[5:].isdigit():
            zones[int(key[5:])] = value
        elif key.startswith("water-") and key[6:].isdigit():
            waters[int(key[6:])] = value
    try:
        service.save_settings(
            db,
            actor,
            cid,
            aqi_standard=str(form.get("aqi_standard", "")),
            zones=zones,
            waters=waters,
        )
    except LinliError as exc:
        db.rollback()
        return view(
            request,
            "environment/settings.html",
            _settings_context(service.settings_view(db, actor, cid), choices, error=_(exc.message)),
            status_code=exc.status_code,
        )
    db.commit()
    return RedirectResponse(f"/console/environment?place={cid}&done=saved", status_code=303)
