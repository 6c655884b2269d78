"""Every query of the points domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Insert, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from linli.points.models import (
    EARN,
    HOUSEHOLD,
    EarningRule,
    LeaderboardEntry,
    PointsAccount,
    PointsEntry,
    PointsSettings,
    PointsTransaction,
    Redemption,
    Reward,
)


def _insert_ignoring_duplicates(db: Session, model: type[Any]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING on either backend: a duplicate is a no-op, not an
    error, so concurrent first uses (and replays of a source event) need no retry."""
    if db.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    return sqlite.insert(model).on_conflict_do_nothing()


# --- accounts -------------------------------------------------------------------------------


def open_account(
    db: Session,
    *,
    key: str,
    community_id: int,
    kind: str,
    household_id: int | None,
    now: dt.datetime,
) -> int:
    """The id of the account with ``key``, opening it if it does not exist yet."""
    found = db.scalar(select(PointsAccount.id).where(PointsAccount.key == key))
    if found is not None:
        return found
    db.execute(
        _insert_ignoring_duplicates(db, PointsAccount).values(
            key=key,
            community_id=community_id,
            kind=kind,
            household_id=household_id,
            lock_seq=0,
            created_at=now,
        )
    )
    return db.execute(select(PointsAccount.id).where(PointsAccount.key == key)).scalar_one()


def account_id_by_key(db: Session, key: str) -> int | None:
    return db.scalar(select(PointsAccount.id).where(PointsAccount.key == key))


def lock_account(db: Session, account_id: int) -> None:
    """A write on the account row first: concurrent postings to one account queue for the row
    lock (PostgreSQL) or the database write lock (SQLite) before anyone reads the balance."""
    db.execute(
        update(PointsAccount)
        .where(PointsAccount.id == account_id)
        .values(lock_seq=PointsAccount.lock_seq + 1)
    )


def balance(db: Session, account_id: int) -> int:
    stmt = select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
        PointsEntry.account_id == account_id
    )
    return int(db.execute(stmt).scalar_one())


def household_accounts(db: Session, community_id: int | None = None) -> list[PointsAccount]:
    stmt = select(PointsAccount).where(PointsAccount.kind == HOUSEHOLD)
    if community_id is not None:
        stmt = stmt.where(PointsAccount.community_id == community_id)
    return list(db.scalars(stmt.order_by(PointsAccount.id)))


def balances(db: Session, account_ids: Sequence[int]) -> dict[int, int]:
    if not account_ids:
        return {}
    stmt = (
        select(PointsEntry.account_id, func.sum(PointsEntry.amount))
        .where(PointsEntry.account_id.in_(account_ids))
        .group_by(PointsEntry.account_id)
    )
    return {aid: int(total) for aid, total in db.execute(stmt).all()}


# --- transactions ---------------------------------------------------------------------------


def transaction_id(db: Session, source_kind: str, source_id: str) -> int | None:
    stmt = select(PointsTransaction.id).where(
        PointsTransaction.source_kind == source_kind, PointsTransaction.source_id == source_id
    )
    return db.scalar(stmt)


def insert_transaction(db: Session, **values: Any) -> int | None:
    """Insert a transaction; None when its source has been posted already."""
    stmt = _insert_ignoring_duplicates(db, PointsTransaction).values(**values)
    return db.execute(stmt.returning(PointsTransaction.id)).scalar()


def add_entries(db: Session, rows: list[dict[str, Any]]) -> None:
    db.execute(insert(PointsEntry), rows)


def earned_between(
    db: Session,
    *,
    account_id: int,
    household_id: int,
    source_kind: str,
    start: dt.datetime,
    end: dt.datetime,
) -> int:
    """Points the household account received under one source kind in [start, end)."""
    stmt = (
        select(func.coalesce(func.sum(PointsEntry.amount), 0))
        .join(PointsTransaction, PointsTransaction.id == PointsEntry.transaction_id)
        .where(
            PointsTransaction.household_id == household_id,
            PointsTransaction.source_kind == source_kind,
            PointsTransaction.occurred_at >= start,
            PointsTransaction.occurred_at < end,
            PointsEntry.account_id == account_id,
        )
    )
    return int(db.execute(stmt).scalar_one())


