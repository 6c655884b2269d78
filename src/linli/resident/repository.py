"""Queries of households and residents."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from linli.resident.models import Household, Resident


def get(db: Session, resident_id: int) -> Resident | None:
    return db.get(Resident, resident_id)


def get_household(db: Session, household_id: int) -> Household | None:
    return db.get(Household, household_id)


def household_by_room(db: Session, place_id: int, room: str) -> Household | None:
    stmt = select(Household).where(Household.place_id == place_id, Household.room == room)
    return db.scalars(stmt).first()


def by_id_digest(db: Session, digest: str) -> Resident | None:
    return db.scalars(select(Resident).where(Resident.id_number_digest == digest)).first()


def members(db: Session, household_id: int) -> list[Resident]:
    stmt = select(Resident).where(Resident.household_id == household_id).order_by(Resident.id)
    return list(db.scalars(stmt))


def page(
    db: Session, stmt: Select[Resident], *, offset: int, limit: int
) -> tuple[list[Resident], int]:
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = list(db.scalars(stmt.order_by(Resident.id).offset(offset).limit(limit)))
    return rows, total


def households_page(
    db: Session, stmt: Select[Household], *, offset: int, limit: int
) -> tuple[list[Household], int]:
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = list(db.scalars(stmt.order_by(Household.id).offset(offset).limit(limit)))
    return rows, total


def count(db: Session) -> int:
    return int(db.execute(select(func.count(Resident.id))).scalar_one())
