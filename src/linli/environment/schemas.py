"""Environment schemas: what the API answers and the settings form accepts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from linli.core.errors import ValidationFailed
from linli.core.time import UTC

Metric = Literal[
    "aqi", "pm25", "pm10", "o3", "no2", "so2", "co", "noise", "ph", "turbidity", "chlorine"
]
ObservationType = Literal["air", "noise", "water"]

# A trend point ``[ts_ms, mean, lowest, highest]``. Declared as an array of four numbers rather
# than with ``prefixItems`` (what pydantic makes of a tuple): OpenAPI tools that generate
# clients or check answers against the schema do not all read ``prefixItems`` yet.
TrendPoint = Annotated[
    tuple[int, float, float, float],
    WithJsonSchema(
        {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        mode="serialization",
    ),
]


class TrendRead(BaseModel):
    """A community's series; each point is ``[ts_ms, mean, lowest, highest]`` over its monitors."""

    place: int
    metric: str
    start: int
    end: int
    resolution: Literal["3600", "86400"]
    step_ms: int
    points: list[TrendPoint]


class AirRead(BaseModel):
    """The community's AQI: hourly (real-time) or the daily index of a day."""

    standard: str
    mode: str
    aqi: int | None
    level: int | None
    category: str
    colour: str
    advice: str
    primary: list[str]
    iaqi: dict[str, int]
    low_confidence: bool
    concentrations: dict[str, float]
    start: int
    end: int


class NoiseRead(BaseModel):
    """A noise monitor's last 24 hours against its GB 3096-2008 zone class."""

    device: str
    name: str
    zone: str
    ld: float | None
    ln: float | None
    lmax_night: float | None
    day_limit: float
    night_limit: float
    night_lmax_limit: float
    ok: bool | None


class WaterRead(BaseModel):
    """A water monitor's latest hourly means against GB 5749-2022 or GB 3838-2002."""

    device: str
    name: str
    water_body: str
    values: dict[str, float]
    ok: bool | None
    water_class: str | None
    failing: list[str]


class StatusRead(BaseModel):
    """The public environment status of one community (community aggregates only)."""

    place: int
    name: str
    current: AirRead
    today: AirRead
    yesterday: AirRead
    noise: list[NoiseRead]
    water: list[WaterRead]


class SettingsForm(BaseModel):
    """The settings page's choices (zones and water bodies are keyed by place / device id)."""

    aqi_standard: Literal["", "us-epa"] = ""
    zones: dict[int, Literal["0", "1", "2", "3", "4a", "4b"]] = Field(default_factory=dict)
    waters: dict[int, Literal["tap", "lake", "river"]] = Field(default_factory=dict)


def parse_time(value: str | None) -> int | None:
    """Milliseconds since the epoch from an integer or an ISO 8601 time (no zone: UTC)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            "Times must be milliseconds since 1970 or ISO 8601, such as 2026-05-01T08:00Z."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
