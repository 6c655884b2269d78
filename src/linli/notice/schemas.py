"""Notice and emergency schemas: what the API and the pages accept and show."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linli.core.validation import Id, MultilineText, PlainText

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

NoticeCategory = Literal["general", "maintenance", "safety", "event", "health"]
CapCategory = Literal[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
Answer = Literal["safe", "need_help"]


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A time without a zone is the community's local time (what a form's clock shows)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_ZONE)
    return value.astimezone(dt.UTC)


class NoticeCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    place_id: Id
    title: PlainText = Field(min_length=1, max_length=200)
    body: MultilineText = Field(default="", max_length=5000)
    category: NoticeCategory = "general"
    pinned: bool = False
    publish_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None

    @field_validator("publish_at", "expires_at")
    @classmethod
    def _zone(cls, value: dt.datetime | None) -> dt.datetime | None:
        return _aware(value)

    @model_validator(mode="after")
    def _order(self) -> NoticeCreate:
        if self.publish_at and self.expires_at and self.expires_at <= self.publish_at:
            raise ValueError("expires_at must be after publish_at")
        return self


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    place_id: int
    title: str
    body: str
    category: str
    pinned: bool
    publish_at: dt.datetime
    expires_at: dt.datetime | None
    created_at: dt.datetime
    read: bool = False


class ReceiptCounts(BaseModel):
    """How many of the accounts living under the notice's place have opened it."""

    notice_id: int
    read: int
    audience: int


class BroadcastCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    place_id: Id
    headline: PlainText = Field(min_length=1, max_length=160)
    instruction: MultilineText = Field(default="", max_length=2000)
    event: PlainText = Field(default="", max_length=100)
    cap_category: CapCategory = "Safety"
    urgency: Urgency = "Immediate"
    severity: Severity = "Severe"
    certainty: Certainty = "Observed"


class BroadcastOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    identifier: str
    place_id: int
    headline: str
    instruction: str
    event: str
    cap_category: str
    urgency: str
    severity: str
    certainty: str
    status: str
    sent_at: dt.datetime
    ended_at: dt.datetime | None
    # The caller's own answer when they are one of the residents asked.
    my_status: str | None = None


class AnswerCreate(BaseModel):
    """A resident's own answer."""

    model_config = ConfigDict(str_strip_whitespace=True)

    status: Answer
    note: MultilineText = Field(default="", max_length=500)


class StaffAnswerCreate(AnswerCreate):
    """An answer staff record for a resident they reached (visit or phone)."""

    resident_id: Id


class Counts(BaseModel):
    safe: int = 0
    need_help: int = 0
    no_answer: int = 0
    total: int = 0


class BoardRow(BaseModel):
    """A resident on the board: masked name, room, answer."""

    resident_id: int
    name: str
    room: str
    status: str
    answered_at: dt.datetime | None
    via: str | None
    note: str


class Board(BaseModel):
    broadcast: BroadcastOut
    counts: Counts
    # Need help first, then not answered: who must be visited.
    to_visit: list[BoardRow]
    safe: list[BoardRow]
