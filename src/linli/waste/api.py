"""JSON API of the waste domain: disposal, grade and status ingestion from smart bins (device
token) or staff (API key), bins, cards, trucks, collection plans, rates and flagged disposals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from linli.core.errors import NotAuthenticated, NotFound, PermissionDenied
from linli.core.i18n import _
from linli.device import service as device_service
from linli.waste import service
from linli.waste.schemas import (
    BatchResult,
    CardCreate,
    CardRead,
    CategoryRead,
    ContainerCreate,
    ContainerRead,
    DisposalBatch,
    DisposalRead,
    GradeBatch,
    PlanRead,
    Rates,
    StatusUpdate,
    TruckCreate,
    TruckRead,
)
from linli.web.deps import CsrfChecked, Db, LoggedIn, QueryId, resolve_actor, verify_csrf

# No router-wide CSRF check: the ingestion routes take a device token, which no browser holds.
router = APIRouter(prefix="/api/v1", tags=["waste"])
Checked = [CsrfChecked]


async def sender_of(request: Request, db: Db) -> service.Sender:
    """A smart bin by its device token, or a staff member by API key or by session cookie
    (the latter with the page's anti-forgery token, like every other change)."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if token.startswith(device_service.DEVICE_TOKEN_PREFIX):
        ref = await run_in_threadpool(device_service.ref_by_token, db, token)
        if ref is None:
            raise NotAuthenticated("unknown or invalid device token")
        if not ref.active:
            raise PermissionDenied("this device is disabled")
        return service.Sender(device_id=ref.id)
    actor = await resolve_actor(request, db)
    await verify_csrf(request, actor)
    if actor.is_anonymous:
        raise NotAuthenticated(_("Send a device token or an API key as a Bearer token."))
    return service.Sender(actor=actor)


# Resolved before the body is read: who is sending decides before what is sent.
Sending = Annotated[service.Sender, Depends(sender_of)]
T = TypeVar("T")


def _committed(db: Session, work: Callable[[], T]) -> T:
    """Run and commit; when a concurrent request stored the same event or grade first (a unique
    key), run once more on a clean transaction, where it is answered as a duplicate."""
    try:
        result = work()
        db.commit()
    except IntegrityError:
        db.rollback()
        result = work()
        db.commit()
    return result


INGEST_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "no, unknown or invalid device token or API key"},
    403: {"description": "the device is disabled, or the role may not report"},
    409: {"description": "the device is not linked to an active bin"},
    422: {"description": "the body is not a batch of events"},
}


@router.post("/waste/disposals", response_model=BatchResult, responses=INGEST_RESPONSES)
async def post_disposals(sender: Sending, db: Db, body: DisposalBatch) -> BatchResult:
    """Disposal events from a smart bin (or staff): each stored once per (bin, event id);
    the answer says per item whether it was accepted, a duplicate or rejected (with why)."""

    return await run_in_threadpool(_committed, db, lambda: service.ingest(db, sender, body.items))


@router.post("/waste/grades", response_model=BatchResult, responses=INGEST_RESPONSES)
async def post_grades(sender: Sending, db: Db, body: GradeBatch) -> BatchResult:
    """Sorting grades of stored disposals, from the bin itself or an inspector."""

    return await run_in_threadpool(
        _committed, db, lambda: service.grade_items(db, sender, body.items)
    )


@router.post("/waste/status", response_model=ContainerRead, responses=INGEST_RESPONSES)
async def post_status(sender: Sending, db: Db, body: StatusUpdate) -> ContainerRead:
    """A bin's fill level and FIWARE status; raises or clears its full and burning alarms."""

    def run() -> ContainerRead:
        container = service.update_status(db, sender, body)
        db.commit()
        return service.container_read(container)

    return await run_in_threadpool(run)


@router.get("/waste/bins", response_model=list[ContainerRead], dependencies=Checked)
def list_bins(db: Db, actor: LoggedIn, community_id: QueryId = None) -> list[ContainerRead]:
    """Bins the caller may see, with fill level and status."""
    return service.list_bins(db, actor, community_id)


@router.post("/waste/bins", response_model=ContainerRead, status_code=201, dependencies=Checked)
def create_bin(db: Db, actor: LoggedIn, body: ContainerCreate) -> ContainerRead:
    """Register a bin (optionally a smart bin from the device registry)."""
    container = service.create_container(db, actor, body)
    db.commit()
    return service.container_read(container)


@router.get("/waste/categories", response_model=list[CategoryRead], dependencies=Checked)
def categories(db: Db, actor: LoggedIn, community_id: QueryId = None) -> list[CategoryRead]:
    """The city's sorting vocabulary and the GB/T 19095-2019 class of each name."""
    place = service.community_for(db, actor, community_id)
    found = [CategoryRead.model_validate(c) for c in service.vocabulary_for(db, actor, place.id)]
    db.commit()  # the vocabulary is made on first use
    return found


@router.post("/waste/cards", response_model=CardRead, status_code=201, dependencies=Checked)
def create_card(db: Db, actor: LoggedIn, body: CardCreate) -> CardRead:
    """Give a household a disposal card or QR code (only a keyed digest of it is stored)."""
    card = service.register_card(db, actor, body)
    db.commit()
    return service.card_read(card)


@router.get("/waste/trucks", response_model=list[TruckRead], dependencies=Checked)
def trucks(db: Db, actor: LoggedIn, community_id: QueryId = None) -> list[TruckRead]:
    return service.list_trucks(db, actor, community_id)


@router.post("/waste/trucks", response_model=TruckRead, status_code=201, dependencies=Checked)
def create_truck(db: Db, actor: LoggedIn, body: TruckCreate) -> TruckRead:
    truck = service.create_truck(db, actor, body)
    db.commit()
    return TruckRead.model_validate(truck)


class PlanRequest(BaseModel):
    community_id: int


@router.post("/waste/plans", response_model=PlanRead, status_code=201, dependencies=Checked)
def create_plan(db: Db, actor: LoggedIn, body: PlanRequest) -> PlanRead:
    """Plan collection now: a route per truck over the bins at or above their threshold."""
    service.community_for(db, actor, body.community_id)
    plan = service.make_plan(db, actor, body.community_id)
    db.commit()
    return service.plan_read(db, plan)


@router.get("/waste/plans/latest", response_model=PlanRead, dependencies=Checked)
def latest_plan(db: Db, actor: LoggedIn, community_id: QueryId = None) -> PlanRead:
    found = service.latest_plan(db, actor, community_id)
    if found is None:
        raise NotFound(_("No collection plan yet."))
    return found


@router.get("/waste/rates", response_model=Rates, dependencies=Checked)
def rates(
    db: Db,
    actor: LoggedIn,
    start: Annotated[dt.date, Query()],
    end: Annotated[dt.date, Query()],
    community_id: QueryId = None,
) -> Rates:
    """Participation and correctness per building, and their daily trend."""
    return service.rates(db, actor, community_id, start, end)


@router.get("/waste/flagged", response_model=list[DisposalRead], dependencies=Checked)
def flagged(db: Db, actor: LoggedIn, community_id: QueryId = None) -> list[DisposalRead]:
    """Disposals flagged by the anti-fraud rules (they earn no points)."""
    return service.flagged(db, actor, community_id)


@router.get("/me/waste/disposals", response_model=list[DisposalRead], dependencies=Checked)
def my_disposals(db: Db, actor: LoggedIn) -> list[DisposalRead]:
    """The caller's household's disposals and their grades."""
    return service.my_disposals(db, actor)
