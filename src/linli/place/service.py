"""Use cases of the place tree."""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.orm import Session

from linli.core.actor import ACCOUNT_ADMIN_ROLES, Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.place import repository
from linli.place.models import PLACE_KINDS, Place
from linli.place.schemas import PlaceCreate

KIND_ORDER = {kind: index for index, kind in enumerate(PLACE_KINDS)}


def depth(path: str) -> int:
    """1 for a root (``/1/``), 2 for its children, and so on."""
    return path.strip("/").count("/") + 1 if path.strip("/") else 0


def ids_under(paths: list[str]) -> Select[int]:
    """A subquery of the ids of every place in the subtrees at ``paths``."""
    return repository.ids_under(paths)


def get(db: Session, place_id: int) -> Place:
    place = repository.get(db, place_id)
    if place is None:
        raise NotFound("no such place")
    return place


def by_code(db: Session, code: str) -> Place | None:
    return repository.by_code(db, code)


def create(db: Session, actor: Actor | None, data: PlaceCreate) -> Place:
    """Add a place under its parent; ``actor`` None means a trusted command (seed, import)."""
    parent: Place | None = None
    if data.parent_id is not None:
        parent = get(db, data.parent_id)
        if KIND_ORDER[data.kind] <= KIND_ORDER[parent.kind]:
            raise ValidationFailed(f"a {data.kind} cannot sit under a {parent.kind}")
    if actor is not None and (parent is None or not actor.holds(ACCOUNT_ADMIN_ROLES, parent.path)):
        raise PermissionDenied("you cannot add places here")
    if repository.by_code(db, data.code) is not None:
        raise Conflict(f"a place with code {data.code} already exists")
    place = Place(
        parent_id=data.parent_id,
        kind=data.kind,
        name=data.name,
        code=data.code,
        latitude=data.latitude,
        longitude=data.longitude,
    )
    repository.add(db, place)
    place.path = f"{parent.path if parent else '/'}{place.id}/"
    db.flush()
    return place


def ancestors(db: Session, place: Place) -> list[Place]:
    """From the root down to ``place`` itself."""
    ids = [int(part) for part in place.path.strip("/").split("/") if part]
    found = {p.id: p for p in repository.by_ids(db, ids)}
    return [found[i] for i in ids if i in found]


def community_of(db: Session, place: Place) -> Place | None:
    """The community (社区) a place belongs to, if any."""
    for candidate in reversed(ancestors(db, place)):
        if candidate.kind == "community":
            return candidate
    return None


def children(db: Session, parent_id: int | None) -> list[Place]:
    return repository.children(db, parent_id)


def under(db: Session, paths: list[str], *, kinds: tuple[str, ...] = ()) -> list[Place]:
    return repository.under(db, paths, kinds=kinds)


def by_ids(db: Session, ids: list[int]) -> dict[int, Place]:
    return {p.id: p for p in repository.by_ids(db, ids)}


def label(db: Session, place: Place, *, from_kind: str = "compound") -> str:
    """A readable address such as ``幸福小区 3号楼 2单元``, starting at ``from_kind``."""
    parts = [p.name for p in ancestors(db, place) if KIND_ORDER[p.kind] >= KIND_ORDER[from_kind]]
    return " ".join(parts)
