"""Rate limits at the HTTP boundary: count an attempt for the acting person or address, audit a
refusal. The limits themselves are declared in :mod:`linli.core.ratelimit`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from linli.audit import service as audit_service
from linli.core import ratelimit
from linli.core.actor import Actor
from linli.core.ratelimit import Limit, RateLimited


def key_for(limit: Limit, actor: Actor) -> str:
    """The key a limit counts by: the account, or the client address (anonymous or "ip").

    Staff acting for a resident (assisted mode) count per resident they act for: a grid worker
    filing for ten elders in a morning is not flooding.
    """
    if limit.per == "account" and actor.account_id is not None:
        if actor.on_behalf_of_resident_id is not None:
            return f"account:{actor.account_id}:for:{actor.on_behalf_of_resident_id}"
        return f"account:{actor.account_id}"
    return f"ip:{actor.ip or 'unknown'}"


def enforce(db: Session, actor: Actor, limit: Limit, *, key: str | None = None) -> None:
    """Count one attempt and commit it at once, or refuse with 429 and an audit row.

    Call it at the start of a route, before anything else is pending in ``db``: the commit
    keeps the attempt counted even when the action then fails (a failed vote or login is
    still an attempt), and on PostgreSQL it ends the short per-key lock of the count.
    """
    try:
        ratelimit.hit(db, limit, key if key is not None else key_for(limit, actor))
    except RateLimited as exc:
        audit_service.record(
            db,
            actor=actor,
            action="ratelimit.refused",
            outcome="denied",
            subject_type="rate_limit",
            subject_id=exc.limit.name,
            detail={"limit": exc.limit.name, "retry_after": exc.retry_after},
        )
        raise
    db.commit()
