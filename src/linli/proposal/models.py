"""Proposal tables: suggestions, one support per resident, the public history, settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

STATUSES = ("open", "threshold_reached", "answered", "withdrawn", "hidden")
EVENT_KINDS = (
    "created",
    "threshold_reached",
    "overdue",
    "answered",
    "hidden",
    "restored",
    "withdrawn",
)
DEFAULT_THRESHOLD = 20
DEFAULT_ANSWER_DAYS = 10


class ProposalSetting(Base):
    """How many supports oblige an answer at a place (and its subtree), and in how many days."""

    __tablename__ = "proposal_settings"

    place_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="CASCADE"), primary_key=True
    )
    place_path: Mapped[str] = mapped_column(String(512))
    threshold: Mapped[int] = mapped_column(default=DEFAULT_THRESHOLD)
    answer_days: Mapped[int] = mapped_column(default=DEFAULT_ANSWER_DAYS)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Proposal(Base):
    """A resident's suggestion to the community; the author is never shown publicly."""

    __tablename__ = "proposals"
    __table_args__ = (
        Index("ix_proposals_place_path", "place_path"),
        Index("ix_proposals_status_due", "status", "answer_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    place_path: Mapped[str] = mapped_column(String(512))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    author_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    author_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    # Where the author lives, coarsely (a compound or community): "a resident of <compound>".
    author_area_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    # The status to go back to when a hidden proposal is restored.
    status_before_hidden: Mapped[str | None] = mapped_column(String(20))
    support_count: Mapped[int] = mapped_column(default=0)
    threshold: Mapped[int] = mapped_column(default=DEFAULT_THRESHOLD)
    answer_days: Mapped[int] = mapped_column(default=DEFAULT_ANSWER_DAYS)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    threshold_reached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answer_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    overdue_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    moderation_reason: Mapped[str | None] = mapped_column(String(500))
    moderated_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    moderated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ProposalSupport(Base):
    """One resident's support of one proposal; withdrawing deletes the row."""

    __tablename__ = "proposal_supports"
    __table_args__ = (
        UniqueConstraint("proposal_id", "resident_id", name="uq_proposal_supports_resident"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ProposalEvent(Base):
    """One entry of a proposal's public history (no personal data: who acted is not shown)."""

    __tablename__ = "proposal_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text, default="")
