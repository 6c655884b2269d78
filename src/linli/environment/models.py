"""Environment tables: per-place monitoring settings and per-monitor water body settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

# "" follows the date (cn-2026 from 2026-03-01, cn-2012 before); "us-epa" is an opt-in.
AQI_OPTIONS = ("", "us-epa")
# GB 3096-2008 §4 acoustic environment function zones.
NOISE_ZONES = ("0", "1", "2", "3", "4a", "4b")
# tap: drinking water (GB 5749-2022); lake / river: surface water (GB 3838-2002).
WATER_BODIES = ("tap", "lake", "river")


class PlaceSetting(Base):
    """How a place's environment is judged: the AQI standard and its acoustic zone class.

    A monitor takes the zone class of the nearest place at or above it that has a setting.
    The rules that watch the place's noise monitors are remembered so that a change of class
    updates them instead of adding new ones.
    """

    __tablename__ = "environment_place_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), unique=True)
    aqi_standard: Mapped[str] = mapped_column(String(16), default="")
    noise_zone: Mapped[str] = mapped_column(String(4), default="1")
    noise_rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id", ondelete="SET NULL"))
    noise_peak_rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("rules.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )


class WaterMonitor(Base):
    """Which water a water quality monitor samples: tap water or a lake/reservoir or river."""

    __tablename__ = "environment_water_monitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), unique=True
    )
    water_body: Mapped[str] = mapped_column(String(8), default="tap")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
