"""Alarms raised by rules, and the timeline of what happened to each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

SEVERITIES = ("critical", "major", "minor", "warning")
SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2, "warning": 3}
EVENT_KINDS = ("raised", "updated", "cleared", "acknowledged", "comment", "escalated", "notified")


class Alarm(Base):
    """One alarm: active until its condition clears, unacknowledged until someone takes it.

    At most one alarm per (rule, source) is open (not cleared): a partial unique index holds
    that on SQLite and PostgreSQL alike, so a repeat updates the open alarm instead.
    """

    __tablename__ = "alarms"
    __table_args__ = (
        Index(
            "uq_alarms_open",
            "rule_id",
            "source",
            unique=True,
            sqlite_where=text("cleared_at IS NULL"),
            postgresql_where=text("cleared_at IS NULL"),
        ),
        Index("ix_alarms_place_path", "place_path"),
        Index("ix_alarms_raised_at", "raised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("rules.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    # Where it is: the place of the device (or of the combination), its path for the tree.
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    place_path: Mapped[str] = mapped_column(String(512))
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), index=True
    )
    datastream_id: Mapped[int | None] = mapped_column(
        ForeignKey("datastreams.id", ondelete="SET NULL")
    )
    # When the condition began (reading time) and when it ended; None while active.
    started_ms: Mapped[int] = mapped_column(BigInteger)
    ended_ms: Mapped[int | None] = mapped_column(BigInteger)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    value: Mapped[float | None]
    # The most extreme value seen while active, and how many readings confirmed it.
    peak: Mapped[float | None]
    count: Mapped[int] = mapped_column(default=1)
    last_ms: Mapped[int] = mapped_column(BigInteger)
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Detail for people (limits, the schedule window in force, the anomaly score ...).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    @property
    def active(self) -> bool:
        """True while the condition holds."""
        return self.cleared_at is None

    @property
    def acknowledged(self) -> bool:
        """True once someone has taken it."""
        return self.acknowledged_at is not None


class AlarmEvent(Base):
    """One entry of an alarm's timeline: raised, cleared, acknowledged, a comment ..."""

    __tablename__ = "alarm_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None]
    # True for events people wrote (comments); system events are generated.
    by_person: Mapped[bool] = mapped_column(Boolean, default=False)
