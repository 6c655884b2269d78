"""Who may publish and see notices and emergency check-ins: staff by place, residents by home."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_

from linli.core.actor import Actor
from linli.notice.models import EmergencyBroadcast, Notice

# Those who publish notices and run emergency check-ins over their places.
NOTICE_STAFF_ROLES = frozenset(
    {"grid_worker", "community_staff", "community_admin", "district_admin"}
)


def ancestor_paths(place_path: str) -> list[str]:
    """``/1/4/9/`` → ``/1/``, ``/1/4/``, ``/1/4/9/``: a place and everything above it."""
    parts = [p for p in place_path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def can_manage(actor: Actor, place_path: str) -> bool:
    """Whether the actor may publish notices and run check-ins at this place."""
    return actor.holds(NOTICE_STAFF_ROLES, place_path)


def may_manage_any(actor: Actor) -> bool:
    """Whether the actor gets the staff pages of notices and emergencies."""
    return bool(actor.roles & NOTICE_STAFF_ROLES)


def managed_paths(actor: Actor) -> list[str]:
    return actor.paths_for(NOTICE_STAFF_ROLES)


def reaches(notice_path: str, home_path: str | None) -> bool:
    """Whether a notice at ``notice_path`` is addressed to someone living at ``home_path``."""
    return home_path is not None and home_path.startswith(notice_path)


def managed_notices(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: notices at places the actor manages (in any state)."""
    paths = managed_paths(actor)
    if not paths:
        return false()
    return or_(*(Notice.place_path.startswith(p, autoescape=True) for p in paths))


def addressed_to(home_path: str | None) -> ColumnElement[bool]:
    """SQL condition: notices addressed to someone living at ``home_path`` (any state)."""
    if not home_path:
        return false()
    return Notice.place_path.in_(ancestor_paths(home_path))


def managed_broadcasts(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: broadcasts at places the actor manages."""
    paths = managed_paths(actor)
    if not paths:
        return false()
    return or_(*(EmergencyBroadcast.place_path.startswith(p, autoescape=True) for p in paths))
