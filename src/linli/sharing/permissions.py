"""Who may keep the recipient registry and read the disclosure log, and what residents see."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from linli.core.actor import Actor
from linli.sharing.models import (
    DataBreach,
    Disclosure,
    DisclosureResident,
    ExportRequest,
    Recipient,
)

# Those who decide what leaves the platform: the administrators of the place (least privilege).
MANAGE_ROLES = frozenset({"community_admin", "district_admin"})
# Those who may read the disclosure log: the administrators, auditors and the police liaison.
LOG_ROLES = MANAGE_ROLES | {"auditor", "police_liaison"}


def ancestor_paths(place_path: str) -> list[str]:
    """``/1/4/9/`` → ``/1/``, ``/1/4/``, ``/1/4/9/``: a place and everything above it."""
    parts = [p for p in place_path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def can_manage(actor: Actor, place_path: str) -> bool:
    """Whether the actor may add, change and deactivate recipients of this place."""
    return actor.holds(MANAGE_ROLES, place_path)


def can_read_log(actor: Actor, place_path: str) -> bool:
    """Whether the actor may read disclosures about this place."""
    return actor.holds(LOG_ROLES, place_path)


def may_manage_any(actor: Actor) -> bool:
    return bool(actor.roles & MANAGE_ROLES)


def may_read_log_any(actor: Actor) -> bool:
    return bool(actor.roles & LOG_ROLES)


def managed_paths(actor: Actor) -> list[str]:
    return actor.paths_for(MANAGE_ROLES)


def _under(column: InstrumentedAttribute[str], paths: list[str]) -> ColumnElement[bool]:
    if not paths:
        return false()
    return or_(*(column.startswith(p, autoescape=True) for p in paths))


def visible_recipients(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: registry entries of places the actor administers."""
    return _under(Recipient.place_path, actor.paths_for(MANAGE_ROLES))


def visible_disclosures(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: disclosures about places whose log the actor may read."""
    return _under(Disclosure.place_path, actor.paths_for(LOG_ROLES))


def concerning(resident_id: int | None, home_path: str | None) -> ColumnElement[bool]:
    """SQL condition: disclosures about the resident's home or above it, or with their data."""
    conditions: list[ColumnElement[bool]] = []
    if home_path:
        # A message to one person is theirs alone: it is not shown to their neighbours.
        conditions.append(
            and_(
                Disclosure.place_path.in_(ancestor_paths(home_path)),
                Disclosure.subject_type != "message",
            )
        )
    if resident_id is not None:
        mine = select(DisclosureResident.disclosure_id).where(
            DisclosureResident.resident_id == resident_id
        )
        conditions.append(Disclosure.id.in_(mine))
    if not conditions:
        return false()
    return or_(*conditions)


def visible_exports(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: export requests of places the actor administers."""
    return _under(ExportRequest.place_path, actor.paths_for(MANAGE_ROLES))


def visible_breaches(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: declared incidents of places the actor administers or audits."""
    return _under(DataBreach.place_path, actor.paths_for(MANAGE_ROLES | {"auditor"}))


def visible_breaches_path(actor: Actor, place_path: str) -> bool:
    return actor.holds(MANAGE_ROLES | {"auditor"}, place_path)
