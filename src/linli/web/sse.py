"""Server-sent events from the in-process hub: each event is written to the client at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from linli.core.events import Event, hub

# A comment line this often keeps proxies and browsers from closing an idle stream.
HEARTBEAT_S = 15.0
# How long a browser waits before reconnecting after the stream broke.
RETRY_MS = 3000
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
MEDIA_TYPE = "text/event-stream"


def encode(event: str, data: dict[str, Any]) -> bytes:
    """One event in the text/event-stream format (JSON data on a single line)."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def events(
    queue: asyncio.Queue[Event],
    name: str,
    accept: Callable[[dict[str, Any]], bool],
    *,
    heartbeat_s: float | None = None,
) -> AsyncIterator[bytes]:
    """The events from ``queue`` that ``accept`` lets through, until the client goes away.

    A subscriber that fell behind and lost events gets a ``gap`` event first: it should reload
    what it shows.
    """
    idle = HEARTBEAT_S if heartbeat_s is None else heartbeat_s
    yield f"retry: {RETRY_MS}\n\n".encode()
    while True:
        try:
            event = await asyncio.wait_for(queue.get(), idle)
        except TimeoutError:
            yield b": keep-alive\n\n"
            continue
        if event.gap:
            yield encode("gap", {})
        if accept(event.data):
            yield encode(name, event.data)


class EventStream(StreamingResponse):
    """A streaming response that ends its hub subscription however the response ends."""

    def __init__(self, content: AsyncIterator[bytes], subscription: contextlib.AsyncExitStack):
        super().__init__(content, media_type=MEDIA_TYPE, headers=HEADERS)
        self.subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.subscription.aclose()


async def stream(topic: str, name: str, accept: Callable[[dict[str, Any]], bool]) -> EventStream:
    """A streaming response of the accepted events of ``topic``; nothing buffers it on the way.

    The subscription is made before the response starts, so a client that has the response
    headers misses nothing published after them.
    """
    subscription = contextlib.AsyncExitStack()
    queue = await subscription.enter_async_context(hub.subscribe(topic))
    return EventStream(events(queue, name, accept), subscription)
