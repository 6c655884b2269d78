"""JSON API of the place tree."""

from __future__ import annotations

from fastapi import APIRouter

from linli.core.errors import NotFound
from linli.place import service
from linli.place.schemas import PlaceCreate, PlaceKind, PlaceRead
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1/places", tags=["places"], dependencies=[CsrfChecked])


def _visible_paths(actor: LoggedIn) -> list[str]:
    return [g.place_path for g in actor.grants]


@router.get("", response_model=list[PlaceRead])
def list_places(db: Db, actor: LoggedIn, kind: PlaceKind | None = None) -> list[PlaceRead]:
    """Places under the actor's grants (residents: their community)."""
    kinds = (kind,) if kind else ()
    places = service.under(db, _visible_paths(actor), kinds=kinds)
    return [PlaceRead.model_validate(p) for p in places]


@router.get("/{place_id}", response_model=PlaceRead)
def get_place(db: Db, actor: LoggedIn, place_id: PathId) -> PlaceRead:
    place = service.get(db, place_id)
    if not any(place.path.startswith(p) for p in _visible_paths(actor)):
        raise NotFound("no such place")
    return PlaceRead.model_validate(place)


@router.post("", response_model=PlaceRead, status_code=201)
def create_place(db: Db, actor: LoggedIn, body: PlaceCreate) -> PlaceRead:
    place = service.create(db, actor, body)
    db.commit()
    return PlaceRead.model_validate(place)
