"""The actors behind API keys, remembered for a few seconds.

Resolving a key costs several queries; a program polling the API repeats the same key many times
a second. A committed change to any account, grant or API key in this process clears the whole
cache at once; other processes of a scaled-out deployment notice within ``LINLI_AUTH_CACHE_SECONDS``
(default 5 s), which bounds how long a revoked key can still be used there.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import InstanceState, Session

from linli.account.models import Account, ApiKey, RoleGrant
from linli.core.actor import Actor

MAX_ENTRIES = 10_000
_WATCHED = (Account, ApiKey, RoleGrant)
_FLAG = "linli_auth_changed"


class ActorCache:
    """A small thread-safe map from a key digest to an actor, each entry with a deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, Actor]] = {}

    def get(self, digest: str) -> Actor | None:
        item = self._items.get(digest)
        if item is None:
            return None
        deadline, actor = item
        if time.monotonic() >= deadline:
            with self._lock:
                self._items.pop(digest, None)
            return None
        return actor

    def put(self, digest: str, actor: Actor, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            if len(self._items) >= MAX_ENTRIES:
                self._items.clear()
            self._items[digest] = (time.monotonic() + seconds, actor)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


api_key_actors = ActorCache()


# Bookkeeping columns whose change does not alter who the actor is.
_BOOKKEEPING = frozenset({"last_used_at", "last_login_at"})


def _alters_identity(obj: object) -> bool:
    if not isinstance(obj, _WATCHED):
        return False
    state: InstanceState[object] = inspect(obj)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    return not changed or bool(changed - _BOOKKEEPING)


def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    added_or_removed = (*session.new, *session.deleted)
    if any(isinstance(obj, _WATCHED) for obj in added_or_removed) or any(
        _alters_identity(obj) for obj in session.dirty
    ):
        session.info[_FLAG] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        api_key_actors.clear()


def _after_rollback(session: Session) -> None:
    session.info.pop(_FLAG, None)


event.listen(Session, "before_flush", _note_changes)
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_rollback", _after_rollback)
