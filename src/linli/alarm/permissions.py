"""Who may see and handle which alarms: by role, on the alarm's place and its subtree."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_

from linli.alarm.models import Alarm
from linli.core.actor import Actor

ALARM_ACT_ROLES = frozenset(
    {
        "grid_worker",
        "community_staff",
        "property_manager",
        "responder",
        "community_admin",
        "district_admin",
    }
)
ALARM_VIEW_ROLES = ALARM_ACT_ROLES | frozenset({"auditor"})
# Who is told first, and whom an unacknowledged critical alarm goes to next.
ESCALATION_ROLES: tuple[frozenset[str], ...] = (
    frozenset({"grid_worker", "community_staff", "property_manager"}),
    frozenset({"community_admin"}),
    frozenset({"district_admin"}),
)


def can_view(actor: Actor, place_path: str) -> bool:
    """Whether the actor may see alarms at this place."""
    return actor.holds(ALARM_VIEW_ROLES, place_path)


def can_act(actor: Actor, place_path: str) -> bool:
    """Whether the actor may acknowledge and comment on alarms at this place."""
    return actor.holds(ALARM_ACT_ROLES, place_path)


def visible(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: alarms under the places where the actor holds a viewing role."""
    paths = actor.paths_for(ALARM_VIEW_ROLES)
    if not paths:
        return false()
    return or_(*(Alarm.place_path.startswith(p, autoescape=True) for p in paths))


def viewable_paths(actor: Actor) -> list[str]:
    """Place paths under which the actor sees alarms (for filtering live events)."""
    return actor.paths_for(ALARM_VIEW_ROLES)


def may_view_any(actor: Actor) -> bool:
    """Whether the actor gets the alarm pages."""
    return bool(actor.roles & ALARM_VIEW_ROLES)