def statement(
    db: Session, account_id: int, *, offset: int, limit: int
) -> tuple[list[tuple[PointsEntry, PointsTransaction]], int]:
    """An account's entries with their transactions, newest first."""
    total = db.scalar(
        select(func.count()).select_from(PointsEntry).where(PointsEntry.account_id == account_id)
    )
    stmt = (
        select(PointsEntry, PointsTransaction)
        .join(PointsTransaction, PointsTransaction.id == PointsEntry.transaction_id)
        .where(PointsEntry.account_id == account_id)
        .order_by(PointsEntry.occurred_at.desc(), PointsEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(e, t) for e, t in db.execute(stmt).all()], int(total or 0)


def entry_sums_by_transaction(db: Session, community_id: int) -> dict[int, int]:
    """Sum of each transaction's entries (zero for every sound transaction)."""
    stmt = (
        select(PointsEntry.transaction_id, func.sum(PointsEntry.amount))
        .join(PointsTransaction, PointsTransaction.id == PointsEntry.transaction_id)
        .where(PointsTransaction.community_id == community_id)
        .group_by(PointsEntry.transaction_id)
    )
    return {tid: int(total) for tid, total in db.execute(stmt).all()}


# --- settings and rules ---------------------------------------------------------------------


def settings(db: Session, community_id: int) -> PointsSettings | None:
    return db.get(PointsSettings, community_id)


def expiry_months_by_community(db: Session) -> dict[int, int]:
    stmt = select(PointsSettings.community_id, PointsSettings.expiry_months)
    return {int(cid): int(months) for cid, months in db.execute(stmt).all()}


def rules(db: Session, community_id: int) -> list[EarningRule]:
    stmt = select(EarningRule).where(EarningRule.community_id == community_id)
    return list(db.scalars(stmt.order_by(EarningRule.code)))


def rule(db: Session, community_id: int, code: str) -> EarningRule | None:
    stmt = select(EarningRule).where(
        EarningRule.community_id == community_id, EarningRule.code == code
    )
    return db.scalars(stmt).first()


def rule_by_id(db: Session, rule_id: int) -> EarningRule | None:
    return db.get(EarningRule, rule_id)


def seed_rules(db: Session, rows: list[dict[str, Any]]) -> None:
    db.execute(_insert_ignoring_duplicates(db, EarningRule), rows)


# --- rewards and redemptions ----------------------------------------------------------------


def reward(db: Session, reward_id: int) -> Reward | None:
    return db.get(Reward, reward_id)


def rewards(db: Session, community_id: int, *, active_only: bool) -> list[Reward]:
    stmt = select(Reward).where(Reward.community_id == community_id)
    if active_only:
        stmt = stmt.where(Reward.active.is_(True))
    return list(db.scalars(stmt.order_by(Reward.cost, Reward.id)))


def take_stock(db: Session, reward_id: int) -> bool:
    """Take one item of stock if there is one left; False when none is."""
    result = db.execute(
        update(Reward)
        .where(Reward.id == reward_id, Reward.stock >= 1, Reward.active.is_(True))
        .values(stock=Reward.stock - 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def adjust_stock(db: Session, reward_id: int, delta: int) -> bool:
    """Add ``delta`` (may be negative) to the stock in one statement, so that a redemption
    taking an item meanwhile is kept; False when the stock would fall below zero."""
    result = db.execute(
        update(Reward)
        .where(Reward.id == reward_id, Reward.stock + delta >= 0)
        .values(stock=Reward.stock + delta)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def return_stock(db: Session, reward_id: int) -> None:
    db.execute(
        update(Reward)
        .where(Reward.id == reward_id)
        .values(stock=Reward.stock + 1)
        .execution_options(synchronize_session=False)
    )


def redemption(db: Session, redemption_id: int) -> Redemption | None:
    return db.get(Redemption, redemption_id)


def lock_redemption(db: Session, redemption_id: int, status: str) -> bool:
    """Move a reserved redemption on (the conditional write is the lock); False if it is no
    longer reserved."""
    result = db.execute(
        update(Redemption)
        .where(Redemption.id == redemption_id, Redemption.status == "reserved")
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def redemptions(
    db: Session, where: list[ColumnElement[bool]], *, limit: int = 200
) -> list[Redemption]:
    stmt = select(Redemption).where(*where).order_by(Redemption.id.desc()).limit(limit)
    return list(db.scalars(stmt))


def rewards_by_ids(db: Session, ids: Sequence[int]) -> dict[int, Reward]:
    if not ids:
        return {}
    return {r.id: r for r in db.scalars(select(Reward).where(Reward.id.in_(ids)))}


def redemptions_by_ids(db: Session, ids: Sequence[int]) -> dict[int, Redemption]:
    if not ids:
        return {}
    return {r.id: r for r in db.scalars(select(Redemption).where(Redemption.id.in_(ids)))}


# --- leaderboard ----------------------------------------------------------------------------


def leaderboard_entry(db: Session, household_id: int) -> LeaderboardEntry | None:
    return db.get(LeaderboardEntry, household_id)


def opted_in(db: Session, community_id: int) -> list[LeaderboardEntry]:
    stmt = select(LeaderboardEntry).where(
        LeaderboardEntry.community_id == community_id, LeaderboardEntry.opted_in.is_(True)
    )
    return list(db.scalars(stmt))


def ledger_lines(db: Session, account_id: int) -> list[tuple[int, str, dt.datetime]]:
    """(amount, transaction kind, occurred_at) of an account's entries, oldest first."""
    stmt = (
        select(PointsEntry.amount, PointsTransaction.kind, PointsEntry.occurred_at)
        .join(PointsTransaction, PointsTransaction.id == PointsEntry.transaction_id)
        .where(PointsEntry.account_id == account_id)
        .order_by(PointsEntry.occurred_at, PointsEntry.id)
    )
    return [(a, k, t) for a, k, t in db.execute(stmt).all()]


def earned_by_households(db: Session, household_ids: Sequence[int]) -> dict[int, int]:
    """Points each household has earned under the earning rules (redeemed or not)."""
    if not household_ids:
        return {}
    stmt = (
        select(PointsAccount.household_id, func.sum(PointsEntry.amount))
        .join(PointsEntry, PointsEntry.account_id == PointsAccount.id)
        .join(PointsTransaction, PointsTransaction.id == PointsEntry.transaction_id)
        .where(
            PointsAccount.household_id.in_(household_ids),
            PointsAccount.kind == HOUSEHOLD,
            PointsTransaction.kind == EARN,
        )
        .group_by(PointsAccount.household_id)
    )
    return {hid: int(total) for hid, total in db.execute(stmt).all() if hid is not None}
