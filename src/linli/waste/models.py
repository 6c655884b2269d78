"""Waste tables: sorting categories per city, bins (FIWARE WasteContainer), household cards,
disposal events and their grades, collection trucks, and collection plans with their stops.

Field names follow the FIWARE Smart Data Model ``WasteContainer`` where one exists; the column
comment gives the FIWARE attribute (``fillingLevel`` is a ratio 0–1 there, a percentage here).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

# The four classes of GB/T 19095-2019 and the colour of their bins and marks.
GB_CLASSES = ("recyclable", "hazardous", "food", "residual")
GB_COLOURS = {
    "recyclable": "#0a6bb5",  # blue
    "hazardous": "#c8102e",  # red
    "food": "#1e7b34",  # green
    "residual": "#4d4d4d",  # grey-black
}
# FIWARE WasteContainer ``status`` values; burning raises a critical alarm.
STATUSES = ("ok", "lidOpen", "dropped", "moved", "vandalized", "burning", "unknown")
GRADE_RESULTS = ("correct", "incorrect")
GRADE_SOURCES = ("inspector", "bin")
CARD_KINDS = ("card", "qr")
PLAN_STATUSES = ("planned", "done")


class WasteCategory(Base):
    """One local name of a city's sorting vocabulary, mapped onto a GB/T 19095-2019 class."""

    __tablename__ = "waste_categories"
    __table_args__ = (UniqueConstraint("city_id", "code", name="uq_waste_categories_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(60))
    gb_class: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)


class WasteContainer(Base):
    """A bin (FIWARE ``WasteContainer``) at a place, optionally a registered smart device."""

    __tablename__ = "waste_containers"
    __table_args__ = (UniqueConstraint("community_id", "code", name="uq_waste_containers_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="RESTRICT"), index=True
    )
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    place_path: Mapped[str] = mapped_column(String(255), index=True)
    # The smart bin's entry in the device registry (FIWARE refDevice).
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), unique=True
    )
    code: Mapped[str] = mapped_column(String(40))  # FIWARE binId: the number on the bin
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200), default="")  # FIWARE address
    latitude: Mapped[float] = mapped_column(Float)  # FIWARE location (GeoJSON Point)
    longitude: Mapped[float] = mapped_column(Float)
    # GB/T 19095-2019 class (FIWARE storedWasteKind holds the nearest of its own kinds) and
    # the city's local name for it.
    gb_class: Mapped[str] = mapped_column(String(16))
    category_code: Mapped[str] = mapped_column(String(32))
    capacity_l: Mapped[int] = mapped_column(Integer)  # FIWARE binCapacity (litres)
    max_load_kg: Mapped[float] = mapped_column(Float)  # FIWARE binMaxLoad (kg)
    max_disposal_kg: Mapped[float] = mapped_column(Float, default=25.0)
    fill_level: Mapped[float] = mapped_column(Float, default=0.0)  # FIWARE fillingLevel × 100
    fill_threshold: Mapped[float] = mapped_column(Float, default=80.0)  # binFullnessThreshold
    fill_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # FIWARE binLoggedTime
    status: Mapped[str] = mapped_column(String(16), default="ok")  # FIWARE status
    status_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_emptied_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime()
    )  # FIWARE dateLastEmptying
    # When a truck may stop here (FIWARE actuationHours), minutes after local midnight.
    window_start_min: Mapped[int] = mapped_column(Integer, default=0)
    window_end_min: Mapped[int] = mapped_column(Integer, default=1440)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class WasteCard(Base):
    """A household's disposal card or QR code: only a keyed digest of its id is stored."""

    __tablename__ = "waste_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="RESTRICT"), index=True
    )
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    # The household's place (unit or building) path, for rates per building.
    household_path: Mapped[str] = mapped_column(String(255))
    card_digest: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default="card")
    # The last characters, so a resident can tell their cards apart.
    hint: Mapped[str] = mapped_column(String(8), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class WasteDisposal(Base):
    """One disposal event reported by a bin: stored once per (bin, event id)."""

    __tablename__ = "waste_disposals"
    __table_args__ = (
        UniqueConstraint("container_id", "event_id", name="uq_waste_disposals_event"),
        Index("ix_waste_disposals_card_time", "card_id", "occurred_at"),
        Index("ix_waste_disposals_household_time", "household_id", "occurred_at"),
        Index("ix_waste_disposals_community_time", "community_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    container_id: Mapped[int] = mapped_column(ForeignKey("waste_containers.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    card_id: Mapped[int] = mapped_column(ForeignKey("waste_cards.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    household_path: Mapped[str] = mapped_column(String(255))
    gb_class: Mapped[str] = mapped_column(String(16))
    category_code: Mapped[str] = mapped_column(String(32))
    weight_kg: Mapped[float] = mapped_column(Float)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    via: Mapped[str] = mapped_column(String(8), default="device")
    # Anti-fraud findings (rule codes); a flagged disposal earns no points.
    fraud: Mapped[list[str]] = mapped_column(JSON, default=list)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)


class WasteGrade(Base):
    """Whether a disposal was sorted correctly, from an inspector or the bin itself."""

    __tablename__ = "waste_grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    disposal_id: Mapped[int] = mapped_column(
        ForeignKey("waste_disposals.id", ondelete="CASCADE"), unique=True
    )
    result: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(12))
    graded_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    graded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    points: Mapped[int] = mapped_column(Integer, default=0)


class WasteTruck(Base):
    """A collection truck with its capacities, depot and shift."""

    __tablename__ = "waste_trucks"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    plate: Mapped[str] = mapped_column(String(16), default="")
    capacity_kg: Mapped[float] = mapped_column(Float)
    capacity_l: Mapped[int] = mapped_column(Integer)
    depot_name: Mapped[str] = mapped_column(String(120), default="")
    depot_latitude: Mapped[float] = mapped_column(Float)
    depot_longitude: Mapped[float] = mapped_column(Float)
    # Shift, minutes after local midnight.
    shift_start_min: Mapped[int] = mapped_column(Integer)
    shift_end_min: Mapped[int] = mapped_column(Integer)
    speed_kmh: Mapped[float] = mapped_column(Float, default=15.0)
    # The GB classes this truck collects (a food-waste truck takes no residual waste); empty: any.
    gb_classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WastePlan(Base):
    """A collection plan: routes for the trucks over the bins above their threshold."""

    __tablename__ = "waste_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(12), default="planned")
    distance_m: Mapped[int] = mapped_column(Integer, default=0)
    # Bins above threshold that no truck could take (capacity or time), by id.
    unserved: Mapped[list[int]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WastePlanStop(Base):
    """One stop of one truck's route in a plan, in visiting order."""

    __tablename__ = "waste_plan_stops"
    __table_args__ = (UniqueConstraint("plan_id", "container_id", name="uq_waste_plan_stops_bin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("waste_plans.id", ondelete="CASCADE"))
    truck_id: Mapped[int] = mapped_column(ForeignKey("waste_trucks.id", ondelete="CASCADE"))
    container_id: Mapped[int] = mapped_column(ForeignKey("waste_containers.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    arrive_min: Mapped[int] = mapped_column(Integer)
    load_kg: Mapped[float] = mapped_column(Float)
    load_l: Mapped[int] = mapped_column(Integer)


class WasteAlarmRule(Base):
    """The rule each community's bin alarms (full, burning) are raised under."""

    __tablename__ = "waste_alarm_rules"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="CASCADE"), primary_key=True
    )
    full_rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
    burning_rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
