"""Who may change how a place's environment is judged."""

from __future__ import annotations

from linli.core.actor import Actor

# Staff of the community (and district administrators above it) set the AQI standard, the
# acoustic zone classes and the water bodies; everyone may read the results.
SETTINGS_ROLES = frozenset({"community_admin", "community_staff", "district_admin"})


def can_edit(actor: Actor, place_path: str) -> bool:
    """Whether the actor may change the environment settings of this place."""
    return actor.holds(SETTINGS_ROLES, place_path)


def may_edit_any(actor: Actor) -> bool:
    """Whether the actor may change environment settings somewhere."""
    return bool(actor.roles & SETTINGS_ROLES)
