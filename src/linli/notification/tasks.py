"""Delivery workers: send the outbox's pending messages, retry with backoff, give up into the
dead-letter list.

One loop per channel, so a slow channel never holds up another. Within a channel, due messages
are grouped by destination (an endpoint or a person's address); each destination is served by
its own task with a small concurrency limit, so one dead endpoint never delays the others. When
a delivery to a destination fails and may be retried, the messages queued behind it are not
tried now but wait for the same retry time: a receiver that is down gets one probe per backoff
step, not one per message.

A message is claimed before it is sent (its ``next_attempt_at`` moves from the value read to
now + lease, and only the process whose update changed the row sends it) and its outcome is
recorded only under that claim, so several processes can run workers on one database and a
retry never sends twice. Each worker commits its own small transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from linli.config import Settings
from linli.core.db import session_scope
from linli.core.time import utc_now
from linli.notification import channels, service
from linli.notification.channels import DeliveryError, Message
from linli.notification.service import Delivery, Destination

log = logging.getLogger(__name__)

CHANNELS = ("email", "webhook", "sms", "wecom", "dingtalk")


def backoff(attempts: int, base: float, cap: float, jitter: float = 0.2) -> float:
    """Seconds to wait after the ``attempts``-th failure: base · 2^(attempts-1), capped, with
    up to ``jitter`` of it taken off at random so that retries of many messages spread out."""
    delay: float = min(cap, base * 2.0 ** max(0, attempts - 1))
    return delay * (1 - jitter * random.random())  # noqa: S311  # spreading, not security


def retry_window(base: float, cap: float, max_attempts: int) -> float:
    """How long a message is retried before it is given up (without jitter)."""
    return float(sum(min(cap, base * 2.0 ** (n - 1)) for n in range(1, max_attempts)))


@dataclass
class _Channel:
    """The state of one channel's loop."""

    name: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Destination key -> the task serving it.
    busy: dict[str, asyncio.Task[None]] = field(default_factory=dict)


@dataclass
class _Trouble:
    """Set by the first retryable failure at a destination: the rest wait for this retry."""

    reason: str = ""
    retry_at: dt.datetime | None = None


