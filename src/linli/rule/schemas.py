"""Rule schemas: what the API and the console forms accept and show."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from linli.core.validation import Id, PlainText

Severity = Literal["critical", "major", "minor", "warning"]
RuleKind = Literal[
    "threshold",
    "rate",
    "flatline",
    "missing",
    "schedule",
    "anomaly",
    "combination",
    "pressure_drop",
    "rate_of_rise",
    "co_exposure",
]
RULE_FILE_FORMAT: Literal["linli-rule/1"] = "linli-rule/1"


class RuleCreate(BaseModel):
    """A new rule, usually from a template; the template fills what is left out."""

    template: str = Field(min_length=1, max_length=64, description="template code")
    place_id: Id
    name: PlainText | None = Field(default=None, max_length=200)
    description: PlainText = Field(default="", max_length=2000)
    property_key: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9_]*$")
    profile_code: str = Field(default="", max_length=64, pattern=r"^[a-z0-9_]*$")
    params: dict[str, Any] | None = Field(
        default=None, description="overrides of the template's parameters"
    )
    severity: Severity | None = None
    enabled: bool = False
    escalate_after_min: int = Field(default=15, ge=1, le=1440)


class RuleUpdate(BaseModel):
    """Changes to a rule; omitted fields stay as they are."""

    name: PlainText | None = Field(default=None, min_length=1, max_length=200)
    description: PlainText | None = Field(default=None, max_length=2000)
    params: dict[str, Any] | None = None
    severity: Severity | None = None
    enabled: bool | None = None
    escalate_after_min: int | None = Field(default=None, ge=1, le=1440)


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    template: str
    kind: str
    place_id: int
    profile_code: str
    property_key: str
    params: dict[str, Any]
    severity: str
    enabled: bool
    escalate_after_min: int
    created_at: dt.datetime
    updated_at: dt.datetime


class TemplateRead(BaseModel):
    code: str
    kind: str
    name: str
    hint: str
    property_key: str
    params: dict[str, Any]
    severity: str
    choices: list[str]


class RuleFile(BaseModel):
    """What ``linli rules export`` writes and ``linli rules backtest`` reads."""

    format: Literal["linli-rule/1"] = RULE_FILE_FORMAT
    name: str = Field(min_length=1, max_length=200)
    kind: RuleKind
    template: str = ""
    property_key: str = ""
    profile_code: str = ""
    params: dict[str, Any]
    severity: Severity = "major"
    # The reporting interval of the devices it watches (missing-data rules use it).
    interval_s: int = Field(default=60, ge=1, le=86400 * 7)
    timezone: str = "Asia/Shanghai"


class BacktestAlarm(BaseModel):
    """An alarm a rule would have raised over the data."""

    started_ms: int
    ended_ms: int | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    raised_ms: int
    peak: float | None
    readings: int
    severity: str


class BacktestResult(BaseModel):
    rule: str
    rows: int
    alarms: list[BacktestAlarm]


class BacktestRequest(BaseModel):
    """A backtest over the stored readings of one datastream the rule watches."""

    datastream_id: Id
    days: int = Field(default=7, ge=1, le=366)
