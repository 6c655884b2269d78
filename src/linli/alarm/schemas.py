"""Alarm schemas: what the API and the board show and accept."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from linli.core.validation import MAX_ID, PlainText


class AlarmRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_id: int | None
    source: str
    severity: str
    title: str
    place_id: int
    place_path: str
    device_id: int | None
    datastream_id: int | None
    started_ms: int
    ended_ms: int | None
    raised_at: dt.datetime
    cleared_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by_account_id: int | None
    value: float | None
    peak: float | None
    count: int
    escalation_level: int
    details: dict[str, Any]
    active: bool
    acknowledged: bool


class AlarmEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    at: dt.datetime
    account_id: int | None
    text: str
    value: float | None
    by_person: bool


class AlarmDetail(AlarmRead):
    timeline: list[AlarmEventRead]


class AlarmFilter(BaseModel):
    status: Literal["open", "active", "cleared", "unacknowledged", "all"] = "open"
    severity: Literal["critical", "major", "minor", "warning"] | None = None
    place_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class CommentCreate(BaseModel):
    # Surrounding blanks are dropped: a comment of spaces only is empty.
    model_config = ConfigDict(str_strip_whitespace=True)

    text: PlainText = Field(min_length=1, max_length=2000)


class PlaceCount(BaseModel):
    """Open alarms at a place and everything under it, by severity."""

    place_id: int
    critical: int = 0
    major: int = 0
    minor: int = 0
    warning: int = 0
    unacknowledged: int = 0
