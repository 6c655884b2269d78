"""Write, search and verify the audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from linli.audit import permissions, repository
from linli.audit.models import GENESIS_HASH, AuditEvent
from linli.core.actor import Actor
from linli.core.db import KEEP_ON_ERROR
from linli.core.errors import PermissionDenied
from linli.core.pagination import PageParams
from linli.core.time import UTC, utc_now


def _canonical(event: AuditEvent) -> bytes:
    body = {
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": event.action,
        "outcome": event.outcome,
        "actor_account_id": event.actor_account_id,
        "actor_username": event.actor_username,
        "on_behalf_of_resident_id": event.on_behalf_of_resident_id,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "subject_resident_id": event.subject_resident_id,
        "place_id": event.place_id,
        "fields": event.fields,
        "reason": event.reason,
        "ip": event.ip,
        "detail": event.detail,
    }
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    """SHA-256 over the previous hash and the event's canonical content."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(event)).hexdigest()


def record(
    db: Session,
    *,
    actor: Actor,
    action: str,
    outcome: str = "ok",
    subject_type: str = "",
    subject_id: str | int = "",
    subject_resident_id: int | None = None,
    place_id: int | None = None,
    fields: Iterable[str] = (),
    reason: str = "",
    detail: dict[str, Any] | None = None,
    actor_username: str | None = None,
) -> AuditEvent:
    """Append one event (in the caller's transaction). Never pass personal data in ``detail``.

    A refusal (``outcome="denied"``) is kept even when the request then fails with the error
    that follows it: record it before changing anything else.
    """
    prev_hash = repository.lock_chain_head(db)
    event = AuditEvent(
        at=utc_now(),
        action=action,
        outcome=outcome,
        actor_account_id=actor.account_id,
        actor_username=actor_username if actor_username is not None else actor.username,
        on_behalf_of_resident_id=actor.on_behalf_of_resident_id,
        subject_type=subject_type,
        subject_id=str(subject_id),
        subject_resident_id=subject_resident_id,
        place_id=place_id,
        fields=",".join(sorted(fields)),
        reason=reason[:500],
        ip=(actor.ip or "")[:64],
        detail=orjson.dumps(detail or {}, option=orjson.OPT_SORT_KEYS).decode(),
    )
    event.prev_hash = prev_hash
    event.hash = compute_hash(prev_hash, event)
    repository.add(db, event)
    repository.set_chain_head(db, event.hash)
    if outcome == "denied":
        db.info[KEEP_ON_ERROR] = True
    return event


@dataclass
class VerifyResult:
    """Outcome of checking the whole chain."""

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""


def verify(db: Session) -> VerifyResult:
    """Recompute the chain; report the first event that was changed, removed or inserted."""
    prev = GENESIS_HASH
    count = 0
    for event in repository.iter_in_order(db):
        count += 1
        if event.prev_hash != prev:
            return VerifyResult(False, count, event.id, "link to the previous event is broken")
        if compute_hash(prev, event) != event.hash:
            return VerifyResult(False, count, event.id, "content does not match its hash")
        prev = event.hash
    if repository.chain_head_hash(db) != prev:
        return VerifyResult(False, count, None, "events are missing at the end of the log")
    return VerifyResult(True, count)


def search(
    db: Session,
    actor: Actor,
    *,
    params: PageParams,
    action: str | None = None,
    actor_username: str | None = None,
    subject_resident_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> tuple[list[AuditEvent], int]:
    """Search the log (auditors; administrators within their places)."""
    if not permissions.can_search(actor):
        raise PermissionDenied("only auditors and administrators can search the audit log")
    stmt = repository.search_statement(
        action=action,
        actor_username=actor_username,
        subject_resident_id=subject_resident_id,
        since=since,
        until=until,
    )
    stmt = permissions.restrict(actor, stmt)
    return repository.page(db, stmt, offset=params.offset, limit=params.size)


def accesses_to_me(
    db: Session, actor: Actor, *, params: PageParams
) -> tuple[list[AuditEvent], int]:
    """Events about the acting resident's own data: who looked at or changed it, and why."""
    resident_id = actor.effective_resident_id
    if resident_id is None:
        raise PermissionDenied("this page is for residents")
    stmt = repository.search_statement(subject_resident_id=resident_id)
    return repository.page(db, stmt, offset=params.offset, limit=params.size)
