"""Poll schemas: setting a poll up, casting and recording ballots, reading results."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linli.core.validation import Id, MultilineText, PlainText

Electorate = Literal["adult_residents", "one_per_household", "owners_by_area"]
Matter = Literal["ordinary", "major"]
PaperVia = Literal["paper", "assisted"]


class PollCreate(BaseModel):
    place_id: Id
    title: PlainText = Field(min_length=1, max_length=200)
    description: MultilineText = Field(default="", max_length=4000)
    options: list[PlainText] = Field(min_length=2, max_length=20)
    electorate: Electorate = "adult_residents"
    matter: Matter = "ordinary"
    secret: bool = True
    public_results: bool = False
    opens_at: dt.datetime | None = None
    closes_at: dt.datetime | None = None

    @field_validator("options")
    @classmethod
    def _options(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if any(not v or len(v) > 200 for v in cleaned):
            raise ValueError("each option needs 1 to 200 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("options must differ")
        return cleaned

    @model_validator(mode="after")
    def _times(self) -> PollCreate:
        for t in (self.opens_at, self.closes_at):
            if t is not None and t.tzinfo is None:
                raise ValueError("times need a time zone")
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("the poll must close after it opens")
        return self


class OptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    label: str


class PollRead(BaseModel):
    id: int
    place_id: int
    title: str
    description: str
    electorate: str
    matter: str
    secret: bool
    public_results: bool
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    status: str
    electorate_size: int
    ballots_cast: int
    options: list[OptionRead]


class VoteCast(BaseModel):
    option_id: Id


class PaperBallot(BaseModel):
    resident_id: Id
    option_id: Id
    via: PaperVia = "paper"


class Receipt(BaseModel):
    """Shown once: the ballot keeps only its SHA-256."""

    poll_id: int
    receipt: str


class MyVote(BaseModel):
    poll_id: int
    eligible: bool
    voted: bool
    via: str | None = None
    voted_at: dt.datetime | None = None


class ReceiptCheck(BaseModel):
    poll_id: int
    counted: bool


class OptionResult(BaseModel):
    option_id: int
    label: str
    # None: fewer than 5 ballots, withheld in published results (linli.core.kanon).
    votes: int | None
    weight: Decimal | None
    passes: bool | None


class PollResults(BaseModel):
    poll_id: int
    title: str
    electorate: str
    matter: str
    status: str
    options: list[OptionResult]
    ballots: int | None
    weight: Decimal | None
    electorate_size: int
    electorate_area: Decimal
    turnout_pct: float | None
    turnout_area_pct: float | None
    quorum_area_met: bool | None
    quorum_heads_met: bool | None
    quorum_met: bool | None
    winner_option_id: int | None
    # SHA-256 of every counted receipt, sorted (the order says nothing about who voted when).
    receipt_hashes: list[str]
