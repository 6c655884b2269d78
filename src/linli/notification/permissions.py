"""Who may see and manage notification endpoints and the outbox.

A person's own messages are theirs alone: no role reads another person's inbox, and staff see
messages to people only as counts. Endpoints (and what was sent to them) belong to a place.
"""

from __future__ import annotations

from sqlalchemy import Select

from linli.core.actor import ACCOUNT_ADMIN_ROLES, Actor
from linli.place import service as place_service

# Configure endpoints and send dead messages again.
ENDPOINT_ADMIN_ROLES = ACCOUNT_ADMIN_ROLES
# See endpoints (masked) and the outbox of their places.
OUTBOX_VIEW_ROLES = ENDPOINT_ADMIN_ROLES | frozenset({"community_staff", "auditor"})


def can_manage(actor: Actor, place_path: str) -> bool:
    """Whether the actor may add, change or remove endpoints at this place, or retry."""
    return actor.holds(ENDPOINT_ADMIN_ROLES, place_path)


def can_view(actor: Actor, place_path: str) -> bool:
    """Whether the actor may see the endpoints and outbox of this place."""
    return actor.holds(OUTBOX_VIEW_ROLES, place_path)


def may_view_any(actor: Actor) -> bool:
    return bool(actor.roles & OUTBOX_VIEW_ROLES)


def may_manage_any(actor: Actor) -> bool:
    return bool(actor.roles & ENDPOINT_ADMIN_ROLES)


def viewable_places(actor: Actor) -> Select[int]:
    """A subquery of the ids of the places whose endpoints and outbox the actor may see."""
    return place_service.ids_under(actor.paths_for(OUTBOX_VIEW_ROLES))


def manageable_paths(actor: Actor) -> list[str]:
    return actor.paths_for(ENDPOINT_ADMIN_ROLES)


def owns(actor: Actor, account_id: int | None) -> bool:
    """Whether a message addressed to ``account_id`` is the actor's own."""
    return actor.account_id is not None and account_id == actor.account_id
