"""Account schemas (API bodies and page forms)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from linli.core.validation import Id, MultilineText, PlainText

Role = Literal[
    "resident",
    "caregiver",
    "grid_worker",
    "community_staff",
    "property_manager",
    "responder",
    "police_liaison",
    "community_admin",
    "district_admin",
    "auditor",
]
TextSize = Literal["normal", "large", "largest"]


class LoginForm(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class AccountCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: PlainText = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)
    resident_id: Id | None = None


class GrantCreate(BaseModel):
    role: Role
    place_id: Id


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    role: str
    place_id: int
    created_at: dt.datetime


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    resident_id: int | None
    is_active: bool
    locale: str | None
    elder_mode: bool
    text_size: str


class MeRead(AccountRead):
    grants: list[GrantRead]
    on_behalf_of_resident_id: int | None = None


class PreferencesUpdate(BaseModel):
    locale: Literal["zh_Hans_CN", "en"] | None = None
    elder_mode: bool | None = None
    text_size: TextSize | None = None


class ApiKeyCreate(BaseModel):
    name: PlainText = Field(min_length=1, max_length=100)


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="shown once; only a digest is stored")


class SessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: dt.datetime
    last_seen_at: dt.datetime
    ip: str | None
    user_agent: str | None
    on_behalf_of_resident_id: int | None


class AssistStart(BaseModel):
    resident_id: Id
    resident_present: bool = Field(description="the resident is present and asked for help")
    reason: MultilineText = Field(min_length=2, max_length=500)
