"""Who may read the audit log, and which part of it."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, or_

from linli.audit.models import AuditEvent
from linli.core.actor import Actor
from linli.place import service as place_service

SEARCH_ROLES = frozenset({"auditor", "district_admin", "community_admin"})
# Grants at this depth or above (city, district) also see events tied to no place.
WIDE_GRANT_DEPTH = 2


def can_search(actor: Actor) -> bool:
    return bool(actor.roles & SEARCH_ROLES)


def restrict(actor: Actor, stmt: Select[AuditEvent]) -> Select[AuditEvent]:
    """Limit ``stmt`` to events about places under the actor's auditing grants."""
    paths = actor.paths_for(SEARCH_ROLES)
    if not paths:
        return stmt.where(false())
    clauses: list[ColumnElement[bool]] = [AuditEvent.place_id.in_(place_service.ids_under(paths))]
    if any(place_service.depth(path) <= WIDE_GRANT_DEPTH for path in paths):
        clauses.append(AuditEvent.place_id.is_(None))
    return stmt.where(or_(*clauses))
