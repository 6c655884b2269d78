"""Who may see and change which rules: by role, on the rule's place and its subtree."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false

from linli.core.actor import Actor
from linli.place import service as place_service
from linli.rule.models import Rule

RULE_ADMIN_ROLES = frozenset(
    {"community_staff", "property_manager", "community_admin", "district_admin"}
)
RULE_VIEW_ROLES = RULE_ADMIN_ROLES | frozenset({"grid_worker", "responder", "auditor"})


def can_manage(actor: Actor, place_path: str) -> bool:
    """Whether the actor may create, change, switch and delete rules at this place."""
    return actor.holds(RULE_ADMIN_ROLES, place_path)


def can_view(actor: Actor, place_path: str) -> bool:
    """Whether the actor may see rules at this place."""
    return actor.holds(RULE_VIEW_ROLES, place_path)


def visible(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: rules at places under those where the actor holds a viewing role."""
    paths = actor.paths_for(RULE_VIEW_ROLES)
    if not paths:
        return false()
    return Rule.place_id.in_(place_service.ids_under(paths))


def may_view_any(actor: Actor) -> bool:
    """Whether the actor gets the rule pages at all."""
    return bool(actor.roles & RULE_VIEW_ROLES)


def may_manage_any(actor: Actor) -> bool:
    """Whether the actor may make rules somewhere."""
    return bool(actor.roles & RULE_ADMIN_ROLES)
