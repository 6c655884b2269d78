"""Audit schemas."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    action: str
    outcome: str
    actor_account_id: int | None
    actor_username: str
    on_behalf_of_resident_id: int | None
    subject_type: str
    subject_id: str
    subject_resident_id: int | None
    place_id: int | None
    fields: str
    reason: str
    hash: str


class AccessRead(BaseModel):
    """What a resident sees about accesses to their data (no staff IP or hashes)."""

    model_config = ConfigDict(from_attributes=True)

    at: dt.datetime
    action: str
    outcome: str
    actor_username: str
    fields: str
    reason: str
