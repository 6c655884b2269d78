"""The AQI calculator: a JSON endpoint and a public page for any concentrations."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from linli.core.errors import ValidationFailed
from linli.core.i18n import gettext as _
from linli.core.time import to_local, utc_now
from linli.environment import aqi
from linli.web import shell
from linli.web.deps import CurrentActor
from linli.web.templating import render

router = APIRouter(tags=["environment"])

UG = "µg/m³"
UNITS = {"pm25": UG, "pm10": UG, "o3": UG, "no2": UG, "so2": UG, "co": "mg/m³"}
STANDARD_ENUM: dict[str, Any] = {"json_schema_extra": {"enum": list(aqi.STANDARDS)}}
MODE_ENUM: dict[str, Any] = {"json_schema_extra": {"enum": list(aqi.MODES)}}
MAX_FIELD = 40


def _concentration(description: str) -> Any:
    return Query(description=description)


class PollutantRead(BaseModel):
    """One pollutant's input and sub-index."""

    pollutant: str = Field(description="pm25, pm10, o3, no2, so2 or co")
    label: str = Field(description="name in the request's language")
    concentration: float | None = Field(description="as given (µg/m³; CO mg/m³)")
    unit: str
    iaqi: int | None = Field(description="sub-index; null when missing")
    primary: bool


class AqiRead(BaseModel):
    """The AQI of the given concentrations under one standard and averaging mode."""

    standard: str = Field(description="cn-2026, cn-2012 or us-epa")
    standard_label: str
    mode: str = Field(description="daily or hourly")
    aqi: int | None = Field(description="null when no pollutant has a usable value")
    level: int | None = Field(description="1 (best) to 6 (worst)")
    category: str = Field(description="the category in the request's language")
    category_key: str = Field(description="the category's English message id")
    colour: str = Field(description="the standard's colour of the level, #RRGGBB")
    effects: str = Field(description="health effects, in the request's language")
    advice: str = Field(description="suggested measures, in the request's language")
    iaqi: dict[str, int] = Field(description="each pollutant's sub-index")
    pollutants: list[PollutantRead]
    primary: list[str] = Field(description="primary pollutant(s); CN: only when AQI > 50")
    exceeding: list[str] = Field(description="CN: pollutants with a sub-index above 100")
    beyond_index: list[str] = Field(description="above the last breakpoint; shown as 500")
    missing: list[str] = Field(description="pollutants absent or without a usable value")
    low_confidence: bool = Field(description="relative humidity above 70 %: flagged only")
    humidity: float | None


def _today_standard() -> str:
    return aqi.standard_for(to_local(utc_now()).date())


def _read(
    result: aqi.AqiResult, values: dict[str, float | None], humidity: float | None
) -> AqiRead:
    rows = [
        PollutantRead(
            pollutant=p,
            label=_(aqi.POLLUTANT_LABELS[p]),
            concentration=values.get(p),
            unit=UNITS[p],
            iaqi=result.iaqi.get(p),
            primary=p in result.primary,
        )
        for p in aqi.POLLUTANTS
    ]
    return AqiRead(
        standard=result.standard,
        standard_label=_(aqi.STANDARD_LABELS[result.standard]),
        mode=result.mode,
        aqi=result.aqi,
        level=result.level,
        category=_(result.category),
        category_key=result.category,
        colour=result.colour,
        effects=_(result.effects),
        advice=_(result.advice),
        iaqi=result.iaqi,
        pollutants=rows,
        primary=list(result.primary),
        exceeding=list(result.exceeding),
        beyond_index=list(result.beyond_index),
        missing=list(result.missing),
        low_confidence=result.low_confidence,
        humidity=humidity,
    )


