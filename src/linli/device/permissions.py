"""Who may see and manage which devices."""

from __future__ import annotations

from linli.core.actor import Actor

DEVICE_ADMIN_ROLES = frozenset({"property_manager", "community_admin", "district_admin"})
DEVICE_VIEW_ROLES = DEVICE_ADMIN_ROLES | frozenset(
    {"community_staff", "grid_worker", "responder", "auditor"}
)


def can_manage(actor: Actor, place_path: str) -> bool:
    return actor.holds(DEVICE_ADMIN_ROLES, place_path)


def can_view(actor: Actor, place_path: str) -> bool:
    return actor.holds(DEVICE_VIEW_ROLES, place_path)
