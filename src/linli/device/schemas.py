"""Device registry schemas."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from linli.core.validation import Id, PlainText


class DeviceCreate(BaseModel):
    uid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: PlainText = Field(min_length=1, max_length=200)
    place_id: Id
    profile: str = Field(min_length=1, max_length=64, description="device profile code")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    firmware: str = Field(default="", max_length=64)
    is_public: bool = False


class DeviceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    uid: str
    name: str
    place_id: int
    profile_id: int
    latitude: float | None
    longitude: float | None
    status: str
    firmware: str
    battery: float | None
    is_public: bool
    last_seen_at: dt.datetime | None


class DeviceCreated(DeviceRead):
    token: str = Field(description="shown once; only a digest is stored")


class DatastreamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    device_id: int
    property_id: int
    name: str
    unit_ucum: str
    unit_display: str
    last_value: float | None
    last_at_ms: int | None


Connection = Literal["online", "offline", "disabled"]


class DeviceSummary(DeviceRead):
    """A device as lists and the device page show it: where, what kind, whether it reports."""

    place_label: str
    profile: str
    profile_name: str
    profile_name_zh: str
    connection: Connection = Field(description="online, offline (silent too long) or disabled")
    last_reading_at: dt.datetime | None


class DeviceIssued(DeviceSummary):
    """A device with its newly issued token (registration or rotation); shown once."""

    token: str = Field(description="shown once; only a digest is stored")


class DatastreamView(BaseModel):
    """A datastream of a device with its property and latest value."""

    id: int
    device_id: int
    key: str
    name: str
    property_name: str
    property_name_zh: str
    unit_ucum: str
    unit_display: str
    last_value: float | None
    last_at_ms: int | None
    last_at: dt.datetime | None


class ProfileRead(BaseModel):
    """A kind of device: what it measures, its payload adapter, how often it reports."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_zh: str
    adapter: str
    properties: list[str]
    expected_interval_s: int
    retention_days: int
