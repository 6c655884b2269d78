"""Suggestions: residents propose and support, the community answers in public, on time.

Rules (see docs/proposals.md): one support per resident, withdrawable, never by the author;
reaching the place's threshold obliges an answer within N working days on the Chinese
calendar; staff may hide abusive text with a reason that is shown in its place; the author is
never shown, only "a resident of <compound>".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import ColumnElement, and_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.audit import service as audit_service
from linli.core.actor import Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.pagination import Page, PageParams
from linli.core.time import UTC, to_local, utc_now
from linli.notification import service as notification_service
from linli.place import service as place_service
from linli.proposal import permissions, repository
from linli.proposal.models import (
    DEFAULT_ANSWER_DAYS,
    DEFAULT_THRESHOLD,
    Proposal,
    ProposalEvent,
    ProposalSetting,
    ProposalSupport,
)
from linli.proposal.schemas import (
    ProposalCreate,
    ProposalDetail,
    ProposalEventRead,
    ProposalFilter,
    ProposalRead,
    SettingUpdate,
)
from linli.resident import service as resident_service

PROPOSAL_KINDS = ("community", "compound", "building")
SUPPORTABLE = ("open", "threshold_reached")
AWAITING = ("open", "threshold_reached")
TIMEZONE = "Asia/Shanghai"


# --- the working-day calendar ------------------------------------------------------------


def is_workday(day: dt.date) -> bool:
    """A working day by the Chinese holiday calendar (Monday–Friday beyond its years)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(start: dt.datetime, days: int) -> dt.datetime:
    """The end (local midnight) of the ``days``-th working day after ``start``'s local date."""
    day = to_local(start, TIMEZONE).date()
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_workday(day):
            counted += 1
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(TIMEZONE))
    return end.astimezone(UTC)


# --- settings ------------------------------------------------------------------------------


def _rules_for(db: Session, place_path: str) -> tuple[int, int]:
    """(threshold, answer working days) of the nearest place on the path that sets them."""
    ids = [int(p) for p in place_path.strip("/").split("/") if p]
    found = {s.place_id: s for s in repository.settings_for(db, ids)}
    for place_id in reversed(ids):
        if place_id in found:
            return found[place_id].threshold, found[place_id].answer_days
    return DEFAULT_THRESHOLD, DEFAULT_ANSWER_DAYS


def set_rules(db: Session, actor: Actor, data: SettingUpdate) -> ProposalSetting:
    """Set the threshold and answer deadline for new proposals at a place and below it."""
    place = place_service.get(db, data.place_id)
    if not permissions.can_configure(actor, place.path):
        raise PermissionDenied("You may not set the rules for suggestions here.")
    found = repository.settings_for(db, [place.id])
    setting = found[0] if found else ProposalSetting(place_id=place.id, place_path=place.path)
    setting.threshold = data.threshold
    setting.answer_days = data.answer_days
    setting.updated_at = utc_now()
    db.add(setting)
    audit_service.record(
        db,
        actor=actor,
        action="proposal.rules",
        subject_type="place",
        subject_id=place.id,
        place_id=place.id,
        detail={"threshold": data.threshold, "answer_days": data.answer_days},
    )
    db.flush()
    return setting


def list_rules(db: Session, actor: Actor) -> list[ProposalSetting]:
    return repository.settings_under(db, permissions.settings_visible(actor))


# --- reading -------------------------------------------------------------------------------


