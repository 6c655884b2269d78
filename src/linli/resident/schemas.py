"""Resident and household schemas; reads are masked unless a reveal is asked for and audited."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from linli.core.time import utc_now
from linli.core.validation import Id, MultilineText, PlainText

Relation = Literal["owner", "tenant", "family"]
SensitiveField = Literal["phone", "id_number", "date_of_birth"]

PHONE_RE = re.compile(r"^\+?[0-9]{7,15}$")
ID_RE = re.compile(r"^[0-9]{17}[0-9Xx]$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
EARLIEST_BIRTH = dt.date(1890, 1, 1)


def id_number_valid(value: str) -> bool:
    """Check the 18-character resident identity number (GB 11643) including its check digit."""
    if not ID_RE.match(value):
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == value[17].upper()


def normalize_phone(value: str | None) -> str | None:
    """Strip spaces and dashes; refuse anything but 7 to 15 digits."""
    if value is None or not value.strip():
        return None
    value = value.strip().replace(" ", "").replace("-", "")
    if not PHONE_RE.match(value):
        raise ValueError("phone must be 7 to 15 digits")
    return value


class HouseholdCreate(BaseModel):
    place_id: Id
    room: PlainText = Field(min_length=1, max_length=32)
    floor: int | None = Field(default=None, ge=-5, le=200)
    area_m2: Decimal | None = Field(default=None, gt=0, le=10000, decimal_places=2)


class HouseholdRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    place_id: int
    room: str
    floor: int | None
    area_m2: Decimal | None
    address: str = ""


class ResidentCreate(BaseModel):
    place_id: Id | None = None
    household_id: Id | None = None
    relation: Relation = "family"
    name: PlainText = Field(min_length=1, max_length=100)
    gender: Literal["female", "male", "other"] | None = None
    phone: str | None = Field(default=None, max_length=20)
    id_number: str | None = Field(default=None, max_length=18)
    date_of_birth: dt.date | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalize_phone(value)

    @field_validator("date_of_birth")
    @classmethod
    def _date_of_birth(cls, value: dt.date | None) -> dt.date | None:
        # A day of slack: "today" in the community's zone may be tomorrow in UTC.
        latest = utc_now().date() + dt.timedelta(days=1)
        if value is not None and not EARLIEST_BIRTH <= value <= latest:
            raise ValueError("date of birth is not plausible")
        return value

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().upper()
        if not id_number_valid(value):
            raise ValueError("not a valid 18-character ID number")
        return value


class ResidentUpdate(BaseModel):
    """What a resident may change about themselves; a new phone number needs the password."""

    phone: str | None = Field(default=None, max_length=20)
    current_password: str | None = Field(default=None, max_length=1024, repr=False)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalize_phone(value)


class ResidentRead(BaseModel):
    """A resident as lists show them: name and phone masked, no ID number or birth date."""

    id: int
    place_id: int
    household_id: int | None
    relation: str
    name: str
    gender: str | None
    phone: str | None
    age_group: str | None
    address: str = ""


class ResidentRevealed(BaseModel):
    """Sensitive fields shown after an audited reveal."""

    id: int
    name: str
    fields: dict[str, str | None]
    reason: str


class RevealRequest(BaseModel):
    fields: list[SensitiveField] = Field(min_length=1)
    reason: MultilineText = Field(min_length=2, max_length=500)
