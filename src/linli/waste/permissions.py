"""Who may see bins and rates, grade disposals, and manage bins, cards, trucks and plans."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false

from linli.core.actor import Actor
from linli.place import service as place_service
from linli.waste.models import WasteContainer

# Waste collection is the property manager's work; community staff run the sorting programme.
MANAGE_ROLES = frozenset(
    {"property_manager", "community_staff", "community_admin", "district_admin"}
)
# Inspectors at the bins: grid workers too.
INSPECT_ROLES = MANAGE_ROLES | frozenset({"grid_worker"})
VIEW_ROLES = INSPECT_ROLES | frozenset({"auditor"})


def can_manage(actor: Actor, place_path: str) -> bool:
    """Bins, cards, trucks, status updates and collection plans at this place."""
    return actor.holds(MANAGE_ROLES, place_path)


def can_inspect(actor: Actor, place_path: str) -> bool:
    """Grading disposals at bins of this place."""
    return actor.holds(INSPECT_ROLES, place_path)


def can_view(actor: Actor, place_path: str) -> bool:
    """Bins, plans, rates and flagged disposals of this place."""
    return actor.holds(VIEW_ROLES, place_path)


def may_view_any(actor: Actor) -> bool:
    return bool(actor.roles & VIEW_ROLES)


def may_inspect_any(actor: Actor) -> bool:
    return bool(actor.roles & INSPECT_ROLES)


def visible_containers(actor: Actor) -> ColumnElement[bool]:
    """SQL condition of the bins the actor may see."""
    paths = actor.paths_for(VIEW_ROLES)
    if not paths:
        return false()
    return WasteContainer.place_id.in_(place_service.ids_under(paths))