class _Labels:
    """Place labels, each looked up once."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.cache: dict[int, str] = {}

    def place(self, place_id: int | None) -> str:
        if place_id is None:
            return ""
        if place_id not in self.cache:
            try:
                found = place_service.get(self.db, place_id)
                self.cache[place_id] = place_service.label(self.db, found, from_kind="community")
            except NotFound:
                self.cache[place_id] = ""
        return self.cache[place_id]


def _read(
    p: Proposal, labels: _Labels, actor: Actor, supported: set[int], now: dt.datetime
) -> ProposalRead:
    hidden = p.status == "hidden"
    return ProposalRead(
        id=p.id,
        place_id=p.place_id,
        place=labels.place(p.place_id),
        author_area=labels.place(p.author_area_id),
        title="" if hidden else p.title,
        body="" if hidden else p.body,
        status=p.status,
        hidden=hidden,
        moderation_reason=p.moderation_reason if hidden else None,
        support_count=p.support_count,
        threshold=p.threshold,
        created_at=p.created_at,
        threshold_reached_at=p.threshold_reached_at,
        answer_due_at=p.answer_due_at,
        overdue=is_overdue(p, now),
        answer=p.answer,
        answered_at=p.answered_at,
        mine=actor.effective_resident_id is not None
        and p.author_resident_id == actor.effective_resident_id,
        supported=p.id in supported,
    )


def is_overdue(p: Proposal, now: dt.datetime | None = None) -> bool:
    """Owed an answer past its deadline (the public "answer overdue" marker)."""
    if p.status != "threshold_reached" or p.answer_due_at is None:
        return False
    return p.overdue_at is not None or p.answer_due_at < (now or utc_now())


def _supported(db: Session, actor: Actor, rows: list[Proposal]) -> set[int]:
    rid = actor.effective_resident_id
    if rid is None:
        return set()
    return repository.supported_ids(db, rid, [p.id for p in rows])


def _page(
    db: Session,
    actor: Actor,
    where: ColumnElement[bool],
    params: PageParams,
    *,
    by_deadline: bool = False,
) -> Page[ProposalRead]:
    rows, total = repository.listed(
        db, where, by_deadline=by_deadline, offset=params.offset, limit=params.size
    )
    labels = _Labels(db)
    supported = _supported(db, actor, rows)
    now = utc_now()
    return Page(
        items=[_read(p, labels, actor, supported, now) for p in rows],
        total=total,
        page=params.page,
        size=params.size,
    )


def _filtered(
    db: Session, base: ColumnElement[bool], filters: ProposalFilter
) -> ColumnElement[bool]:
    where = base
    if filters.status == "awaiting":
        where = and_(where, Proposal.status.in_(AWAITING))
    elif filters.status is not None:
        where = and_(where, Proposal.status == filters.status)
    if filters.place_id is not None:
        place = place_service.get(db, filters.place_id)
        where = and_(where, Proposal.place_path.startswith(place.path, autoescape=True))
    return where


def list_proposals(
    db: Session, actor: Actor, filters: ProposalFilter, params: PageParams
) -> Page[ProposalRead]:
    """Proposals of the places the actor belongs to or works for, newest first."""
    return _page(db, actor, _filtered(db, permissions.visible(actor), filters), params)


def public_list(
    db: Session, actor: Actor, filters: ProposalFilter, params: PageParams
) -> Page[ProposalRead]:
    """Every proposal as the public pages show them (no author), newest first."""
    return _page(db, actor, _filtered(db, permissions.public(), filters), params)


def awaiting_answer(db: Session, actor: Actor, params: PageParams) -> Page[ProposalRead]:
    """Proposals the actor may answer that still wait for an answer, by deadline."""
    where = and_(permissions.answerable(actor), Proposal.status.in_(AWAITING))
    return _page(db, actor, where, params, by_deadline=True)


def _record(db: Session, proposal_id: int) -> Proposal:
    found = repository.get(db, proposal_id)
    if found is None:
        raise NotFound("There is no such suggestion.")
    return found


def _visible(db: Session, actor: Actor, proposal_id: int) -> Proposal:
    found = _record(db, proposal_id)
    if not permissions.can_view(actor, found.place_path):
        raise NotFound("There is no such suggestion.")
    return found


def _detail(db: Session, actor: Actor, p: Proposal) -> ProposalDetail:
    base = _read(p, _Labels(db), actor, _supported(db, actor, [p]), utc_now())
    history = [ProposalEventRead.model_validate(e) for e in repository.history(db, p.id)]
    return ProposalDetail(**base.model_dump(), history=history)


def get(db: Session, actor: Actor, proposal_id: int) -> ProposalDetail:
    """One proposal with its public history (API: for people of its community)."""
    return _detail(db, actor, _visible(db, actor, proposal_id))


def public_get(db: Session, actor: Actor, proposal_id: int) -> ProposalDetail:
    """One proposal as its public page shows it."""
    return _detail(db, actor, _record(db, proposal_id))


@dataclass(frozen=True)
class Original:
    """The text of a proposal as written, for the staff who answer and moderate it."""

    title: str
    body: str


def original(db: Session, actor: Actor, proposal_id: int) -> Original:
    p = _visible(db, actor, proposal_id)
    if not permissions.can_answer(actor, p.place_path):
        raise PermissionDenied("You may not answer or moderate suggestions here.")
    return Original(p.title, p.body)


def can_answer(actor: Actor, place_path: str) -> bool:
    return permissions.can_answer(actor, place_path)


def may_answer_any(actor: Actor) -> bool:
    """Whether the navigation offers the console's suggestion pages."""
    return permissions.may_answer_any(actor)


def place_path_of(db: Session, proposal_id: int) -> str:
    return _record(db, proposal_id).place_path


# --- residents: propose, support, withdraw ------------------------------------------------


def _resident(actor: Actor) -> int:
    rid = actor.effective_resident_id
    if rid is None:
        raise PermissionDenied("Only residents can make and support suggestions.")
    return rid


