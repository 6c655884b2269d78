"""Queries of the case domain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Select, case, delete, func, select
from sqlalchemy.orm import Session

from linli.case.models import OPEN_STATUSES, Case, CaseCategory, CaseEvent, CaseFollower, CasePhoto


def get(db: Session, case_id: int) -> Case | None:
    return db.get(Case, case_id)


def by_ref(db: Session, ref: str) -> Case | None:
    return db.scalars(select(Case).where(Case.ref == ref)).first()


def category(db: Session, category_id: int) -> CaseCategory | None:
    return db.get(CaseCategory, category_id)


def category_by_code(db: Session, code: str) -> CaseCategory | None:
    return db.scalars(select(CaseCategory).where(CaseCategory.code == code)).first()


def categories(db: Session, *, active_only: bool = True) -> list[CaseCategory]:
    stmt = select(CaseCategory).order_by(CaseCategory.id)
    if active_only:
        stmt = stmt.where(CaseCategory.active.is_(True))
    return list(db.scalars(stmt))


def listed(
    db: Session, where: ColumnElement[bool], *, offset: int, limit: int
) -> tuple[list[Case], int]:
    total = db.scalar(select(func.count()).select_from(Case).where(where)) or 0
    stmt: Select[Case] = (
        select(Case)
        .where(where)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(db.scalars(stmt)), int(total)


def queue(
    db: Session, where: ColumnElement[bool], *, offset: int, limit: int
) -> tuple[list[Case], int]:
    """Open cases by SLA risk: overdue first (most overdue first), then the nearest deadline."""
    cond = Case.status.in_(OPEN_STATUSES) & where
    total = db.scalar(select(func.count()).select_from(Case).where(cond)) or 0
    stmt: Select[Case] = (
        select(Case)
        .where(cond)
        .order_by(
            case((Case.due_at.is_(None), 1), else_=0),
            Case.due_at,
            Case.id,
        )
        .offset(offset)
        .limit(limit)
    )
    return list(db.scalars(stmt)), int(total)


def timeline(db: Session, case_id: int, *, public_only: bool) -> list[CaseEvent]:
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id)
    if public_only:
        stmt = stmt.where(CaseEvent.public.is_(True))
    return list(db.scalars(stmt.order_by(CaseEvent.at, CaseEvent.id)))


def follower(db: Session, case_id: int, account_id: int) -> CaseFollower | None:
    stmt = select(CaseFollower).where(
        CaseFollower.case_id == case_id, CaseFollower.account_id == account_id
    )
    return db.scalars(stmt).first()


def followers(db: Session, case_id: int) -> list[int]:
    stmt = select(CaseFollower.account_id).where(CaseFollower.case_id == case_id)
    return list(db.scalars(stmt))


def unfollow(db: Session, case_id: int, account_id: int) -> int:
    result = db.execute(
        delete(CaseFollower).where(
            CaseFollower.case_id == case_id, CaseFollower.account_id == account_id
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def followed_ids(db: Session, account_id: int) -> Select[int]:
    return select(CaseFollower.case_id).where(CaseFollower.account_id == account_id)


def open_candidates(db: Session, where: ColumnElement[bool], *, limit: int = 200) -> list[Case]:
    """Open cases matching ``where`` (for duplicate suggestions), newest first."""
    stmt = (
        select(Case)
        .where(Case.status.in_(OPEN_STATUSES), where)
        .order_by(Case.created_at.desc())
        .limit(limit)
    )
    return list(db.scalars(stmt))


def overdue(db: Session, now: dt.datetime) -> list[Case]:
    """Open cases past their deadline."""
    stmt = select(Case).where(
        Case.status.in_(OPEN_STATUSES), Case.due_at.is_not(None), Case.due_at < now
    )
    return list(db.scalars(stmt.order_by(Case.due_at)))


def photos(db: Session, case_id: int) -> list[CasePhoto]:
    stmt = select(CasePhoto).where(CasePhoto.case_id == case_id).order_by(CasePhoto.id)
    return list(db.scalars(stmt))


def photo(db: Session, photo_id: int) -> CasePhoto | None:
    return db.get(CasePhoto, photo_id)


def public_events(
    db: Session, start: dt.datetime, end: dt.datetime, *, limit: int
) -> list[tuple[CaseEvent, Case]]:
    """Public entries of public cases' timelines in ``[start, end]``, oldest first."""
    stmt = (
        select(CaseEvent, Case)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            CaseEvent.public.is_(True),
            Case.is_public.is_(True),
            CaseEvent.at >= start,
            CaseEvent.at <= end,
        )
        .order_by(CaseEvent.at, CaseEvent.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in db.execute(stmt)]


def delete_photos_by_accounts(db: Session, account_ids: list[int]) -> int:
    """Delete the photos these accounts uploaded; how many went."""
    if not account_ids:
        return 0
    rows = list(db.scalars(select(CasePhoto).where(CasePhoto.account_id.in_(account_ids))))
    for row in rows:
        db.delete(row)
    db.flush()
    return len(rows)


def clear_reporter_positions(db: Session, resident_id: int) -> int:
    """Forget the map positions of the cases a resident reported; how many had one."""
    rows = list(
        db.scalars(
            select(Case).where(Case.reporter_resident_id == resident_id, Case.lat.is_not(None))
        )
    )
    for row in rows:
        row.lat = None
        row.lon = None
    db.flush()
    return len(rows)
