"""Queries of the place tree."""

from __future__ import annotations

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session

from linli.place.models import Place


def get(db: Session, place_id: int) -> Place | None:
    return db.get(Place, place_id)


def by_code(db: Session, code: str) -> Place | None:
    return db.scalars(select(Place).where(Place.code == code)).first()


def ids_under(paths: list[str]) -> Select[int]:
    """Ids of every place whose path starts with one of ``paths`` (the subtrees)."""
    if not paths:
        return select(Place.id).where(Place.id.is_(None))
    return select(Place.id).where(or_(*[Place.path.startswith(p, autoescape=True) for p in paths]))


def children(db: Session, parent_id: int | None) -> list[Place]:
    stmt = select(Place).where(
        Place.parent_id.is_(None) if parent_id is None else Place.parent_id == parent_id
    )
    return list(db.scalars(stmt.order_by(Place.name)))


def under(db: Session, paths: list[str], *, kinds: tuple[str, ...] = ()) -> list[Place]:
    stmt = select(Place).where(Place.id.in_(ids_under(paths)))
    if kinds:
        stmt = stmt.where(Place.kind.in_(kinds))
    return list(db.scalars(stmt.order_by(Place.path)))


_BY_IDS = select(Place).where(Place.id.in_(bindparam("ids", expanding=True)))


def by_ids(db: Session, ids: list[int]) -> list[Place]:
    if not ids:
        return []
    return list(db.scalars(_BY_IDS, {"ids": ids}))


def add(db: Session, place: Place) -> Place:
    db.add(place)
    db.flush()
    return place