def _lives_under(db: Session, resident_id: int, place_path: str) -> bool:
    return resident_service.place_path_of(db, resident_id).startswith(place_path)


def proposal_places(db: Session, actor: Actor) -> list[tuple[int, str]]:
    """The places a resident may make a suggestion for: their community and what is in it."""
    rid = actor.effective_resident_id
    if rid is None:
        return []
    home = place_service.get(db, resident_service.get_record(db, rid).place_id)
    community = place_service.community_of(db, home)
    if community is None:
        return []
    home_path = home.path
    places = place_service.under(db, [community.path], kinds=PROPOSAL_KINDS)
    return [
        (p.id, place_service.label(db, p, from_kind="community"))
        for p in places
        if home_path.startswith(p.path)
    ]


def _area_of(db: Session, resident_id: int) -> int | None:
    home = place_service.get(db, resident_service.get_record(db, resident_id).place_id)
    area: int | None = None
    for place in place_service.ancestors(db, home):
        if place.kind in ("community", "compound"):
            area = place.id
    return area


def _event(db: Session, p: Proposal, kind: str, actor: Actor | None, text: str = "") -> None:
    db.add(
        ProposalEvent(
            proposal_id=p.id,
            kind=kind,
            at=utc_now(),
            account_id=actor.account_id if actor else None,
            text=text,
        )
    )


def propose(db: Session, actor: Actor, data: ProposalCreate) -> Proposal:
    """A resident's new suggestion for their community or a place in it."""
    rid = _resident(actor)
    try:
        place = place_service.get(db, data.place_id)
    except NotFound as exc:
        raise ValidationFailed("Choose one of the places in the list.") from exc
    if place.kind not in PROPOSAL_KINDS:
        raise ValidationFailed("Choose one of the places in the list.")
    if not _lives_under(db, rid, place.path):
        raise PermissionDenied("You can make suggestions only for the place where you live.")
    threshold, days = _rules_for(db, place.path)
    p = Proposal(
        place_id=place.id,
        place_path=place.path,
        title=data.title,
        body=data.body,
        author_resident_id=rid,
        author_account_id=actor.account_id,
        author_area_id=_area_of(db, rid),
        status="open",
        support_count=0,
        threshold=threshold,
        answer_days=days,
        created_at=utc_now(),
    )
    db.add(p)
    db.flush()
    _event(db, p, "created", None)
    db.flush()
    return p


def _staff_over(db: Session, p: Proposal, roles: frozenset[str]) -> list[int]:
    return account_service.holders_over(db, p.place_path, roles)


def _threshold_reached(db: Session, p: Proposal, now: dt.datetime) -> None:
    due = add_workdays(now, p.answer_days)
    if not repository.mark_threshold_reached(db, p.id, now=now, due=due):
        return
    db.refresh(p)
    _event(db, p, "threshold_reached", None)
    local_due = to_local(due, TIMEZONE).strftime("%Y-%m-%d %H:%M")
    notification_service.notify(
        db,
        key=f"proposal:{p.id}:threshold",
        place_id=p.place_id,
        place_path=p.place_path,
        account_ids=_staff_over(db, p, frozenset({"community_staff", "community_admin"})),
        category="proposal",
        severity="minor",
        subject=f"建议获得 {p.support_count} 人支持，请在 {local_due} 前答复：{p.title}"[:300],
        body=(
            f"A suggestion reached {p.support_count} supports; the community owes a public "
            f"answer by {local_due} (Asia/Shanghai). / 该建议已达到支持门槛，请按时公开答复。"
        ),
        link=f"/console/proposals/{p.id}",
        data={"proposal_id": p.id},
    )


def support(db: Session, actor: Actor, proposal_id: int) -> Proposal:
    """Support a proposal once; counts stay right under concurrent supports."""
    rid = _resident(actor)
    p = _visible(db, actor, proposal_id)
    if p.status not in SUPPORTABLE:
        raise Conflict("This suggestion no longer takes support.")
    if p.author_resident_id == rid:
        raise Conflict("You made this suggestion; it needs the support of other residents.")
    if not _lives_under(db, rid, p.place_path):
        raise PermissionDenied("Only residents of the place can support this suggestion.")
    if repository.support_of(db, p.id, rid) is not None:
        raise Conflict("You already support this suggestion.")
    # The support row is the first write of this transaction: when a concurrent request of the
    # same resident wins the race, rolling back loses nothing else (the unique key decides).
    db.add(
        ProposalSupport(
            proposal_id=p.id, resident_id=rid, account_id=actor.account_id, created_at=utc_now()
        )
    )
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise Conflict("You already support this suggestion.") from exc
    repository.add_to_count(db, p.id, 1)
    db.refresh(p)
    if p.status == "open" and p.support_count >= p.threshold:
        _threshold_reached(db, p, utc_now())
    return p