# Public, like the calculator page (tests/core/test_http_security.py lists it as public).
@router.get(
    "/api/v1/environment/aqi",
    response_model=AqiRead,
    responses={422: {"description": "problem details (RFC 9457): an input is not valid"}},
)
def aqi_calculate(
    standard: Annotated[
        str | None, Query(description="default: the standard in force today", **STANDARD_ENUM)
    ] = None,
    mode: Annotated[str, Query(**MODE_ENUM)] = "daily",
    pm25: Annotated[float | None, _concentration("PM2.5, µg/m³")] = None,
    pm10: Annotated[float | None, _concentration("PM10, µg/m³")] = None,
    o3: Annotated[float | None, _concentration("O₃, µg/m³ (daily: maximum 8-hour mean)")] = None,
    no2: Annotated[float | None, _concentration("NO₂, µg/m³")] = None,
    so2: Annotated[float | None, _concentration("SO₂, µg/m³")] = None,
    co: Annotated[float | None, _concentration("CO, mg/m³")] = None,
    o3_1h: Annotated[float | None, _concentration("daily maximum 1-hour O₃, µg/m³")] = None,
    so2_24h: Annotated[float | None, _concentration("24-hour SO₂ (hourly mode), µg/m³")] = None,
    humidity: Annotated[float | None, Query(description="relative humidity, %")] = None,
) -> AqiRead:
    """The AQI, each sub-index, primary pollutant(s), level, colour and advice."""
    values = {"pm25": pm25, "pm10": pm10, "o3": o3, "no2": no2, "so2": so2, "co": co}
    given: dict[str, float | None] = {**values, "o3_1h": o3_1h, "so2_24h": so2_24h}
    result = aqi.compute(
        given, standard=standard or _today_standard(), mode=mode, humidity=humidity
    )
    return _read(result, values, humidity)


def _number(name: str, text: str, errors: dict[str, str]) -> float | None:
    cleaned = text.strip()  # float() also reads full-width digits (７５) typed on phones
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (name == "humidity" and value > 100):
        errors[name] = (
            _("Enter a relative humidity from 0 to 100, or leave it empty.")
            if name == "humidity"
            else _("Enter a number of zero or more, or leave it empty.")
        )
        return None
    return value


@router.get("/environment/aqi", include_in_schema=False, dependencies=[shell.AssistContext])
def aqi_calculator_page(
    request: Request,
    actor: CurrentActor,
    standard: Annotated[str, Query(max_length=MAX_FIELD)] = "",
    mode: Annotated[str, Query(max_length=MAX_FIELD)] = "daily",
    pm25: Annotated[str, Query(max_length=MAX_FIELD)] = "",
    pm10: Annotated[str, Query(max_length=MAX_FIELD)] = "",
    o3: Annotated[str, Query(max_length=MAX_FIELD)] = "",
    no2: Annotated[str, Query(max_length=MAX_FIELD)] = "",
    so2: Annotated[str, Query(max_length=MAX_FIELD)] = "",
    co: Annotated[str, Query(max_length=MAX_FIELD)] = "",
    humidity: Annotated[str, Query(max_length=MAX_FIELD)] = "",
) -> Response:
    """Public calculator: enter concentrations, see the AQI with its level, colour and advice."""
    texts = {
        "pm25": pm25,
        "pm10": pm10,
        "o3": o3,
        "no2": no2,
        "so2": so2,
        "co": co,
        "humidity": humidity,
    }
    errors: dict[str, str] = {}
    chosen = standard if standard in aqi.STANDARDS else _today_standard()
    chosen_mode = mode if mode in aqi.MODES else "daily"
    numbers = {name: _number(name, text, errors) for name, text in texts.items()}
    values = {p: numbers[p] for p in aqi.POLLUTANTS}
    result: AqiRead | None = None
    asked = any(v is not None for v in values.values())
    if asked and not errors:
        try:
            computed = aqi.compute(
                values, standard=chosen, mode=chosen_mode, humidity=numbers["humidity"]
            )
        except ValidationFailed as exc:  # the page checks first; this keeps a slip readable
            errors[str(exc.detail.get("field", "pm25"))] = _(exc.message)
        else:
            result = _read(computed, values, numbers["humidity"])
    status = 422 if errors else 200
    context = {
        "standards": [(s, _(aqi.STANDARD_LABELS[s])) for s in aqi.STANDARDS],
        "modes": [(m, _(aqi.MODE_LABELS[m])) for m in aqi.MODES],
        "pollutants": [(p, _(aqi.POLLUTANT_LABELS[p]), UNITS[p]) for p in aqi.POLLUTANTS],
        "chosen": chosen,
        "chosen_mode": chosen_mode,
        "texts": texts,
        "errors": errors,
        "result": result,
        "asked": asked,
    }
    return render(request, "environment/aqi_calculator.html", context, status_code=status)
