"""Who may see and handle which cases: staff by role and place, residents own and public ones."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, true

from linli.case.models import Case
from linli.core.actor import Actor

# Roles that work every case of the places they hold.
CASE_STAFF_ROLES = frozenset(
    {"grid_worker", "community_staff", "community_admin", "district_admin"}
)
# Roles that work only the cases of their own team (a property company its maintenance cases).
TEAM_ROLES = frozenset({"property_manager"})
CASE_READ_ROLES = CASE_STAFF_ROLES | frozenset({"auditor"})
# Who is told first about a new case of each team, and who hears of it when it is overdue.
TEAM_NOTIFY: dict[str, frozenset[str]] = {
    "property_manager": frozenset({"property_manager"}),
    "community_staff": frozenset({"community_staff"}),
    "grid_worker": frozenset({"grid_worker"}),
    # Utilities (water, power, gas) are outside the platform: community staff liaise with them.
    "utility": frozenset({"community_staff"}),
}
ESCALATION_ROLES: tuple[frozenset[str], ...] = (
    frozenset({"community_admin"}),
    frozenset({"district_admin"}),
)


def _staff_where(actor: Actor) -> list[ColumnElement[bool]]:
    parts: list[ColumnElement[bool]] = [
        Case.place_path.startswith(p, autoescape=True) for p in actor.paths_for(CASE_READ_ROLES)
    ]
    for role in TEAM_ROLES & actor.roles:
        for p in actor.paths_for({role}):
            parts.append(and_(Case.team == role, Case.place_path.startswith(p, autoescape=True)))
    return parts


def visible(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: cases the actor may see (own, public, or handled by the actor's teams)."""
    if actor.is_anonymous:
        return Case.is_public.is_(true())
    parts = _staff_where(actor)
    parts.append(Case.is_public.is_(true()))
    if actor.effective_resident_id is not None:
        parts.append(Case.reporter_resident_id == actor.effective_resident_id)
    return or_(*parts)


def workable(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: cases in the actor's staff queue."""
    parts = _staff_where(actor)
    return or_(*parts) if parts else false()


def can_handle(actor: Actor, case: Case) -> bool:
    """Whether the actor works this case (triage, assign, resolve ...)."""
    if actor.holds(CASE_STAFF_ROLES, case.place_path):
        return True
    return case.team in TEAM_ROLES and actor.holds({case.team}, case.place_path)


def can_read_all(actor: Actor, case: Case) -> bool:
    """Whether the actor sees everything of the case, internal notes included."""
    return can_handle(actor, case) or actor.holds({"auditor"}, case.place_path)


def is_reporter(actor: Actor, case: Case) -> bool:
    """Whether the actor reported the case (or acts for the resident who did)."""
    rid = actor.effective_resident_id
    return rid is not None and case.reporter_resident_id == rid


def can_view(actor: Actor, case: Case) -> bool:
    """Whether the actor may see the case at all."""
    return case.is_public or is_reporter(actor, case) or can_read_all(actor, case)


def may_work_any(actor: Actor) -> bool:
    """Whether the actor gets the staff case queue."""
    return bool(actor.roles & (CASE_READ_ROLES | TEAM_ROLES))


def may_act_any(actor: Actor) -> bool:
    """Whether the actor handles cases somewhere."""
    return bool(actor.roles & (CASE_STAFF_ROLES | TEAM_ROLES))
