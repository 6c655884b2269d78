"""Device ingestion over HTTP (device token auth) and the telemetry runtime of the app's lifespan.

Devices authenticate with their own token, never with a session or an API key, so these routes
take no actor and need no CSRF token (they carry no ambient credentials).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from linli.config import Settings
from linli.telemetry import ingest, service
from linli.telemetry.mqtt import Subscriber
from linli.telemetry.writer import BatchWriter
from linli.web.deps import Db

log = logging.getLogger("linli.telemetry")
router = APIRouter(prefix="/api/v1", tags=["telemetry ingestion"])
_writer_lock = threading.Lock()


class RejectedItem(BaseModel):
    item: str = Field(description="the key (or position) of the refused item")
    reason: str


class IngestReply(BaseModel):
    accepted: int = Field(description="readings stored by this request")
    duplicate: int = Field(description="readings already stored (same datastream and time)")
    rejected: int = Field(description="items refused; each is quarantined with its reason")
    rejected_items: list[RejectedItem]


def writer_of(app: FastAPI) -> BatchWriter:
    """The app's telemetry writer, started on first use."""
    writer: BatchWriter | None = getattr(app.state, "telemetry_writer", None)
    if writer is None:
        with _writer_lock:
            writer = getattr(app.state, "telemetry_writer", None)
            if writer is None:
                writer = BatchWriter(app.state.engine)
                # Whoever evaluates stored readings (the rule engine) registers here.
                writer.observers.extend(getattr(app.state, "writer_observers", ()))
                writer.start()
                app.state.telemetry_writer = writer
    return writer


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the telemetry writer (and the MQTT subscriber when configured) with the app."""
    settings: Settings = app.state.settings
    subscriber: Subscriber | None = None
    if settings.mqtt_url:
        subscriber = Subscriber(
            app.state.engine,
            settings.mqtt_url,
            shared_group=settings.mqtt_shared_group,
            writer=writer_of(app),
        )
        subscriber.start()
    try:
        yield
    finally:
        if subscriber is not None:
            await run_in_threadpool(subscriber.stop)
        writer: BatchWriter | None = getattr(app.state, "telemetry_writer", None)
        if writer is not None:
            await run_in_threadpool(writer.stop)
            app.state.telemetry_writer = None


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > ingest.MAX_BODY_BYTES:
        raise service.PayloadTooLarge(f"the body is larger than {ingest.MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > ingest.MAX_BODY_BYTES:
            raise service.PayloadTooLarge(f"the body is larger than {ingest.MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _ingest(request: Request, db: Db, token: str) -> Response:
    body = await _body(request)
    report = await service.ingest_http(
        db,
        token=token,
        payload=body,
        content_type=request.headers.get("content-type", ""),
        writer=writer_of(request.app),
    )
    content = orjson.dumps(
        {
            "accepted": report.accepted,
            "duplicate": report.duplicate,
            "rejected": len(report.rejected),
            "rejected_items": report.rejected,
        }
    )
    return Response(content, media_type="application/json")


RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"description": "the payload cannot be read at all (it is quarantined)"},
    401: {"description": "unknown or invalid device token"},
    403: {"description": "the device is disabled"},
    413: {"description": "the body is larger than 1 MiB"},
    503: {"description": "the readings could not be stored; retry"},
}


@router.post("/telemetry", response_model=IngestReply, responses=RESPONSES)
async def post_telemetry(request: Request, db: Db) -> Response:
    """Readings from a device, authenticated by ``Authorization: Bearer <device token>``."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    return await _ingest(request, db, token)


@router.post("/{device_token}/telemetry", response_model=IngestReply, responses=RESPONSES)
async def post_telemetry_alias(device_token: str, request: Request, db: Db) -> Response:
    """ThingsBoard-compatible alias: the device token in the path."""
    return await _ingest(request, db, device_token)
