"""JSON API of the device registry: devices, their datastreams and tokens, device profiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from linli.core.pagination import Page, PageParams
from linli.device import service
from linli.device.schemas import (
    Connection,
    DatastreamView,
    DeviceCreate,
    DeviceIssued,
    DeviceSummary,
    ProfileRead,
)
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId, QueryId

router = APIRouter(prefix="/api/v1", tags=["devices"], dependencies=[CsrfChecked])
Paging = Annotated[PageParams, Depends()]
# A token in a response must not linger in any cache.
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/devices", response_model=Page[DeviceSummary])
def list_devices(
    db: Db,
    actor: LoggedIn,
    paging: Paging,
    place_id: QueryId = None,
    profile: Annotated[str | None, Query(max_length=64)] = None,
    connection: Connection | None = None,
) -> Page[DeviceSummary]:
    """Devices the caller may see, with connection status and last reading time."""
    items, total = service.list_devices(
        db, actor, params=paging, place_id=place_id, profile=profile, connection=connection
    )
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post("/devices", response_model=DeviceIssued, status_code=201)
def create_device(db: Db, actor: LoggedIn, body: DeviceCreate) -> JSONResponse:
    """Register a device; its token is in this answer only."""
    issued = service.register(db, actor, body)
    db.commit()
    return JSONResponse(issued.model_dump(mode="json"), status_code=201, headers=NO_STORE)


@router.get("/devices/{device_id}", response_model=DeviceSummary)
def get_device(db: Db, actor: LoggedIn, device_id: PathId) -> DeviceSummary:
    return service.get_device(db, actor, device_id)


@router.get("/devices/{device_id}/datastreams", response_model=list[DatastreamView])
def device_datastreams(db: Db, actor: LoggedIn, device_id: PathId) -> list[DatastreamView]:
    """The device's datastreams with their latest values."""
    return service.datastreams(db, actor, device_id)


@router.post("/devices/{device_id}/disable", response_model=DeviceSummary)
def disable_device(db: Db, actor: LoggedIn, device_id: PathId) -> DeviceSummary:
    """Refuse the device's readings until it is enabled again."""
    summary = service.set_enabled(db, actor, device_id, enabled=False)
    db.commit()
    return summary


@router.post("/devices/{device_id}/enable", response_model=DeviceSummary)
def enable_device(db: Db, actor: LoggedIn, device_id: PathId) -> DeviceSummary:
    summary = service.set_enabled(db, actor, device_id, enabled=True)
    db.commit()
    return summary


@router.post("/devices/{device_id}/token", response_model=DeviceIssued)
def rotate_token(db: Db, actor: LoggedIn, device_id: PathId) -> JSONResponse:
    """Issue a new token; the old one stops working. The new token is in this answer only."""
    issued = service.rotate_token(db, actor, device_id)
    db.commit()
    return JSONResponse(issued.model_dump(mode="json"), headers=NO_STORE)


@router.get("/device-profiles", response_model=list[ProfileRead])
def list_profiles(db: Db, actor: LoggedIn) -> list[ProfileRead]:
    """The kinds of device: what each measures and which payload adapter reads it."""
    return service.profiles(db, actor)
