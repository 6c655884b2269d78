"""In-process publish/subscribe for live pages (server-sent events).

Publishers may be any thread (the telemetry writer, a delivery worker, a request); subscribers
are asyncio consumers on the server's event loop. A slow subscriber never blocks a publisher:
its queue is bounded and, when full, the oldest event is dropped and the subscriber is told it
missed some (it reloads). Events are published after the change they describe has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

QUEUE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Event:
    """One published fact: its topic (``alarm``, ``inbox:<account id>`` ...) and its data."""

    topic: str
    data: dict[str, Any]
    # True on the first event after this subscriber lost some: it should reload.
    gap: bool = False


@dataclass(eq=False)
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    topics: frozenset[str]
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    lost: bool = False

    def offer(self, event: Event) -> None:
        # Runs on the subscriber's loop.
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.lost = True
        if self.lost:
            event = Event(event.topic, event.data, gap=True)
            self.lost = False
        self.queue.put_nowait(event)


class Hub:
    """Topics to subscribers; thread-safe publishing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[_Subscriber] = set()

    def publish(self, topic: str, data: dict[str, Any]) -> int:
        """Hand ``data`` to every subscriber of ``topic``; returns how many there are."""
        with self._lock:
            targets = [s for s in self._subscribers if topic in s.topics]
        event = Event(topic, data)
        for sub in targets:
            try:
                sub.loop.call_soon_threadsafe(sub.offer, event)
            except RuntimeError:  # the subscriber's loop has closed
                with self._lock:
                    self._subscribers.discard(sub)
        return len(targets)

    def subscribers(self, topic: str) -> int:
        """How many subscribers listen to ``topic`` now."""
        with self._lock:
            return sum(1 for s in self._subscribers if topic in s.topics)

    @contextlib.asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue of the events of ``topics`` for as long as the context lasts."""
        sub = _Subscriber(asyncio.get_running_loop(), frozenset(topics))
        with self._lock:
            self._subscribers.add(sub)
        try:
            yield sub.queue
        finally:
            with self._lock:
                self._subscribers.discard(sub)


hub = Hub()


class AfterCommit:
    """Events queued in a database session and published on ``topic`` once it commits.

    A rollback drops them: nobody hears of a change that did not happen. One instance per topic,
    made at import; it registers its session listeners once.
    """

    def __init__(self, topic: str) -> None:
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        self.topic = topic
        self._key = f"linli_events:{topic}"
        # One bound-method object each, so that registering twice is seen and skipped.
        self._on_commit = self._commit
        self._on_rollback = self._rollback
        if not event.contains(Session, "after_commit", self._on_commit):
            event.listen(Session, "after_commit", self._on_commit)
            event.listen(Session, "after_rollback", self._on_rollback)

    def queue(self, session: Any, data: dict[str, Any]) -> None:
        """Publish ``data`` when ``session`` commits."""
        pending: list[dict[str, Any]] = session.info.setdefault(self._key, [])
        pending.append(data)

    def _commit(self, session: Any) -> None:
        for data in session.info.pop(self._key, []):
            hub.publish(self.topic, data)

    def _rollback(self, session: Any) -> None:
        session.info.pop(self._key, None)
