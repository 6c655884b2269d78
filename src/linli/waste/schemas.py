"""Waste schemas: bins, cards, disposal batches and grades, status updates, trucks, plans, rates."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from linli.core.validation import Id, PlainText

GbClass = Literal["recyclable", "hazardous", "food", "residual"]
Status = Literal["ok", "lidOpen", "dropped", "moved", "vandalized", "burning", "unknown"]
GradeResult = Literal["correct", "incorrect"]
CardKind = Literal["card", "qr"]
# Printable ASCII without spaces: what bins and card readers send.
EventId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
CardText = Annotated[str, Field(min_length=4, max_length=64, pattern=r"^[\x21-\x7e]+$")]


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    gb_class: str


class ContainerCreate(BaseModel):
    """A new bin at a place (FIWARE WasteContainer)."""

    place_id: Id
    code: PlainText = Field(min_length=1, max_length=40)
    name: PlainText = Field(min_length=1, max_length=120)
    address: PlainText = Field(default="", max_length=200)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    category: PlainText = Field(min_length=1, max_length=32, description="local code or GB class")
    capacity_l: int = Field(ge=1, le=100_000)
    max_load_kg: float = Field(gt=0, le=100_000)
    max_disposal_kg: float = Field(default=25.0, gt=0, le=1000)
    fill_threshold: float = Field(default=80.0, gt=0, le=100)
    device_id: Id | None = None
    window_start_min: int = Field(default=0, ge=0, le=1440)
    window_end_min: int = Field(default=1440, ge=0, le=1440)

    @model_validator(mode="after")
    def _window(self) -> ContainerCreate:
        if self.window_end_min <= self.window_start_min:
            raise ValueError("the collection window must end after it starts")
        return self


class ContainerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    community_id: int
    place_id: int
    device_id: int | None
    code: str
    name: str
    address: str
    latitude: float
    longitude: float
    gb_class: str
    category_code: str
    capacity_l: int
    max_load_kg: float
    max_disposal_kg: float
    fill_level: float
    fill_threshold: float
    fill_at: dt.datetime | None
    status: str
    status_at: dt.datetime | None
    last_emptied_at: dt.datetime | None
    window_start_min: int
    window_end_min: int
    active: bool


class CardCreate(BaseModel):
    """Give a household a disposal card or QR code (only a keyed digest is kept)."""

    household_id: Id
    card: CardText
    kind: CardKind = "card"


class CardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    household_id: int
    kind: str
    hint: str
    active: bool


class GradeInline(BaseModel):
    """A bin's own judgement of a disposal (camera or sensor), sent with the event."""

    result: GradeResult
    reason: PlainText = Field(default="", max_length=200)


class DisposalItem(BaseModel):
    """One disposal event as a smart bin reports it."""

    event_id: EventId
    card: CardText
    bin_id: Id | None = Field(default=None, description="required with a staff API key")
    category: PlainText | None = Field(default=None, max_length=32)
    weight_kg: float = Field(ge=-1000, le=1000, allow_inf_nan=False)
    occurred_at: AwareDatetime
    grade: GradeInline | None = None


class DisposalBatch(BaseModel):
    items: list[DisposalItem] = Field(min_length=1, max_length=1000)


class ItemResult(BaseModel):
    index: int
    event_id: str
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str = ""
    flags: list[str] = Field(default_factory=list)
    points: int = 0


class BatchResult(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    items: list[ItemResult]


class GradeItem(BaseModel):
    """A grade of a stored disposal, named by its bin and event id."""

    bin_id: Id | None = Field(default=None, description="required with a staff API key")
    event_id: EventId
    result: GradeResult
    reason: PlainText = Field(default="", max_length=200)


class GradeBatch(BaseModel):
    items: list[GradeItem] = Field(min_length=1, max_length=1000)


class StatusUpdate(BaseModel):
    """A bin's fill level and FIWARE status (from the bin itself or staff)."""

    bin_id: Id | None = Field(default=None, description="required with a staff API key")
    fill_level: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    status: Status | None = None
    at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _something(self) -> StatusUpdate:
        if self.fill_level is None and self.status is None:
            raise ValueError("give a fill level, a status or both")
        return self


class TruckCreate(BaseModel):
    community_id: Id
    name: PlainText = Field(min_length=1, max_length=60)
    plate: PlainText = Field(default="", max_length=16)
    capacity_kg: float = Field(gt=0, le=100_000)
    capacity_l: int = Field(ge=1, le=1_000_000)
    depot_name: PlainText = Field(default="", max_length=120)
    depot_latitude: float = Field(ge=-90, le=90)
    depot_longitude: float = Field(ge=-180, le=180)
    shift_start_min: int = Field(ge=0, le=1440)
    shift_end_min: int = Field(ge=0, le=1440)
    speed_kmh: float = Field(default=15.0, gt=0, le=120)
    gb_classes: list[GbClass] = Field(default_factory=list, description="empty: any class")

    @model_validator(mode="after")
    def _shift(self) -> TruckCreate:
        if self.shift_end_min <= self.shift_start_min:
            raise ValueError("the shift must end after it starts")
        return self


class TruckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    community_id: int
    name: str
    plate: str
    capacity_kg: float
    capacity_l: int
    depot_name: str
    depot_latitude: float
    depot_longitude: float
    shift_start_min: int
    shift_end_min: int
    speed_kmh: float
    gb_classes: list[str]
    active: bool


class StopRead(BaseModel):
    seq: int
    bin_id: int
    code: str
    name: str
    address: str
    latitude: float
    longitude: float
    gb_class: str
    fill_level: float
    arrive: str
    load_kg: float
    load_l: int


class RouteRead(BaseModel):
    truck_id: int
    truck_name: str
    plate: str
    depot_name: str
    depot_latitude: float
    depot_longitude: float
    distance_m: int
    load_kg: float
    load_l: int
    capacity_kg: float
    capacity_l: int
    start: str
    end: str
    stops: list[StopRead]


class PlanRead(BaseModel):
    id: int
    community_id: int
    created_at: dt.datetime
    distance_m: int
    bins_above_threshold: int
    unserved: list[int]
    routes: list[RouteRead]


class RateRow(BaseModel):
    place_id: int
    name: str
    households: int
    participating: int
    participation: float | None
    graded: int
    correct: int
    correctness: float | None


class TrendPoint(BaseModel):
    day: dt.date
    participation: float | None
    correctness: float | None
    disposals: int


class Rates(BaseModel):
    community_id: int
    start: dt.date
    end: dt.date
    total: RateRow
    buildings: list[RateRow]
    trend: list[TrendPoint]


class DisposalRead(BaseModel):
    id: int
    bin_id: int
    bin_code: str
    bin_name: str
    event_id: str
    household_id: int
    gb_class: str
    category_code: str
    weight_kg: float
    occurred_at: dt.datetime
    flags: list[str]
    grade: str | None
    grade_reason: str
    points: int
