"""Queries of the notice domain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from linli.notice.models import EmergencyBroadcast, EmergencyResponse, Notice, NoticeRead


def get_notice(db: Session, notice_id: int) -> Notice | None:
    return db.get(Notice, notice_id)


def current(now: dt.datetime) -> ColumnElement[bool]:
    """Published and not yet expired."""
    return and_(Notice.publish_at <= now, or_(Notice.expires_at.is_(None), Notice.expires_at > now))


def notices(
    db: Session, where: list[ColumnElement[bool]], *, offset: int, limit: int
) -> tuple[list[Notice], int]:
    total = db.scalar(select(func.count()).select_from(Notice).where(*where)) or 0
    stmt = (
        select(Notice)
        .where(*where)
        .order_by(Notice.pinned.desc(), Notice.publish_at.desc(), Notice.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(db.scalars(stmt)), int(total)


def read_ids(db: Session, account_id: int, notice_ids: list[int]) -> set[int]:
    if not notice_ids:
        return set()
    stmt = select(NoticeRead.notice_id).where(
        NoticeRead.account_id == account_id, NoticeRead.notice_id.in_(notice_ids)
    )
    return set(db.scalars(stmt))


def receipt(db: Session, notice_id: int, account_id: int) -> NoticeRead | None:
    stmt = select(NoticeRead).where(
        NoticeRead.notice_id == notice_id, NoticeRead.account_id == account_id
    )
    return db.scalars(stmt).first()


def read_count(db: Session, notice_id: int, account_ids: list[int]) -> int:
    if not account_ids:
        return 0
    stmt = select(func.count()).where(
        NoticeRead.notice_id == notice_id, NoticeRead.account_id.in_(account_ids)
    )
    return int(db.scalar(stmt) or 0)


def get_broadcast(db: Session, broadcast_id: int) -> EmergencyBroadcast | None:
    return db.get(EmergencyBroadcast, broadcast_id)


def broadcasts(db: Session, where: ColumnElement[bool], *, limit: int) -> list[EmergencyBroadcast]:
    stmt = (
        select(EmergencyBroadcast)
        .where(where)
        .order_by(EmergencyBroadcast.sent_at.desc(), EmergencyBroadcast.id.desc())
        .limit(limit)
    )
    return list(db.scalars(stmt))


def broadcasts_of_resident(
    db: Session, resident_id: int, *, limit: int
) -> list[EmergencyBroadcast]:
    stmt = (
        select(EmergencyBroadcast)
        .join(EmergencyResponse, EmergencyResponse.broadcast_id == EmergencyBroadcast.id)
        .where(EmergencyResponse.resident_id == resident_id)
        .order_by(EmergencyBroadcast.sent_at.desc(), EmergencyBroadcast.id.desc())
        .limit(limit)
    )
    return list(db.scalars(stmt))


def response(db: Session, broadcast_id: int, resident_id: int) -> EmergencyResponse | None:
    stmt = select(EmergencyResponse).where(
        EmergencyResponse.broadcast_id == broadcast_id,
        EmergencyResponse.resident_id == resident_id,
    )
    return db.scalars(stmt).first()


def responses(db: Session, broadcast_id: int) -> list[EmergencyResponse]:
    stmt = (
        select(EmergencyResponse)
        .where(EmergencyResponse.broadcast_id == broadcast_id)
        .order_by(EmergencyResponse.id)
    )
    return list(db.scalars(stmt))


def status_counts(db: Session, broadcast_id: int) -> dict[str, int]:
    stmt = (
        select(EmergencyResponse.status, func.count())
        .where(EmergencyResponse.broadcast_id == broadcast_id)
        .group_by(EmergencyResponse.status)
    )
    return {status: int(n) for status, n in db.execute(stmt)}


def public_broadcasts(db: Session, since: dt.datetime, *, limit: int) -> list[EmergencyBroadcast]:
    """Active broadcasts and those ended after ``since`` (the CAP feed)."""
    stmt = (
        select(EmergencyBroadcast)
        .where(
            or_(
                EmergencyBroadcast.status == "active",
                EmergencyBroadcast.ended_at >= since,
            )
        )
        .order_by(EmergencyBroadcast.sent_at.desc(), EmergencyBroadcast.id.desc())
        .limit(limit)
    )
    return list(db.scalars(stmt))
