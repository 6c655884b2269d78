"""JSON API of residents and households."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from linli.core.pagination import Page, PageParams
from linli.core.validation import PlainText
from linli.resident import service
from linli.resident.schemas import (
    HouseholdCreate,
    HouseholdRead,
    ResidentCreate,
    ResidentRead,
    ResidentRevealed,
    ResidentUpdate,
    RevealRequest,
)
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId, QueryId

router = APIRouter(prefix="/api/v1", tags=["residents"], dependencies=[CsrfChecked])
Paging = Annotated[PageParams, Depends()]


@router.get("/residents", response_model=Page[ResidentRead])
def list_residents(
    db: Db,
    actor: LoggedIn,
    paging: Paging,
    name: Annotated[PlainText | None, Query(max_length=100)] = None,
    phone: Annotated[PlainText | None, Query(max_length=20)] = None,
    place_id: QueryId = None,
) -> Page[ResidentRead]:
    """Residents visible to the caller, with names and phones masked."""
    items, total = service.list_residents(
        db, actor, params=paging, name=name, phone=phone, place_id=place_id
    )
    db.commit()
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post("/residents", response_model=ResidentRead, status_code=201)
def create_resident(db: Db, actor: LoggedIn, body: ResidentCreate) -> ResidentRead:
    resident = service.create_resident(db, actor, body)
    db.commit()
    return service.to_read(db, resident)


@router.get("/residents/{resident_id}", response_model=ResidentRead)
def get_resident(db: Db, actor: LoggedIn, resident_id: PathId) -> ResidentRead:
    read = service.get_resident(db, actor, resident_id)
    db.commit()
    return read


@router.post("/residents/{resident_id}/reveal", response_model=ResidentRevealed)
def reveal(db: Db, actor: LoggedIn, resident_id: PathId, body: RevealRequest) -> ResidentRevealed:
    """Show sensitive fields in full; audited with the reason given."""
    try:
        return service.reveal(db, actor, resident_id, fields=list(body.fields), reason=body.reason)
    finally:
        db.commit()  # the audit row stays, also for a refused reveal


@router.patch("/me/resident", response_model=ResidentRead)
def update_me(db: Db, actor: LoggedIn, body: ResidentUpdate) -> ResidentRead:
    read = service.update_me(db, actor, body)
    db.commit()
    return read


@router.get("/households", response_model=Page[HouseholdRead])
def list_households(db: Db, actor: LoggedIn, paging: Paging) -> Page[HouseholdRead]:
    items, total = service.list_households(db, actor, params=paging)
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.get("/households/{household_id}", response_model=HouseholdRead)
def get_household(db: Db, actor: LoggedIn, household_id: PathId) -> HouseholdRead:
    return service.get_household(db, actor, household_id)


@router.post("/households", response_model=HouseholdRead, status_code=201)
def create_household(db: Db, actor: LoggedIn, body: HouseholdCreate) -> HouseholdRead:
    household = service.create_household(db, actor, body)
    db.commit()
    return service.household_read(db, household)
