"""Incident tables: incidents and their timeline, alarm and check-in links, responders,
equipment and the dispatch offers sent to responders' phones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

STATUSES = ("reported", "dispatched", "on_scene", "contained", "closed")
SOURCES = ("staff", "alarm", "checkin", "report")
RESPONDER_KINDS = ("staff", "volunteer", "guard")
RESPONDER_STATUSES = ("available", "dispatched", "on_scene", "off_duty")
EQUIPMENT_KINDS = ("pump", "aed", "extinguisher", "sandbags", "other")
CONDITIONS = ("ready", "needs_service", "out_of_service")
OFFER_STATUSES = ("offered", "accepted", "declined", "timed_out", "released")
NEEDS = ("elderly_alone", "disability", "mobility", "sight", "hearing", "other")
BROADCAST_TARGETS = ("place", "radius")


class Incident(Base):
    """An emergency at a place: its type, severity, where it is and how far it has got."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_place_path", "place_path"),
        Index("ix_incidents_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    place_path: Mapped[str] = mapped_column(String(512))
    type: Mapped[str] = mapped_column(String(32))
    # CAP 1.2 severity as an integer: 1 Minor, 2 Moderate, 3 Severe, 4 Extreme.
    severity: Mapped[int] = mapped_column(default=3)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Where on the site: a node of the community's path graph, and/or WGS 84 coordinates.
    node: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="reported")
    source: Mapped[str] = mapped_column(String(16), default="staff")
    # Bursts of alarms or answers fold into one incident: "<type>@<compound path>".
    dedup_key: Mapped[str] = mapped_column(String(600), default="", index=True)
    commander_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    after_action: Mapped[str] = mapped_column(Text, default="")


class IncidentEvent(Base):
    """One line of an incident's timeline: what happened, who did it and when."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    actor_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IncidentAlarm(Base):
    """An alarm folded into an incident (each alarm belongs to at most one incident)."""

    __tablename__ = "incident_alarms"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), unique=True)
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class IncidentHelpAnswer(Base):
    """An emergency check-in answer "I need help" folded into an incident (at most once)."""

    __tablename__ = "incident_help_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    response_id: Mapped[int] = mapped_column(
        ForeignKey("emergency_responses.id", ondelete="CASCADE"), unique=True
    )
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Responder(Base):
    """Someone who answers incidents at a community: skills, shift and live status."""

    __tablename__ = "responders"
    __table_args__ = (
        UniqueConstraint("account_id", "place_id"),
        Index("ix_responders_place_path", "place_path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    place_path: Mapped[str] = mapped_column(String(512))
    display_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="staff")
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="available")
    node: Mapped[str | None] = mapped_column(String(64))
    on_shift: Mapped[bool] = mapped_column(Boolean, default=True)
    # A daily duty shift in local time ("08:00"–"20:00"; an end before the start runs past
    # midnight); without one, on_shift is only set by hand.
    shift_start: Mapped[str | None] = mapped_column(String(5))
    shift_end: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Equipment(Base):
    """A piece of emergency equipment: where it is kept and whether it is ready."""

    __tablename__ = "incident_equipment"
    __table_args__ = (Index("ix_incident_equipment_place_path", "place_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    place_path: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    node: Mapped[str | None] = mapped_column(String(64))
    condition: Mapped[str] = mapped_column(String(16), default="ready")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class DispatchOffer(Base):
    """One slot of an incident (skill, index) offered to one responder, and their answer."""

    __tablename__ = "dispatch_offers"
    __table_args__ = (Index("ix_dispatch_offers_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    responder_id: Mapped[int] = mapped_column(
        ForeignKey("responders.id", ondelete="CASCADE"), index=True
    )
    skill: Mapped[str] = mapped_column(String(32))
    slot_index: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="offered")
    travel_s: Mapped[float] = mapped_column(Float, default=0.0)
    offered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SitePoint(Base):
    """Where a place (a building, a compound's centre) stands on the community's site plan."""

    __tablename__ = "incident_site_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), unique=True)
    place_path: Mapped[str] = mapped_column(String(512))
    node: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class IncidentBroadcast(Base):
    """An emergency broadcast sent to residents because of an incident."""

    __tablename__ = "incident_broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("emergency_broadcasts.id", ondelete="CASCADE"), unique=True
    )
    # How the area was chosen: "place" (a building, compound...) or "radius" round the incident.
    target: Mapped[str] = mapped_column(String(16), default="place")
    radius_m: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class EvacuationNeed(Base):
    """A resident who needs help to leave in an emergency (sensitive: health and age)."""

    __tablename__ = "evacuation_needs"
    __table_args__ = (Index("ix_evacuation_needs_place_path", "place_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), unique=True
    )
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    place_path: Mapped[str] = mapped_column(String(512))
    # Any of NEEDS: elderly_alone, disability, mobility, sight, hearing, other.
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