class DeliveryWorkers:
    """The delivery loops of one process. Use as ``async with DeliveryWorkers(...):``."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        *,
        base_delay: float = 2.0,
        max_delay: float = 1800.0,
        max_attempts: int = 57,
        poll_interval: float = 1.0,
        batch_size: int = 100,
        per_destination: int = 4,
        max_destinations: int = 50,
        lease: float = 60.0,
        jitter: float = 0.2,
        channel_names: tuple[str, ...] = CHANNELS,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.per_destination = per_destination
        self.max_destinations = max_destinations
        self.lease = dt.timedelta(seconds=lease)
        self.jitter = jitter
        self.window = dt.timedelta(seconds=retry_window(base_delay, max_delay, max_attempts))
        self.channel_names = channel_names
        self._client = client
        self._own_client = client is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._channels: dict[str, _Channel] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    # --- life -------------------------------------------------------------------------------

    async def start(self, app: FastAPI | None = None) -> None:
        """Start one loop per channel on the running event loop."""
        if self._loops:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        if self._client is None:
            self._client = channels.new_client()
        self._channels = {name: _Channel(name) for name in self.channel_names}
        service.add_waker(self._wake_threadsafe)
        self._loops = [
            asyncio.create_task(self._run(state), name=f"linli-notify-{name}")
            for name, state in self._channels.items()
        ]
        if app is not None:
            app.state.delivery_workers = self

    async def stop(self, grace: float = 5.0) -> None:
        """Stop fetching, let deliveries under way finish for ``grace`` seconds, then cancel."""
        service.remove_waker(self._wake_threadsafe)
        self._stopping = True
        for state in self._channels.values():
            state.wake.set()
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        in_flight = [t for state in self._channels.values() for t in state.busy.values()]
        if in_flight:
            _done, still = await asyncio.wait(in_flight, timeout=grace)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> DeliveryWorkers:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def wake(self, names: frozenset[str] | None = None) -> None:
        """Look for due messages now (call from the event loop's thread)."""
        for name, state in self._channels.items():
            if names is None or name in names:
                state.wake.set()

    def _wake_threadsafe(self, names: frozenset[str]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(self.wake, names)

    # --- the loop of a channel ---------------------------------------------------------------

    async def _run(self, state: _Channel) -> None:
        while not self._stopping:
            state.wake.clear()
            try:
                fetched, started = await self._dispatch(state)
            except Exception:
                log.exception("notification dispatch failed", extra={"channel": state.name})
                fetched, started = 0, 0
            if started and fetched >= self.batch_size:
                continue  # more are probably due
            # asyncio.timeout rather than wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that arrives as the wait ends, and the loop would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await state.wake.wait()

    async def _dispatch(self, state: _Channel) -> tuple[int, int]:
        """Start a task for each free destination with due messages."""
        free = self.max_destinations - len(state.busy)
        if free <= 0:
            return 0, 0
        due = await asyncio.to_thread(self._due, state.name, frozenset(state.busy))
        groups: dict[str, list[Delivery]] = {}
        for delivery in due:
            groups.setdefault(delivery.destination, []).append(delivery)
        started = 0
        for key, items in groups.items():
            if started >= free:
                break
            task = asyncio.create_task(self._serve(items), name=f"linli-notify-{key}")
            state.busy[key] = task
            task.add_done_callback(functools.partial(self._released, state, key))
            started += 1
        return len(due), started

    def _released(self, state: _Channel, key: str, _task: asyncio.Task[None]) -> None:
        state.busy.pop(key, None)
        state.wake.set()  # its queue may have more, and a slot is free

    async def _serve(self, items: list[Delivery]) -> None:
        """Deliver one destination's messages, a few at a time, oldest first."""
        limit = asyncio.Semaphore(self.per_destination)
        trouble = _Trouble()

        async def one(delivery: Delivery) -> None:
            async with limit:
                try:
                    if trouble.retry_at is not None:
                        await asyncio.to_thread(self._defer, delivery, trouble)
                    else:
                        await self._deliver(delivery, trouble)
                except Exception:
                    log.exception("notification delivery failed", extra={"id": delivery.id})

        await asyncio.gather(*(one(d) for d in items))

    async def _deliver(self, delivery: Delivery, trouble: _Trouble) -> None:
        until = utc_now() + self.lease
        claimed, target = await asyncio.to_thread(self._claim, delivery, until)
        if not claimed:
            return  # another process has it
        if isinstance(target, str):
            await asyncio.to_thread(self._failed, delivery, until, target, None)
            return
        try:
            await self._send(delivery, target)
        except DeliveryError as exc:
            retry_at = self._retry_at(delivery, exc.permanent)
            if retry_at is not None and trouble.retry_at is None:
                trouble.reason, trouble.retry_at = exc.reason, retry_at
            await asyncio.to_thread(self._failed, delivery, until, exc.reason, retry_at)
        except Exception as exc:  # a bug or an unexpected library error: retry, and log it
            log.exception("unexpected error sending a notification", extra={"id": delivery.id})
            reason = f"unexpected error: {exc.__class__.__name__}"
            await asyncio.to_thread(
                self._failed, delivery, until, reason, self._retry_at(delivery, False)
            )
        else:
            await asyncio.to_thread(self._sent, delivery, until, target)

    def _retry_at(self, delivery: Delivery, permanent: bool) -> dt.datetime | None:
        attempts = delivery.attempts + 1
        if permanent or attempts >= self.max_attempts:
            return None
        delay = backoff(attempts, self.base_delay, self.max_delay, self.jitter)
        return utc_now() + dt.timedelta(seconds=delay)

    async def _send(self, delivery: Delivery, target: Destination) -> None:
        message = self.message_of(delivery)
        client = self._client
        assert client is not None, "start() the workers first"
        locale = self.settings.default_locale
        if delivery.channel == "email":
            await channels.send_email(self.settings, target.address, message)
        elif delivery.channel == "webhook":
            await channels.send_webhook(client, target.address, target.secret, message)
        elif delivery.channel == "sms":
            await channels.send_sms(
                client, target.address, target.secret, target.recipients, message, locale
            )
        elif delivery.channel == "wecom":
            await channels.send_wecom(client, target.address, message, locale)
        elif delivery.channel == "dingtalk":
            await channels.send_dingtalk(client, target.address, target.secret, message, locale)
        else:
            raise DeliveryError(f"unknown channel {delivery.channel}", permanent=True)

    def message_of(self, delivery: Delivery) -> Message:
        link = delivery.link
        if link.startswith("/"):
            link = self.settings.base_url.rstrip("/") + link
        return Message(
            key=delivery.idempotency_key,
            event=service.event_key(delivery.idempotency_key),
            category=delivery.category,
            severity=delivery.severity,
            subject=delivery.subject,
            body=delivery.body,
            link=link,
            created_at=delivery.created_at,
            data=delivery.data,
        )

    # --- database work (worker threads, one short transaction each) -------------------------

    def _due(self, channel: str, busy: frozenset[str]) -> list[Delivery]:
        with session_scope(self.factory) as db:
            return service.due(db, channel, limit=self.batch_size, busy=busy)

    def _claim(self, delivery: Delivery, until: dt.datetime) -> tuple[bool, Destination | str]:
        with session_scope(self.factory) as db:
            if not service.claim(db, delivery, until):
                return False, ""
            return True, service.destination(db, delivery)

    def _sent(self, delivery: Delivery, until: dt.datetime, target: Destination) -> None:
        with session_scope(self.factory) as db:
            if not service.record_sent(db, delivery, until, target):
                log.warning("a delivered notification's lease had expired", extra=_ids(delivery))

    def _failed(
        self, delivery: Delivery, until: dt.datetime, reason: str, retry_at: dt.datetime | None
    ) -> None:
        with session_scope(self.factory) as db:
            service.record_failure(db, delivery, until, reason=reason, retry_at=retry_at)

    def _defer(self, delivery: Delivery, trouble: _Trouble) -> None:
        """Move a message behind a failing one to the same retry time, without trying it."""
        now = utc_now()
        until = now + self.lease
        with session_scope(self.factory) as db:
            if not service.claim(db, delivery, until):
                return
            if now - delivery.created_at > self.window:
                reason = f"gave up: the destination failed for longer than {self.window}"
                service.record_failure(
                    db, delivery, until, reason=f"{reason}: {trouble.reason}", retry_at=None
                )
                return
            service.record_failure(
                db,
                delivery,
                until,
                reason=f"waiting: an earlier message to this destination failed: {trouble.reason}",
                retry_at=trouble.retry_at,
                attempted=False,
            )


def _ids(delivery: Delivery) -> dict[str, Any]:
    return {"id": delivery.id, "channel": delivery.channel}


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the delivery workers while the app runs (when background jobs are on)."""
    if not app.state.settings.background_jobs:
        yield
        return
    workers = DeliveryWorkers(app.state.sessionmaker, app.state.settings)
    await workers.start(app)
    try:
        yield
    finally:
        await workers.stop()
