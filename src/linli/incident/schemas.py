"""Incident schemas: what the API accepts and shows for incidents, responders and dispatch."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from linli.core.validation import Id, MultilineText, PlainText

IncidentStatus = Literal["reported", "dispatched", "on_scene", "contained", "closed"]
# Forward steps a person may take by hand; closing goes through its own route (a report).
Step = Literal["dispatched", "on_scene", "contained"]
ResponderKind = Literal["staff", "volunteer", "guard"]
ResponderState = Literal["available", "dispatched", "on_scene", "off_duty"]
EquipmentKind = Literal["pump", "aed", "extinguisher", "sandbags", "other"]
Condition = Literal["ready", "needs_service", "out_of_service"]
Skill = PlainText
Node = PlainText
# A daily shift's start or end: local wall-clock time, 24-hour "HH:MM".
ShiftTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class _ShiftPair(BaseModel):
    """Shift start and end come together: both or neither."""

    shift_start: ShiftTime | None = None
    shift_end: ShiftTime | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> _ShiftPair:
        if (self.shift_start is None) != (self.shift_end is None):
            raise ValueError("give both the start and the end of the shift, or neither")
        return self


class IncidentCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    place_id: Id
    type: PlainText = Field(min_length=1, max_length=32)
    severity: int = Field(default=3, ge=1, le=4)
    title: PlainText = Field(min_length=1, max_length=200)
    description: MultilineText = Field(default="", max_length=5000)
    node: Node | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class IncidentUpdate(BaseModel):
    """Change severity, site-plan node or commander (only the fields given)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    severity: int | None = Field(default=None, ge=1, le=4)
    node: Node | None = Field(default=None, max_length=64)
    commander_account_id: Id | None = None


class StepIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    status: Step
    note: MultilineText = Field(default="", max_length=2000)


class DispatchAllIn(BaseModel):
    """A community (or a place in it) whose open incidents are planned together."""

    place_id: Id


class FromCaseIn(BaseModel):
    """What a problem report becomes: the incident's type and severity."""

    type: str = Field(min_length=1, max_length=32)
    severity: int = Field(default=3, ge=1, le=4)


class CloseIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    after_action: MultilineText = Field(min_length=1, max_length=10000)


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    place_id: int
    type: str
    severity: int
    title: str
    description: str
    node: str | None
    lat: float | None
    lon: float | None
    status: str
    source: str
    commander_account_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    after_action: str


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    text: str
    actor_account_id: int | None
    at: dt.datetime
    data: dict[str, Any]


class IncidentDetail(IncidentOut):
    timeline: list[EventOut] = []
    alarm_ids: list[int] = []


class ResponderCreate(_ShiftPair):
    model_config = ConfigDict(str_strip_whitespace=True)

    account_id: Id
    place_id: Id
    display_name: PlainText = Field(min_length=1, max_length=100)
    kind: ResponderKind = "staff"
    skills: list[Skill] = Field(default_factory=list, max_length=20)
    node: Node | None = Field(default=None, max_length=64)
    on_shift: bool = True


class ResponderStatusIn(_ShiftPair):
    model_config = ConfigDict(str_strip_whitespace=True)

    status: ResponderState | None = None
    node: Node | None = Field(default=None, max_length=64)
    on_shift: bool | None = None


class ResponderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    place_id: int
    display_name: str
    kind: str
    skills: list[str]
    status: str
    node: str | None
    on_shift: bool
    shift_start: str | None = None
    shift_end: str | None = None


class EquipmentCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    place_id: Id
    kind: EquipmentKind
    name: PlainText = Field(min_length=1, max_length=100)
    node: Node | None = Field(default=None, max_length=64)
    condition: Condition = "ready"


class ConditionIn(BaseModel):
    condition: Condition


class EquipmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    place_id: int
    kind: str
    name: str
    node: str | None
    condition: str


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    responder_id: int
    skill: str
    slot_index: int
    status: str
    travel_s: float
    offered_at: dt.datetime
    answered_at: dt.datetime | None


class PlannedOut(BaseModel):
    responder_id: int
    skill: str
    slot_index: int
    travel_s: float
    route: list[str]


class PlanOut(BaseModel):
    """A recommendation: who would be sent to which slot, slots left open, the nearest AED."""

    incident_id: int
    assignments: list[PlannedOut]
    unfilled: list[tuple[str, int]]
    aed_node: str | None = None
    aed_travel_s: float | None = None
