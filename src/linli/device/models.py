"""Device profiles (what a kind of device measures), devices, and their datastreams."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

DEVICE_STATUSES = ("active", "disabled")


class ObservedProperty(Base):
    """A quantity a sensor observes (PM2.5, noise level, heart rate ...), shared by profiles."""

    __tablename__ = "observed_properties"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str] = mapped_column(String(100), default="")
    definition: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # UCUM code (https://ucum.org) and the unit as people read it.
    unit_ucum: Mapped[str] = mapped_column(String(32), default="")
    unit_display: Mapped[str] = mapped_column(String(32), default="")
    # Plausible range; readings outside it are rejected to quarantine.
    min_value: Mapped[float | None]
    max_value: Mapped[float | None]


class DeviceProfile(Base):
    """A kind of device: its payload adapter, what it measures, how often it reports."""

    __tablename__ = "device_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str] = mapped_column(String(100), default="")
    adapter: Mapped[str] = mapped_column(String(64), default="json")
    # Keys of observed properties this profile reports.
    properties: Mapped[list[str]] = mapped_column(JSON, default=list)
    expected_interval_s: Mapped[int] = mapped_column(default=300)
    retention_days: Mapped[int] = mapped_column(default=365)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Device(Base):
    """One physical device. Its token is shown once; only its SHA-256 digest is stored."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("device_profiles.id", ondelete="RESTRICT"), index=True
    )
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(16), default="active")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The device's line of a Mosquitto password file (``$7$`` PBKDF2-SHA512 of the token),
    # computed when the token is issued: the token itself is never stored.
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(255))
    firmware: Mapped[str] = mapped_column(String(64), default="")
    battery: Mapped[float | None]
    # Published by the community: readable by the public (SensorThings, portal).
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Datastream(Base):
    """The readings of one observed property from one device, with the latest value."""

    __tablename__ = "datastreams"
    __table_args__ = (UniqueConstraint("device_id", "property_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    property_id: Mapped[int] = mapped_column(
        ForeignKey("observed_properties.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    unit_ucum: Mapped[str] = mapped_column(String(32), default="")
    unit_display: Mapped[str] = mapped_column(String(32), default="")
    # None: the profile's retention applies.
    retention_days: Mapped[int | None]
    last_value: Mapped[float | None]
    last_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    first_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
