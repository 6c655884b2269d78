"""Case schemas: what the API and the pages accept and show."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from linli.core.validation import Id, MultilineText, PlainText

Status = Literal[
    "submitted", "triaged", "assigned", "in_progress", "resolved", "closed", "referred", "duplicate"
]


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_en: str
    name_zh: str
    team: str
    sla_hours: int | None
    sla_days: int | None
    is_public: bool


class CaseCreate(BaseModel):
    """A report: what kind of problem, where, and what is wrong."""

    model_config = ConfigDict(str_strip_whitespace=True)

    category_id: Id
    place_id: Id
    title: PlainText | None = Field(default=None, max_length=200)
    description: MultilineText = Field(min_length=2, max_length=4000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    is_public: bool = True


class SimilarQuery(BaseModel):
    """What a resident is about to report, to look for the same problem already reported."""

    model_config = ConfigDict(str_strip_whitespace=True)

    category_id: Id
    place_id: Id
    description: MultilineText = Field(default="", max_length=4000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class CaseEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    at: dt.datetime
    by_staff: bool
    public: bool
    status: str | None
    text: str


class CasePublic(BaseModel):
    """What anyone allowed to see the case is shown: no reporter, no internal notes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    ref: str
    category_id: int
    team: str
    place_id: int
    title: str
    description: str
    status: str
    due_at: dt.datetime | None
    escalation_level: int
    duplicate_of_id: int | None
    referred_to: str | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    rating: int | None
    is_public: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CaseRead(CasePublic):
    """The case as its reporter and its handlers see it."""

    place_path: str
    lat: float | None
    lon: float | None
    assignee_account_id: int | None
    filed_by_account_id: int | None
    rating_comment: str | None
    mine: bool = False
    can_handle: bool = False
    overdue: bool = False


class CaseDetail(CaseRead):
    timeline: list[CaseEventRead]
    following: bool = False


class CaseFilter(BaseModel):
    scope: Literal["visible", "mine", "public", "following"] = "visible"
    status: Status | Literal["open", "all"] = "all"


class TriageBody(BaseModel):
    category_id: Id | None = None
    is_public: bool | None = None


class AssignBody(BaseModel):
    account_id: Id


class ReplyBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    text: MultilineText = Field(min_length=1, max_length=4000)


class OptionalReply(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    text: MultilineText = Field(default="", max_length=4000)


class DuplicateBody(BaseModel):
    duplicate_of_id: Id


class ReferBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    referred_to: PlainText = Field(min_length=1, max_length=200)
    text: MultilineText = Field(default="", max_length=4000)


class RateBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    rating: int = Field(ge=1, le=5)
    comment: MultilineText = Field(default="", max_length=2000)


class SimilarCase(BaseModel):
    """An open case that may be the same problem (only what the public page shows)."""

    id: int
    ref: str
    title: str
    status: str
    score: float
    distance_m: float | None
