"""Points schemas: rules, rewards, redemptions, statements, volunteering and the leaderboard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from linli.core.validation import Id, PlainText

RedemptionStatus = Literal["reserved", "handed_over", "cancelled"]


class RuleRead(BaseModel):
    id: int
    community_id: int
    code: str
    label: str
    unit: str
    points_per_unit: int
    daily_cap: int | None
    enabled: bool


class RuleUpdate(BaseModel):
    points_per_unit: int = Field(ge=0, le=10_000)
    daily_cap: int | None = Field(default=None, ge=0, le=100_000)
    enabled: bool = True


class SettingsRead(BaseModel):
    community_id: int
    expiry_months: int


class SettingsUpdate(BaseModel):
    expiry_months: int = Field(ge=1, le=120)


class RewardCreate(BaseModel):
    community_id: Id
    name: PlainText = Field(min_length=1, max_length=120)
    description: PlainText = Field(default="", max_length=500)
    cost: int = Field(ge=1, le=1_000_000)
    stock: int = Field(ge=0, le=100_000)
    active: bool = True


class RewardUpdate(BaseModel):
    name: PlainText | None = Field(default=None, min_length=1, max_length=120)
    description: PlainText | None = Field(default=None, max_length=500)
    cost: int | None = Field(default=None, ge=1, le=1_000_000)
    stock: int | None = Field(default=None, ge=0, le=100_000)
    active: bool | None = None


class RewardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    community_id: int
    name: str
    description: str
    cost: int
    stock: int
    active: bool


class RedeemRequest(BaseModel):
    reward_id: Id


class RedemptionRead(BaseModel):
    id: int
    community_id: int
    household_id: int
    household_label: str
    reward_id: int
    reward_name: str
    cost: int
    status: RedemptionStatus
    via: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class EntryRead(BaseModel):
    """One line of a statement: when, how many points, and why (human readable)."""

    id: int
    occurred_at: dt.datetime
    amount: int
    kind: str
    source: str


class Statement(BaseModel):
    household_id: int
    household_label: str
    balance: int
    entries: list[EntryRead]
    total: int
    page: int
    size: int


class VolunteeringAward(BaseModel):
    """Hours of volunteering recorded by staff; ``token`` makes a resubmitted form a no-op."""

    household_id: Id
    hours: Decimal = Field(gt=0, le=24, max_digits=5, decimal_places=2)
    token: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    occurred_at: dt.datetime | None = None


class Adjustment(BaseModel):
    """A correction by staff: points added (positive) or taken (negative), with the reason the
    household will read on its statement."""

    household_id: Id
    amount: int = Field(ge=-100_000, le=100_000)
    reason: PlainText = Field(min_length=1, max_length=200)
    token: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class AwardResult(BaseModel):
    household_id: int
    points: int
    balance: int


class LeaderboardChoice(BaseModel):
    opted_in: bool
    display_name: PlainText = Field(default="", max_length=20)


class LeaderboardChoiceRead(BaseModel):
    opted_in: bool
    display_name: str
    shown_as: str
    masked_label: str


class LeaderboardRow(BaseModel):
    rank: int
    label: str
    points: int
    mine: bool = False
