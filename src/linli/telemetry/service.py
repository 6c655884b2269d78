"""Telemetry use cases: ingesting device payloads over HTTP, and the quarantine of refused ones."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from linli.core.actor import Actor
from linli.core.errors import LinliError, NotAuthenticated, PermissionDenied
from linli.core.pagination import Page, PageParams
from linli.device import service as device_service
from linli.telemetry import ingest, repository
from linli.telemetry.models import QuarantinedPayload
from linli.telemetry.writer import Batch, BatchWriter, WriteResult

# Roles that see quarantined payloads of no known device (unknown uid or token).
UNKNOWN_DEVICE_ROLES = frozenset({"community_admin", "district_admin"})


class PayloadTooLarge(LinliError):
    """A request body above the ingestion size cap."""

    status_code = 413
    code = "payload_too_large"


class PayloadUnreadable(LinliError):
    """A payload that cannot be parsed at all (it has been quarantined)."""

    status_code = 400
    code = "payload_unreadable"


class StoreUnavailable(LinliError):
    """The readings could not be stored; the sender should retry."""

    status_code = 503
    code = "store_unavailable"


@dataclasses.dataclass(frozen=True, slots=True)
class IngestReport:
    """What became of one payload's items."""

    accepted: int
    duplicate: int
    rejected: list[dict[str, str]]


class QuarantineRead(BaseModel):
    """A refused payload or item as staff see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: dt.datetime
    transport: str
    device_uid: str
    device_id: int | None
    content_type: str
    reason: str
    raw: str


def _device_for_token(db: Session, token: str) -> device_service.DeviceRef | None:
    if not token.startswith(device_service.DEVICE_TOKEN_PREFIX) or len(token) > 200:
        return None
    return ingest.cached_device(
        ingest.token_key(token), lambda: device_service.ref_by_token(db, token)
    )


async def _store(writer: BatchWriter, batch: Batch) -> WriteResult:
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[WriteResult | BaseException] = loop.create_future()

    def done(result: WriteResult | BaseException) -> None:
        loop.call_soon_threadsafe(_settle, waiter, result)

    writer.submit(batch, done)
    result = await waiter
    if isinstance(result, BaseException):
        raise StoreUnavailable("the readings could not be stored; please retry") from result
    return result


def _settle(
    waiter: asyncio.Future[WriteResult | BaseException], result: WriteResult | BaseException
) -> None:
    if not waiter.done():
        waiter.set_result(result)


async def ingest_http(
    db: Session,
    *,
    token: str,
    payload: bytes,
    content_type: str,
    writer: BatchWriter,
    received_ms: int | None = None,
) -> IngestReport:
    """Store a device's payload sent over HTTP; answers only after the readings are committed."""
    received = int(time.time() * 1000) if received_ms is None else received_ms
    device = ingest.devices.get(ingest.token_key(token)) if token else None
    if device is None:
        device = await run_in_threadpool(_device_for_token, db, token)
        db.close()  # give the connection back before waiting for the writer
    if device is None:
        raise NotAuthenticated("unknown or invalid device token")
    if not device.active:
        raise PermissionDenied("this device is disabled")
    if len(payload) > ingest.MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {ingest.MAX_BODY_BYTES} bytes")
    try:
        prepared = ingest.prepare(device, payload, content_type, received, transport="http")
    except ingest.Unreadable as exc:
        await _store(writer, exc.batch)
        raise PayloadUnreadable(exc.reason) from None
    result = await _store(writer, prepared.batch)
    return IngestReport(
        accepted=result.inserted, duplicate=result.duplicate, rejected=prepared.rejected
    )


def quarantined(db: Session, actor: Actor, params: PageParams) -> Page[QuarantineRead]:
    """The quarantine entries of the devices the actor may see, newest first."""
    if not device_service.can_view_devices(actor):
        raise PermissionDenied("your role cannot see the device quarantine")
    q = QuarantinedPayload
    visible: ColumnElement[bool] = q.device_id.in_(device_service.visible_device_ids(actor))
    if actor.roles & UNKNOWN_DEVICE_ROLES:
        visible = or_(visible, q.device_id.is_(None))
    total = db.scalar(select(func.count()).select_from(q).where(visible)) or 0
    rows = db.scalars(
        select(q).where(visible).order_by(q.id.desc()).offset(params.offset).limit(params.size)
    )
    return Page[QuarantineRead](
        items=[QuarantineRead.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        size=params.size,
    )


def numeric_readings(
    db: Session, datastream_id: int, start_ms: int, end_ms: int, limit: int
) -> list[tuple[int, float]]:
    """Up to ``limit`` numeric readings (ts, value) in ``[start_ms, end_ms)``, oldest first."""
    rows = repository.observation_batch(db, datastream_id, start_ms, end_ms, limit)
    return [(ts, value) for ts, value, _text in rows if value is not None]
