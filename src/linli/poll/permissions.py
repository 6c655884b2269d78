"""Who may set up, see and vote in which polls: staff by role over the place, residents where
they live."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_

from linli.core.actor import Actor
from linli.place import service as place_service
from linli.poll.models import Poll

POLL_ADMIN_ROLES = frozenset({"community_staff", "community_admin", "district_admin"})
POLL_VIEW_ROLES = POLL_ADMIN_ROLES | frozenset({"grid_worker", "auditor"})


def can_manage(actor: Actor, place_path: str) -> bool:
    """Whether the actor may set up, open and close polls and record paper ballots here."""
    return actor.holds(POLL_ADMIN_ROLES, place_path)


def ancestors(path: str) -> list[str]:
    """``/1/4/9/`` → ``/1/``, ``/1/4/``, ``/1/4/9/``: the places a home lies at or under."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def can_view(actor: Actor, poll: Poll, home_path: str | None) -> bool:
    """Staff over the place see every poll; residents see opened polls covering their home."""
    if actor.holds(POLL_VIEW_ROLES, poll.place_path):
        return True
    return (
        home_path is not None and poll.status != "draft" and home_path.startswith(poll.place_path)
    )


def visible(actor: Actor, home_path: str | None) -> ColumnElement[bool]:
    """SQL condition of the polls the actor may see (same rule as ``can_view``)."""
    conditions: list[ColumnElement[bool]] = []
    paths = actor.paths_for(POLL_VIEW_ROLES)
    if paths:
        conditions.append(Poll.place_id.in_(place_service.ids_under(paths)))
    if home_path:
        conditions.append(Poll.place_path.in_(ancestors(home_path)) & (Poll.status != "draft"))
    if not conditions:
        return false()
    return or_(*conditions)
