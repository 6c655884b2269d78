"""Place schemas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from linli.core.validation import Id, PlainText

PlaceKind = Literal[
    "city", "district", "street_office", "community", "compound", "building", "unit"
]


class PlaceCreate(BaseModel):
    parent_id: Id | None = None
    kind: PlaceKind
    name: PlainText = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class PlaceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    parent_id: int | None
    kind: str
    name: str
    code: str
    path: str
    latitude: float | None
    longitude: float | None
