"""Poll tables: polls and options, the voter roll (who voted) and the ballots (what was chosen).

The roll and the ballots are kept apart on purpose. A ballot row has no voter column, no
foreign key to residents or households, no timestamp and a random primary key; on SQLite the
ballot table is stored WITHOUT ROWID, so its rows sit in key order (random), not in the order
they were cast. Nothing in the schema pairs a roll row with a ballot row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

ELECTORATES = ("adult_residents", "one_per_household", "owners_by_area")
MATTERS = ("ordinary", "major")
STATUSES = ("draft", "open", "closed")
VIAS = ("online", "paper", "assisted")


class Poll(Base):
    """A question put to the electorate of a place, by rule."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    place_path: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    electorate: Mapped[str] = mapped_column(String(24))
    # For owners_by_area (Civil Code art. 278): ordinary (> 1/2) or major (>= 3/4).
    matter: Mapped[str] = mapped_column(String(16), default="ordinary")
    secret: Mapped[bool] = mapped_column(Boolean, default=True)
    # Results visible to anyone (public page) once the poll is closed.
    public_results: Mapped[bool] = mapped_column(Boolean, default=False)
    opens_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # The electorate counted when the poll opened: voters and, for owners, their total area.
    electorate_size: Mapped[int] = mapped_column(Integer, default=0)
    electorate_area: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    # Ballots cast so far; every vote updates it first, which also serialises votes per poll.
    ballots_cast: Mapped[int] = mapped_column(Integer, default=0)
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PollOption(Base):
    """One answer a voter may choose."""

    __tablename__ = "poll_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(200))


class PollVoter(Base):
    """The voter roll: that a voter took part, never what they chose in a secret poll.

    ``voter_key`` is ``resident:<id>`` or ``household:<id>`` depending on the electorate rule;
    the unique constraint makes one ballot per voter hold under concurrent submissions.
    ``option_id`` is filled only for open (not secret) polls, where the choice is public.
    """

    __tablename__ = "poll_voters"
    __table_args__ = (UniqueConstraint("poll_id", "voter_key", name="uq_poll_voters_voter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    voter_key: Mapped[str] = mapped_column(String(40))
    voted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    via: Mapped[str] = mapped_column(String(12), default="online")
    recorded_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    option_id: Mapped[int | None] = mapped_column(ForeignKey("poll_options.id", ondelete="CASCADE"))


class Ballot(Base):
    """What was chosen: no voter, no time, a random key; the receipt only as its SHA-256."""

    __tablename__ = "poll_ballots"
    __table_args__ = ({"sqlite_with_rowid": False},)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("poll_options.id", ondelete="CASCADE"))
    # Floor area (m²) for owners_by_area, 1 otherwise.
    weight: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