def withdraw_support(db: Session, actor: Actor, proposal_id: int) -> Proposal:
    """Take one's support back (a reached threshold stays reached: the answer is owed)."""
    rid = _resident(actor)
    p = _visible(db, actor, proposal_id)
    if not repository.delete_support(db, p.id, rid):
        raise Conflict("You do not support this suggestion.")
    repository.add_to_count(db, p.id, -1)
    db.refresh(p)
    return p


def withdraw(db: Session, actor: Actor, proposal_id: int) -> Proposal:
    """The author takes the suggestion back while it is unanswered."""
    rid = _resident(actor)
    p = _visible(db, actor, proposal_id)
    if p.author_resident_id != rid:
        raise PermissionDenied("Only the resident who made a suggestion can withdraw it.")
    if p.status not in AWAITING:
        raise Conflict("This suggestion can no longer be withdrawn.")
    p.status = "withdrawn"
    _event(db, p, "withdrawn", None)
    db.flush()
    return p


# --- staff: answer, hide, restore ----------------------------------------------------------


def _for_staff(db: Session, actor: Actor, proposal_id: int) -> Proposal:
    p = _visible(db, actor, proposal_id)
    if not permissions.can_answer(actor, p.place_path):
        raise PermissionDenied("You may not answer or moderate suggestions here.")
    return p


def answer(db: Session, actor: Actor, proposal_id: int, text: str) -> Proposal:
    """The community's public answer."""
    p = _for_staff(db, actor, proposal_id)
    if p.status not in AWAITING:
        raise Conflict("This suggestion cannot be answered now.")
    now = utc_now()
    p.status = "answered"
    p.answer = text
    p.answered_by = actor.account_id
    p.answered_at = now
    _event(db, p, "answered", actor)
    audit_service.record(
        db,
        actor=actor,
        action="proposal.answer",
        subject_type="proposal",
        subject_id=p.id,
        place_id=p.place_id,
    )
    db.flush()
    return p


def hide(db: Session, actor: Actor, proposal_id: int, reason: str) -> Proposal:
    """Hide abusive content; the reason is shown publicly in its place."""
    p = _for_staff(db, actor, proposal_id)
    if p.status == "hidden":
        raise Conflict("This suggestion is already hidden.")
    p.status_before_hidden = p.status
    p.status = "hidden"
    p.moderation_reason = reason
    p.moderated_by = actor.account_id
    p.moderated_at = utc_now()
    _event(db, p, "hidden", actor, reason)
    audit_service.record(
        db,
        actor=actor,
        action="proposal.hide",
        subject_type="proposal",
        subject_id=p.id,
        place_id=p.place_id,
        reason=reason,
    )
    db.flush()
    return p


def restore(db: Session, actor: Actor, proposal_id: int) -> Proposal:
    """Show a hidden suggestion again, in the state it had."""
    p = _for_staff(db, actor, proposal_id)
    if p.status != "hidden":
        raise Conflict("This suggestion is not hidden.")
    p.status = p.status_before_hidden or "open"
    p.status_before_hidden = None
    p.moderated_by = actor.account_id
    p.moderated_at = utc_now()
    _event(db, p, "restored", actor)
    audit_service.record(
        db,
        actor=actor,
        action="proposal.restore",
        subject_type="proposal",
        subject_id=p.id,
        place_id=p.place_id,
    )
    db.flush()
    return p


# --- overdue answers -------------------------------------------------------------------------


def escalate_overdue(db: Session, *, now: dt.datetime | None = None) -> int:
    """Mark answers past their deadline overdue (public marker) and tell the administrators."""
    moment = now or utc_now()
    count = 0
    for p in repository.overdue(db, moment):
        p.overdue_at = moment
        _event(db, p, "overdue", None)
        notification_service.notify(
            db,
            key=f"proposal:{p.id}:overdue",
            place_id=p.place_id,
            place_path=p.place_path,
            account_ids=_staff_over(db, p, permissions.ESCALATION_ROLES),
            category="proposal",
            severity="major",
            subject=f"建议答复已逾期：{p.title}"[:300],
            body="The public answer to a suggestion is overdue. / 建议的公开答复已逾期。",
            link=f"/console/proposals/{p.id}",
            data={"proposal_id": p.id},
        )
        count += 1
    db.flush()
    return count


def may_support(db: Session, actor: Actor, proposal_id: int) -> bool:
    """Whether the page offers this person the support button (or the withdraw button)."""
    rid = actor.effective_resident_id
    if rid is None:
        return False
    p = _record(db, proposal_id)
    if p.status not in SUPPORTABLE or p.author_resident_id == rid:
        return False
    return _lives_under(db, rid, p.place_path)
