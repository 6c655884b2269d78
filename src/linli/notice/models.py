"""Notice tables: announcements to a place, read receipts, emergency broadcasts and answers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

CATEGORIES = ("general", "maintenance", "safety", "event", "health")
# CAP 1.2 value sets (OASIS CAP 1.2 §3.2.2).
CAP_CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
ANSWERS = ("safe", "need_help", "no_answer")
ANSWER_VIA = ("self", "staff")


class Notice(Base):
    """An announcement to everyone living under a place (community, building or unit)."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_place_path", "place_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    place_path: Mapped[str] = mapped_column(String(512))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default="general")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # Not shown to residents before this time (scheduled), nor after expires_at.
    publish_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class NoticeRead(Base):
    """A read receipt: this account opened this notice (once)."""

    __tablename__ = "notice_reads"
    __table_args__ = (UniqueConstraint("notice_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class EmergencyBroadcast(Base):
    """An emergency check-in: every resident under the place is asked whether they are safe."""

    __tablename__ = "emergency_broadcasts"
    __table_args__ = (Index("ix_emergency_broadcasts_place_path", "place_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The CAP <identifier>: unique per sender, never reused.
    identifier: Mapped[str] = mapped_column(String(100), unique=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    place_path: Mapped[str] = mapped_column(String(512))
    headline: Mapped[str] = mapped_column(String(160))
    instruction: Mapped[str] = mapped_column(Text, default="")
    cap_category: Mapped[str] = mapped_column(String(16), default="Safety")
    event: Mapped[str] = mapped_column(String(100), default="")
    urgency: Mapped[str] = mapped_column(String(16), default="Immediate")
    severity: Mapped[str] = mapped_column(String(16), default="Severe")
    certainty: Mapped[str] = mapped_column(String(16), default="Observed")
    status: Mapped[str] = mapped_column(String(16), default="active")
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )


class EmergencyResponse(Base):
    """One resident's answer to a broadcast: safe, needs help, or not yet answered."""

    __tablename__ = "emergency_responses"
    __table_args__ = (UniqueConstraint("broadcast_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("emergency_broadcasts.id", ondelete="CASCADE"), index=True
    )
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default="no_answer")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    via: Mapped[str | None] = mapped_column(String(8))
    recorded_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(Text, default="")
