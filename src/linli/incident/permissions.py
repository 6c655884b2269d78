"""Who may run incidents and see responders: staff and responders of the place's community."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from linli.core.actor import Actor
from linli.incident.models import Equipment, Incident, Responder

# Those who open, run and close incidents and keep the responder and equipment registers.
MANAGE_ROLES = frozenset({"community_staff", "community_admin", "district_admin"})
# Those who see incidents and the registers: the managers and the responders themselves.
VIEW_ROLES = MANAGE_ROLES | {"responder"}


def can_manage(actor: Actor, place_path: str) -> bool:
    """Whether the actor may open, dispatch and close incidents at this place."""
    return actor.holds(MANAGE_ROLES, place_path)


def can_view(actor: Actor, place_path: str) -> bool:
    """Whether the actor may see incidents, responders and equipment at this place."""
    return actor.holds(VIEW_ROLES, place_path)


def _under(column: InstrumentedAttribute[str], paths: list[str]) -> ColumnElement[bool]:
    if not paths:
        return false()
    return or_(*(column.startswith(p, autoescape=True) for p in paths))


def visible_incidents(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: incidents at places the actor may see."""
    return _under(Incident.place_path, actor.paths_for(VIEW_ROLES))


def visible_responders(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: responders registered at places the actor may see."""
    return _under(Responder.place_path, actor.paths_for(VIEW_ROLES))


def visible_equipment(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: equipment kept at places the actor may see."""
    return _under(Equipment.place_path, actor.paths_for(VIEW_ROLES))
