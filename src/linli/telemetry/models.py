"""Observations keyed by (datastream, time), rollups, and the quarantine of rejected payloads.

Times on the hot path are integers (milliseconds since the Unix epoch, UTC): they compare, index
and bind faster than timestamps and mean the same on SQLite and PostgreSQL. Observations and
rollups are clustered on their key (``WITHOUT ROWID`` on SQLite), so a repeated message is a
duplicate of the key, never a second row, and a range read is one index walk.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

ROLLUP_PERIODS_S = (300, 3600, 86400)


class Observation(Base):
    """One reading: a number (``value``) or, for non-numeric results, text (``text``)."""

    __tablename__ = "observations"
    __table_args__ = ({"sqlite_with_rowid": False},)

    datastream_id: Mapped[int] = mapped_column(
        ForeignKey("datastreams.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(String(255))


class Rollup(Base):
    """Count, min, max, sum and last value of a datastream over one bucket of a period."""

    __tablename__ = "rollups"
    __table_args__ = ({"sqlite_with_rowid": False},)

    datastream_id: Mapped[int] = mapped_column(
        ForeignKey("datastreams.id", ondelete="CASCADE"), primary_key=True
    )
    period_s: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    sum: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)
    last_ts: Mapped[int] = mapped_column(BigInteger)


class QuarantinedPayload(Base):
    """A payload or reading that was refused, kept with the reason so staff can see and fix it."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    transport: Mapped[str] = mapped_column(String(16))
    device_uid: Mapped[str] = mapped_column(String(64), default="", index=True)
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), index=True
    )
    content_type: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str] = mapped_column(Text, default="")
