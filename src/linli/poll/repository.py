"""Queries of the poll domain."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from linli.poll.models import Ballot, Poll, PollOption, PollVoter


def get(db: Session, poll_id: int) -> Poll | None:
    return db.get(Poll, poll_id)


def lock(db: Session, poll_id: int) -> None:
    """Count one more ballot on the poll row: a write first, so concurrent votes on one poll
    queue for the row (PostgreSQL) or the write lock (SQLite) instead of failing midway."""
    db.execute(update(Poll).where(Poll.id == poll_id).values(ballots_cast=Poll.ballots_cast + 1))


def listed(
    db: Session, condition: ColumnElement[bool], *, offset: int, limit: int
) -> tuple[list[Poll], int]:
    total = db.scalar(select(func.count()).select_from(Poll).where(condition)) or 0
    stmt = select(Poll).where(condition).order_by(Poll.id.desc()).offset(offset).limit(limit)
    return list(db.scalars(stmt)), int(total)


def options(db: Session, poll_id: int) -> list[PollOption]:
    stmt = select(PollOption).where(PollOption.poll_id == poll_id).order_by(PollOption.position)
    return list(db.scalars(stmt))


def roll_entry(db: Session, poll_id: int, voter_key: str) -> PollVoter | None:
    stmt = select(PollVoter).where(PollVoter.poll_id == poll_id, PollVoter.voter_key == voter_key)
    return db.scalars(stmt).first()


def ballots(db: Session, poll_id: int) -> Sequence[tuple[int, Decimal]]:
    stmt = select(Ballot.option_id, Ballot.weight).where(Ballot.poll_id == poll_id)
    return [(oid, w) for oid, w in db.execute(stmt).all()]


def receipt_hashes(db: Session, poll_id: int) -> list[str]:
    stmt = select(Ballot.receipt_hash).where(Ballot.poll_id == poll_id)
    return sorted(db.scalars(stmt))


def has_receipt(db: Session, poll_id: int, receipt_hash: str) -> bool:
    stmt = select(Ballot.id).where(Ballot.poll_id == poll_id, Ballot.receipt_hash == receipt_hash)
    return db.scalars(stmt).first() is not None
