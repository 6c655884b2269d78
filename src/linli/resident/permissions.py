"""Who sees which residents and households: staff by place, residents their own household."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, or_, select

from linli.core.actor import RESIDENT_ADMIN_ROLES, STAFF_ROLES, Actor
from linli.place import service as place_service
from linli.resident.models import Household, Resident

# Staff roles that may reveal a sensitive field (with a reason, audited).
REVEAL_ROLES = frozenset({"grid_worker", "community_staff", "community_admin"})


def visible_residents(actor: Actor, own_household_id: int | None) -> Select[Resident]:
    """Residents the actor may list: the subtree of staff grants, else the own household."""
    stmt = select(Resident)
    clauses: list[ColumnElement[bool]] = []
    paths = actor.paths_for(RESIDENT_ADMIN_ROLES)
    if paths:
        clauses.append(Resident.place_id.in_(place_service.ids_under(paths)))
    if own_household_id is not None:
        clauses.append(Resident.household_id == own_household_id)
    if actor.effective_resident_id is not None:
        clauses.append(Resident.id == actor.effective_resident_id)
    if not clauses:
        return stmt.where(false())
    return stmt.where(or_(*clauses))


def visible_households(actor: Actor, own_household_id: int | None) -> Select[Household]:
    stmt = select(Household)
    clauses: list[ColumnElement[bool]] = []
    paths = actor.paths_for(RESIDENT_ADMIN_ROLES)
    if paths:
        clauses.append(Household.place_id.in_(place_service.ids_under(paths)))
    if own_household_id is not None:
        clauses.append(Household.id == own_household_id)
    if not clauses:
        return stmt.where(false())
    return stmt.where(or_(*clauses))


def can_manage(actor: Actor, place_path: str) -> bool:
    return actor.holds(RESIDENT_ADMIN_ROLES, place_path)


def works_at(actor: Actor, place_path: str) -> bool:
    """Whether the actor holds any staff role there (may learn that a resident exists)."""
    return actor.holds(STAFF_ROLES, place_path)


def can_reveal(actor: Actor, place_path: str, resident_id: int) -> bool:
    """Staff of the place with a reveal role, or the resident themselves (own data)."""
    if actor.effective_resident_id == resident_id:
        return True
    return actor.holds(REVEAL_ROLES, place_path)
