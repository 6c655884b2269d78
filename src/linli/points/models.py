"""Points tables: the append-only ledger, earning rules, rewards and redemptions.

The ledger is double entry. ``points_transactions`` holds one row per business event (an
earning, a redemption, a refund, an expiry, an adjustment) and ``points_entries`` holds its
legs: signed amounts on accounts that sum to zero. Database triggers refuse UPDATE and DELETE
on both tables, so a correction is always a new transaction. A balance is the sum of an
account's entries; nothing stores it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

# Account kinds: one per household, four system accounts per community.
HOUSEHOLD = "household"
ISSUED = "issued"
REDEEMED = "redeemed"
EXPIRED = "expired"
ADJUSTMENTS = "adjustments"
ACCOUNT_KINDS = (HOUSEHOLD, ISSUED, REDEEMED, EXPIRED, ADJUSTMENTS)

# Transaction kinds.
EARN = "earn"
REDEMPTION = "redemption"
REFUND = "refund"
EXPIRY = "expiry"
ADJUSTMENT = "adjustment"
TRANSACTION_KINDS = (EARN, REDEMPTION, REFUND, EXPIRY, ADJUSTMENT)

REDEMPTION_STATUSES = ("reserved", "handed_over", "cancelled")


class PointsAccount(Base):
    """A ledger account: a household's points, or a community's system account.

    ``key`` is ``household:<id>`` or ``community:<id>:<kind>`` and unique, so accounts can be
    opened on first use by concurrent requests without duplicates. ``lock_seq`` is bumped by
    every posting to the account: the write takes the row lock (PostgreSQL) or the database
    write lock (SQLite) before the balance is read, which serialises postings per household.
    """

    __tablename__ = "points_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="RESTRICT"), index=True
    )
    lock_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class PointsTransaction(Base):
    """One business event in the ledger; its entries sum to zero. Never updated or deleted.

    ``(source_kind, source_id)`` is unique: the same source event is never posted twice.
    ``source_kind`` is ``rule:<code>`` for earnings, otherwise the transaction kind.
    """

    __tablename__ = "points_transactions"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_id", name="uq_points_transactions_source"),
        Index(
            "ix_points_transactions_household_rule",
            "household_id",
            "source_kind",
            "occurred_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="RESTRICT"), index=True
    )
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(16))
    source_kind: Mapped[str] = mapped_column(String(48))
    source_id: Mapped[str] = mapped_column(String(128))
    rule_code: Mapped[str | None] = mapped_column(String(32))
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    redemption_id: Mapped[int | None] = mapped_column(
        ForeignKey("points_redemptions.id", ondelete="RESTRICT")
    )
    memo: Mapped[str] = mapped_column(String(200), default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # No foreign key, like the audit log: an append-only row must never need an update.
    recorded_by_account_id: Mapped[int | None]


class PointsEntry(Base):
    """One leg of a transaction: a signed amount on one account. Never updated or deleted."""

    __tablename__ = "points_entries"
    __table_args__ = (
        Index("ix_points_entries_account_occurred", "account_id", "occurred_at"),
        CheckConstraint("amount <> 0", name="nonzero"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("points_transactions.id", ondelete="RESTRICT"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(Integer)
    # The event's time, copied from the transaction: expiry works lot by lot on it.
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PointsSettings(Base):
    """A community's points settings (the months after which earned points expire)."""

    __tablename__ = "points_settings"
    __table_args__ = (CheckConstraint("expiry_months >= 1", name="expiry_months"),)

    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="CASCADE"), primary_key=True
    )
    expiry_months: Mapped[int] = mapped_column(Integer, default=24)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class EarningRule(Base):
    """How many points one unit of an event earns in a community, with a daily cap."""

    __tablename__ = "points_rules"
    __table_args__ = (
        UniqueConstraint("community_id", "code", name="uq_points_rules_code"),
        CheckConstraint("points_per_unit >= 0", name="points_per_unit"),
        CheckConstraint("daily_cap IS NULL OR daily_cap >= 0", name="daily_cap"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    points_per_unit: Mapped[int] = mapped_column(Integer)
    # Points per household per local day; None: no cap.
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )


class Reward(Base):
    """Something a household can redeem points for, with the stock left to hand out."""

    __tablename__ = "points_rewards"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock"),
        CheckConstraint("cost > 0", name="cost"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500), default="")
    cost: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Redemption(Base):
    """A household's claim on a reward: reserved (points and stock taken), then handed over
    at the desk, or cancelled (points refunded, stock returned)."""

    __tablename__ = "points_redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="RESTRICT"), index=True
    )
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="RESTRICT"), index=True
    )
    reward_id: Mapped[int] = mapped_column(
        ForeignKey("points_rewards.id", ondelete="RESTRICT"), index=True
    )
    cost: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="reserved")
    via: Mapped[str] = mapped_column(String(12), default="online")
    requested_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )


class LeaderboardEntry(Base):
    """A household's opt-in to the community leaderboard and the name shown there."""

    __tablename__ = "points_leaderboard"

    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="CASCADE"), index=True
    )
    opted_in: Mapped[bool] = mapped_column(Boolean, default=False)
    display_name: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
