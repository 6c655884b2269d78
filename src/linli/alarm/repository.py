"""Queries of alarms and their timelines."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from linli.alarm.models import Alarm, AlarmEvent


def get(db: Session, alarm_id: int) -> Alarm | None:
    return db.get(Alarm, alarm_id)


def open_alarm(db: Session, rule_id: int, source: str) -> Alarm | None:
    stmt = select(Alarm).where(
        Alarm.rule_id == rule_id, Alarm.source == source, Alarm.cleared_at.is_(None)
    )
    return db.scalars(stmt).first()


def open_of_rule(db: Session, rule_id: int) -> list[Alarm]:
    stmt = select(Alarm).where(Alarm.rule_id == rule_id, Alarm.cleared_at.is_(None))
    return list(db.scalars(stmt))


def listed(
    db: Session, where: ColumnElement[bool], *, offset: int, limit: int
) -> tuple[list[Alarm], int]:
    total = db.scalar(select(func.count()).select_from(Alarm).where(where)) or 0
    stmt: Select[Alarm] = (
        select(Alarm)
        .where(where)
        .order_by(Alarm.cleared_at.is_not(None), Alarm.raised_at.desc(), Alarm.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(db.scalars(stmt)), int(total)


def timeline(db: Session, alarm_id: int) -> list[AlarmEvent]:
    stmt = select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(AlarmEvent.id)
    return list(db.scalars(stmt))


def is_open() -> ColumnElement[bool]:
    """Open: still active, or cleared but nobody has acknowledged it yet (the board's list)."""
    return or_(Alarm.cleared_at.is_(None), Alarm.acknowledged_at.is_(None))


def open_paths(db: Session, where: ColumnElement[bool]) -> list[tuple[str, str, bool]]:
    """(place path, severity, acknowledged) of every open alarm matching ``where``."""
    stmt = select(Alarm.place_path, Alarm.severity, Alarm.acknowledged_at.is_not(None)).where(
        where, is_open()
    )
    return [(p, s, bool(a)) for p, s, a in db.execute(stmt)]


def open_devices(db: Session, where: ColumnElement[bool]) -> list[tuple[int, str]]:
    """(device id, severity) of every open alarm matching ``where`` that has a device."""
    stmt = select(Alarm.device_id, Alarm.severity).where(
        where, is_open(), Alarm.device_id.is_not(None)
    )
    return [(d, s) for d, s in db.execute(stmt) if d is not None]


def due_for_escalation(db: Session, now: dt.datetime) -> list[Alarm]:
    """Critical alarms nobody has acknowledged (candidates; the caller checks the delay)."""
    stmt = select(Alarm).where(
        Alarm.severity == "critical",
        Alarm.acknowledged_at.is_(None),
        Alarm.raised_at <= now,
    )
    return list(db.scalars(stmt))
