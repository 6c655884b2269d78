"""Queries of the proposal domain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from linli.proposal.models import Proposal, ProposalEvent, ProposalSetting, ProposalSupport


def get(db: Session, proposal_id: int) -> Proposal | None:
    return db.get(Proposal, proposal_id)


def listed(
    db: Session, where: ColumnElement[bool], *, by_deadline: bool, offset: int, limit: int
) -> tuple[list[Proposal], int]:
    total = db.scalar(select(func.count()).select_from(Proposal).where(where)) or 0
    stmt = select(Proposal).where(where)
    if by_deadline:
        stmt = stmt.order_by(Proposal.answer_due_at.is_(None), Proposal.answer_due_at, Proposal.id)
    else:
        stmt = stmt.order_by(Proposal.created_at.desc(), Proposal.id.desc())
    return list(db.scalars(stmt.offset(offset).limit(limit))), int(total)


def history(db: Session, proposal_id: int) -> list[ProposalEvent]:
    stmt = select(ProposalEvent).where(ProposalEvent.proposal_id == proposal_id)
    return list(db.scalars(stmt.order_by(ProposalEvent.id)))


def support_of(db: Session, proposal_id: int, resident_id: int) -> ProposalSupport | None:
    stmt = select(ProposalSupport).where(
        ProposalSupport.proposal_id == proposal_id, ProposalSupport.resident_id == resident_id
    )
    return db.scalars(stmt).first()


def supported_ids(db: Session, resident_id: int, proposal_ids: list[int]) -> set[int]:
    if not proposal_ids:
        return set()
    stmt = select(ProposalSupport.proposal_id).where(
        ProposalSupport.resident_id == resident_id,
        ProposalSupport.proposal_id.in_(proposal_ids),
    )
    return set(db.scalars(stmt))


def delete_support(db: Session, proposal_id: int, resident_id: int) -> int:
    result = db.execute(
        delete(ProposalSupport).where(
            ProposalSupport.proposal_id == proposal_id,
            ProposalSupport.resident_id == resident_id,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # DML results carry rowcount


def mark_threshold_reached(
    db: Session, proposal_id: int, *, now: dt.datetime, due: dt.datetime
) -> bool:
    """Move an open proposal at or over its threshold on; True for the one transaction that did."""
    result = db.execute(
        update(Proposal)
        .where(
            Proposal.id == proposal_id,
            Proposal.status == "open",
            Proposal.support_count >= Proposal.threshold,
        )
        .values(status="threshold_reached", threshold_reached_at=now, answer_due_at=due)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # DML results carry rowcount


def overdue(db: Session, now: dt.datetime) -> list[Proposal]:
    stmt = select(Proposal).where(
        Proposal.status == "threshold_reached",
        Proposal.answer_due_at < now,
        Proposal.overdue_at.is_(None),
    )
    return list(db.scalars(stmt.order_by(Proposal.id)))


def settings_for(db: Session, place_ids: list[int]) -> list[ProposalSetting]:
    if not place_ids:
        return []
    stmt = select(ProposalSetting).where(ProposalSetting.place_id.in_(place_ids))
    return list(db.scalars(stmt))


def settings_under(db: Session, where: ColumnElement[bool]) -> list[ProposalSetting]:
    stmt = select(ProposalSetting).where(where).order_by(ProposalSetting.place_path)
    return list(db.scalars(stmt))


def add_to_count(db: Session, proposal_id: int, delta: int) -> None:
    """Change the stored count atomically (row-locked: right under concurrent supports)."""
    db.execute(
        update(Proposal)
        .where(Proposal.id == proposal_id)
        .values(support_count=Proposal.support_count + delta)
        .execution_options(synchronize_session=False)
    )
