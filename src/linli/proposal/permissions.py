"""Who may see, propose, support, answer and moderate proposals, by role and place."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from linli.core.actor import ROLES, Actor
from linli.proposal.models import Proposal, ProposalSetting

# Who answers proposals and hides abusive ones.
ANSWER_ROLES = frozenset({"community_staff", "community_admin", "district_admin"})
# Who is told when an answer is overdue.
ESCALATION_ROLES = frozenset({"community_admin"})
# Who sets the threshold and the answer deadline of a place.
SETTING_ROLES = frozenset({"community_admin", "district_admin"})
ALL_ROLES = frozenset(ROLES)


def visible(actor: Actor) -> ColumnElement[bool]:
    """SQL condition for the API: proposals under any place where the actor holds a role.

    (A resident holds the resident role on their community, so they see its proposals; the
    public pages show every proposal without its author.)
    """
    paths = actor.paths_for(ALL_ROLES)
    if not paths:
        return false()
    return or_(*(Proposal.place_path.startswith(p, autoescape=True) for p in paths))


def can_view(actor: Actor, place_path: str) -> bool:
    return actor.holds(ALL_ROLES, place_path)


def can_answer(actor: Actor, place_path: str) -> bool:
    """Whether the actor answers and moderates proposals at this place."""
    return actor.holds(ANSWER_ROLES, place_path)


def can_configure(actor: Actor, place_path: str) -> bool:
    return actor.holds(SETTING_ROLES, place_path)


def answerable(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: proposals the actor may answer."""
    paths = actor.paths_for(ANSWER_ROLES)
    if not paths:
        return false()
    return or_(*(Proposal.place_path.startswith(p, autoescape=True) for p in paths))


def may_answer_any(actor: Actor) -> bool:
    return bool(actor.roles & ANSWER_ROLES)


def public() -> ColumnElement[bool]:
    """SQL condition of the public pages: every proposal (they never show the author)."""
    return true()


def settings_visible(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: threshold settings of places under the actor's grants."""
    paths = actor.paths_for(ALL_ROLES)
    if not paths:
        return false()
    return or_(*(ProposalSetting.place_path.startswith(p, autoescape=True) for p in paths))
