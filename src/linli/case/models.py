"""Case tables: categories, cases, their timeline, followers and photos."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

STATUSES = (
    "submitted",
    "triaged",
    "assigned",
    "in_progress",
    "resolved",
    "closed",
    "referred",
    "duplicate",
)
OPEN_STATUSES = ("submitted", "triaged", "assigned", "in_progress")
TEAMS = ("property_manager", "community_staff", "grid_worker", "utility")
EVENT_KINDS = (
    "submitted",
    "triaged",
    "assigned",
    "started",
    "resolved",
    "closed",
    "reopened",
    "duplicate",
    "referred",
    "rated",
    "comment",
    "note",
    "escalated",
)


class CaseCategory(Base):
    """A kind of problem: who handles it and how long they have (on working time)."""

    __tablename__ = "case_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    # The team responsible: a role identifier, or "utility" (handled through community staff).
    team: Mapped[str] = mapped_column(String(32))
    sla_hours: Mapped[int | None] = mapped_column(Integer)
    sla_days: Mapped[int | None] = mapped_column(Integer)
    # Whether cases of this kind are shown publicly (noise complaints between neighbours are not).
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Case(Base):
    """One problem report: where, what, who handles it, by when, and how it ended."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_place_path", "place_path"),
        Index("ix_cases_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(24), unique=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("case_categories.id", ondelete="RESTRICT"), index=True
    )
    team: Mapped[str] = mapped_column(String(32))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    place_path: Mapped[str] = mapped_column(String(512))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    # Private: never on public pages or in the public read model.
    reporter_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    reporter_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    # Assisted mode: the staff member who filed it for the resident.
    filed_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    assignee_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    referred_to: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    @property
    def is_open(self) -> bool:
        """Still being worked on."""
        return self.status in OPEN_STATUSES


class CaseEvent(Base):
    """One entry of a case's timeline; ``public`` entries are the "you said, we did" history."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    # Whether the person was staff (shown as "staff" on the public page, never by name).
    by_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")


class CaseFollower(Base):
    """An account that is told about a case's progress."""

    __tablename__ = "case_followers"
    __table_args__ = (UniqueConstraint("case_id", "account_id", name="uq_case_followers"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class CasePhoto(Base):
    """A photo of a case, re-encoded without its metadata (EXIF, location)."""

    __tablename__ = "case_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
