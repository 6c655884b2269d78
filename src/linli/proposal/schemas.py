"""Proposal schemas: what the API and the pages accept and show (never the author)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from linli.core.validation import Id, MultilineText, PlainText


class ProposalCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    place_id: Id
    title: PlainText = Field(min_length=4, max_length=200)
    body: MultilineText = Field(min_length=10, max_length=5000)


class AnswerCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    text: MultilineText = Field(min_length=10, max_length=5000)


class HideCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    reason: PlainText = Field(min_length=4, max_length=500)


class SettingUpdate(BaseModel):
    place_id: Id
    threshold: int = Field(ge=1, le=100_000)
    answer_days: int = Field(ge=1, le=365)


class SettingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    place_id: int
    threshold: int
    answer_days: int


class ProposalFilter(BaseModel):
    status: (
        Literal["open", "threshold_reached", "answered", "withdrawn", "hidden", "awaiting"] | None
    ) = None
    place_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ProposalEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    at: dt.datetime
    text: str


class ProposalRead(BaseModel):
    """A proposal as everyone may see it: hidden ones show the reason instead of the text."""

    id: int
    place_id: int
    place: str
    author_area: str
    title: str
    body: str
    status: str
    hidden: bool
    moderation_reason: str | None
    support_count: int
    threshold: int
    created_at: dt.datetime
    threshold_reached_at: dt.datetime | None
    answer_due_at: dt.datetime | None
    overdue: bool
    answer: str | None
    answered_at: dt.datetime | None
    mine: bool = False
    supported: bool = False


class ProposalDetail(ProposalRead):
    history: list[ProposalEventRead]
