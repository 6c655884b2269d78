"""Who may manage which accounts and grants."""

from __future__ import annotations

from linli.core.actor import ACCOUNT_ADMIN_ROLES, ASSIST_ROLES, Actor

# Roles an administrator may hand out; district admins may also create community admins.
GRANTABLE_BY = {
    "community_admin": frozenset(
        {
            "resident",
            "caregiver",
            "grid_worker",
            "community_staff",
            "property_manager",
            "responder",
            "police_liaison",
            "auditor",
        }
    ),
    "district_admin": frozenset(
        {
            "resident",
            "caregiver",
            "grid_worker",
            "community_staff",
            "property_manager",
            "responder",
            "police_liaison",
            "auditor",
            "community_admin",
            "district_admin",
        }
    ),
}


def can_grant(actor: Actor, role: str, place_path: str) -> bool:
    """An admin may grant a role on a place inside a subtree where they are admin."""
    for grant in actor.grants:
        covers = grant.role in ACCOUNT_ADMIN_ROLES and place_path.startswith(grant.place_path)
        if covers and role in GRANTABLE_BY[grant.role]:
            return True
    return False


def can_manage_accounts(actor: Actor) -> bool:
    return bool(actor.roles & ACCOUNT_ADMIN_ROLES)


def can_assist(actor: Actor, resident_place_path: str) -> bool:
    """Staff may act for a present resident of a place they serve."""
    return actor.holds(ASSIST_ROLES, resident_place_path)
