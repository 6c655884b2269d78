"""Who may run a community's points programme and see which households' points."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false

from linli.core.actor import Actor
from linli.place import service as place_service
from linli.points.models import Redemption

# Set up rules and rewards, hand rewards over, record volunteering, read a household's statement.
POINTS_ADMIN_ROLES = frozenset({"community_staff", "community_admin", "district_admin"})


def may_manage_any(actor: Actor) -> bool:
    return bool(actor.roles & POINTS_ADMIN_ROLES)


def can_manage(actor: Actor, community_path: str) -> bool:
    """Whether the actor runs the points programme of the community at ``community_path``."""
    return actor.holds(POINTS_ADMIN_ROLES, community_path)


def managed_redemptions(actor: Actor) -> ColumnElement[bool]:
    """SQL condition of the redemptions the actor may hand over or cancel."""
    paths = actor.paths_for(POINTS_ADMIN_ROLES)
    if not paths:
        return false()
    return Redemption.community_id.in_(place_service.ids_under(paths))
