"""Case use cases: report, route, triage, assign, resolve, refer, rate, follow, escalate.

Notifications are written in the caller's transaction (the outbox) and go out after commit.
The reporter's identity never leaves this module in a public read model: ``CasePublic`` and the
public timeline carry no account or resident ids.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.audit import service as audit_service
from linli.case import permissions, repository, sla
from linli.case.models import OPEN_STATUSES, Case, CaseCategory, CaseEvent, CaseFollower, CasePhoto
from linli.case.photos import clean as clean_photo
from linli.case.schemas import (
    CaseCreate,
    CaseDetail,
    CaseEventRead,
    CaseFilter,
    CaseRead,
    CategoryRead,
    SimilarCase,
    SimilarQuery,
)
from linli.core import i18n
from linli.core.actor import ASSIST_ROLES, Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import gettext as _
from linli.core.pagination import Page, PageParams
from linli.core.time import utc_now
from linli.notification import service as notification_service
from linli.place import service as place_service
from linli.privacy import consent
from linli.resident import service as resident_service

# A resident may reopen a case this many days after it was resolved.
REOPEN_DAYS = 14
NEAR_M = 50.0
MAX_PHOTOS = 5
# Built-in categories: code, English, Chinese, team, SLA hours, SLA working days, public.
CATALOGUE: tuple[tuple[str, str, str, str, int | None, int | None, bool], ...] = (
    ("light", "Broken light", "路灯或楼道灯损坏", "property_manager", None, 2, True),
    ("water_leak", "Leaking pipe", "水管漏水", "property_manager", 4, None, True),
    ("lift", "Lift fault", "电梯故障", "property_manager", 4, None, True),
    ("rubbish", "Rubbish not collected", "垃圾未及时清运", "property_manager", None, 1, True),
    ("noise", "Noise nuisance", "噪声扰民", "community_staff", None, 2, False),
    ("road", "Damaged path or road", "道路或步道破损", "community_staff", None, 5, True),
    ("fire_lane", "Blocked fire lane", "消防通道被占用", "grid_worker", 4, None, True),
    ("hazard", "Safety hazard", "安全隐患", "grid_worker", 4, None, True),
    ("outage", "Water, power or gas outage", "停水、停电或停气", "utility", 2, None, True),
    ("other", "Something else", "其他问题", "community_staff", None, 3, True),
)


def ensure_categories(db: Session) -> int:
    """Add the built-in categories that are missing (idempotent); how many were added."""
    added = 0
    for code, en, zh, team, hours, days, public in CATALOGUE:
        if repository.category_by_code(db, code) is None:
            db.add(
                CaseCategory(
                    code=code,
                    name_en=en,
                    name_zh=zh,
                    team=team,
                    sla_hours=hours,
                    sla_days=days,
                    is_public=public,
                    active=True,
                )
            )
            added += 1
    if added:
        db.flush()
    return added


def categories(db: Session) -> list[CategoryRead]:
    """The categories a report can choose from."""
    return [CategoryRead.model_validate(c) for c in repository.categories(db)]


def category_name(category: CaseCategory | CategoryRead) -> str:
    """The category's name in the current language."""
    return category.name_zh if i18n.get_locale().startswith("zh") else category.name_en


def _category(db: Session, category_id: int) -> CaseCategory:
    category = repository.category(db, category_id)
    if category is None or not category.active:
        raise ValidationFailed(_("Choose a kind of problem from the list."))
    return category


# --- reading --------------------------------------------------------------------------------


def _visible(db: Session, actor: Actor, case_id: int) -> Case:
    case = repository.get(db, case_id)
    if case is None or not permissions.can_view(actor, case):
        raise NotFound(_("No such case."))
    return case


def _handled(db: Session, actor: Actor, case_id: int) -> Case:
    case = _visible(db, actor, case_id)
    if not permissions.can_handle(actor, case):
        raise PermissionDenied(_("You may not handle this case."))
    return case


def to_read(actor: Actor, case: Case, *, now: dt.datetime | None = None) -> CaseRead:
    """The case as ``actor`` may see it: handlers' details only for handlers and the reporter."""
    read = CaseRead.model_validate(case)
    read.mine = permissions.is_reporter(actor, case)
    read.can_handle = permissions.can_handle(actor, case)
    now = now or utc_now()
    read.overdue = case.is_open and case.due_at is not None and case.due_at < now
    if not (read.mine or permissions.can_read_all(actor, case)):
        read.assignee_account_id = None
        read.filed_by_account_id = None
        read.rating_comment = None
        read.lat = read.lon = None
    return read


def get(db: Session, actor: Actor, case_id: int) -> CaseDetail:
    """A case with its timeline; internal notes only for those who handle it."""
    case = _visible(db, actor, case_id)
    full = permissions.can_read_all(actor, case)
    events = [
        CaseEventRead.model_validate(e)
        for e in repository.timeline(db, case.id, public_only=not full)
    ]
    following = (
        actor.account_id is not None
        and repository.follower(db, case.id, actor.account_id) is not None
    )
    return CaseDetail(**to_read(actor, case).model_dump(), timeline=events, following=following)


def _scope_where(db: Session, actor: Actor, flt: CaseFilter) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = [permissions.visible(actor)]
    if flt.scope == "mine":
        rid = actor.effective_resident_id
        if rid is None:
            parts.append(Case.id.is_(None))
        else:
            parts.append(Case.reporter_resident_id == rid)
    elif flt.scope == "public":
        parts.append(Case.is_public.is_(True))
    elif flt.scope == "following":
        if actor.account_id is None:
            parts.append(Case.id.is_(None))
        else:
            parts.append(Case.id.in_(repository.followed_ids(db, actor.account_id)))
    if flt.status == "open":
        parts.append(Case.status.in_(OPEN_STATUSES))
    elif flt.status != "all":
        parts.append(Case.status == flt.status)
    return and_(*parts)


def list_cases(db: Session, actor: Actor, flt: CaseFilter, params: PageParams) -> Page[CaseRead]:
    """Cases the actor may see (own, public, or worked by the actor), newest first."""
    rows, total = repository.listed(
        db, _scope_where(db, actor, flt), offset=params.offset, limit=params.size
    )
    now = utc_now()
    return Page(
        items=[to_read(actor, c, now=now) for c in rows],
        total=total,
        page=params.page,
        size=params.size,
    )


def queue(db: Session, actor: Actor, params: PageParams) -> Page[CaseRead]:
    """The staff queue: open cases the actor works, overdue first, then the nearest deadline."""
    if not permissions.may_work_any(actor):
        raise PermissionDenied(_("You may not see the case queue."))
    rows, total = repository.queue(
        db, permissions.workable(actor), offset=params.offset, limit=params.size
    )
    now = utc_now()
    return Page(
        items=[to_read(actor, c, now=now) for c in rows],
        total=total,
        page=params.page,
        size=params.size,
    )


def may_work_any(actor: Actor) -> bool:
    """Whether the actor gets the staff case pages."""
    return permissions.may_work_any(actor)


def can_report(actor: Actor) -> bool:
    """Whether the actor can report a problem (a resident, or staff acting for one)."""
    return actor.effective_resident_id is not None or permissions.may_act_any(actor)


# --- reporting ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportPlace:
    """A place a resident may report a problem at."""

    id: int
    kind: str
    path: str
    label: str


def report_places(db: Session, actor: Actor) -> list[ReportPlace]:
    """Where the actor's resident can report: their unit, building, compound and community."""
    rid = actor.effective_resident_id
    if rid is None:
        return []
    home = place_service.get(db, _home_place_id(db, rid))
    chain = [p for p in place_service.ancestors(db, home) if p.kind in _REPORT_KINDS]
    return [
        ReportPlace(p.id, p.kind, p.path, place_service.label(db, p, from_kind="community"))
        for p in reversed(chain)
    ]


_REPORT_KINDS = ("community", "compound", "building", "unit")


def _home_place_id(db: Session, resident_id: int) -> int:
    path = resident_service.place_path_of(db, resident_id)
    parts = [int(p) for p in path.strip("/").split("/") if p]
    if not parts:
        raise ValidationFailed(_("Your home is not known; ask community staff to help."))
    return parts[-1]


def _check_place(db: Session, actor: Actor, place_id: int, path: str) -> None:
    if actor.effective_resident_id is not None:
        mine = report_places(db, actor)
        community = [p for p in mine if p.kind == "community"]
        inside = bool(community) and path.startswith(community[0].path)
        if place_id not in {p.id for p in mine} and not inside:
            raise ValidationFailed(_("Choose a place in your own community."))
        if actor.is_assisting and not actor.holds(ASSIST_ROLES, path):
            raise PermissionDenied(_("You may not file cases here."))
        return
    if not (
        actor.holds(permissions.CASE_STAFF_ROLES, path) or actor.holds(permissions.TEAM_ROLES, path)
    ):
        raise PermissionDenied(_("You may not file cases here."))


def _title(category: CaseCategory, description: str) -> str:
    first = description.strip().splitlines()[0] if description.strip() else ""
    short = first[:60] + ("…" if len(first) > 60 else "")
    return f"{category_name(category)}: {short}"[:200]


def _add_event(
    db: Session,
    case: Case,
    actor: Actor | None,
    kind: str,
    *,
    text: str = "",
    public: bool = True,
    by_staff: bool | None = None,
) -> CaseEvent:
    staff = (
        by_staff if by_staff is not None else bool(actor and permissions.can_handle(actor, case))
    )
    entry = CaseEvent(
        case_id=case.id,
        kind=kind,
        at=utc_now(),
        account_id=actor.account_id if actor else None,
        by_staff=staff,
        public=public,
        status=case.status,
        text=text,
    )
    db.add(entry)
    case.updated_at = entry.at
    db.flush()
    return entry


def _audit(db: Session, actor: Actor, action: str, case: Case) -> None:
    audit_service.record(
        db,
        actor=actor,
        action=action,
        subject_type="case",
        subject_id=case.id,
        subject_resident_id=case.reporter_resident_id,
        place_id=case.place_id,
    )


def report(db: Session, actor: Actor, data: CaseCreate) -> Case:
    """File a case, set its deadline and tell the team that handles it at that place."""
    if actor.is_anonymous:
        raise PermissionDenied(_("Log in to report a problem."))
    category = _category(db, data.category_id)
    try:
        place = place_service.get(db, data.place_id)
    except NotFound as exc:
        raise ValidationFailed(_("Choose a place from the list.")) from exc
    _check_place(db, actor, place.id, place.path)
    if data.lat is not None and actor.effective_resident_id is not None:
        # A resident's map position tells where they were: a separate consent (P7).
        consent.require(db, actor.effective_resident_id, "precise_location")
    now = utc_now()
    case = Case(
        ref=f"C{now:%y%m}-{secrets.token_hex(3).upper()}",
        category_id=category.id,
        team=category.team,
        place_id=place.id,
        place_path=place.path,
        lat=data.lat,
        lon=data.lon,
        title=data.title or _title(category, data.description),
        description=data.description,
        status="submitted",
        reporter_resident_id=actor.effective_resident_id,
        reporter_account_id=None if actor.is_assisting else actor.account_id,
        filed_by_account_id=actor.account_id if actor.is_assisting else None,
        due_at=sla.due(now, hours=category.sla_hours, days=category.sla_days),
        is_public=category.is_public and data.is_public,
        created_at=now,
        updated_at=now,
    )
    db.add(case)
    db.flush()
    _add_event(db, case, actor, "submitted", by_staff=False)
    if actor.is_assisting:
        _audit(db, actor, "case.report_assisted", case)
    if case.reporter_account_id is not None:
        db.add(CaseFollower(case_id=case.id, account_id=case.reporter_account_id))
    roles = permissions.TEAM_NOTIFY.get(case.team, frozenset({"community_staff"}))
    notification_service.notify(
        db,
        key=f"case:{case.id}:new",
        place_id=case.place_id,
        place_path=case.place_path,
        account_ids=account_service.holders_over(db, case.place_path, roles),
        category="case",
        severity="minor",
        subject=case.title,
        body=case.description[:500],
        link=f"/console/cases/{case.id}",
        data={"case_id": case.id, "ref": case.ref},
    )
    return case


def _tell_followers(db: Session, case: Case, entry: CaseEvent, subject: str) -> None:
    accounts = set(repository.followers(db, case.id))
    if case.reporter_account_id is not None:
        accounts.add(case.reporter_account_id)
    accounts.discard(entry.account_id or 0)
    if not accounts:
        return
    notification_service.notify(
        db,
        key=f"case:{case.id}:event:{entry.id}",
        place_id=case.place_id,
        place_path=case.place_path,
        account_ids=sorted(accounts),
        category="case",
        severity="warning",
        subject=subject,
        body=entry.text[:500],
        link=f"/cases/{case.id}",
        data={"case_id": case.id, "kind": entry.kind},
    )


def _require_status(case: Case, allowed: tuple[str, ...] | set[str]) -> None:
    if case.status not in allowed:
        raise Conflict(_("This step is not possible in the case's present state."))


# --- handling -------------------------------------------------------------------------------


def triage(
    db: Session,
    actor: Actor,
    case_id: int,
    *,
    category_id: int | None = None,
    is_public: bool | None = None,
) -> Case:
    """Accept a new case, correcting its category (and deadline) or its visibility."""
    case = _handled(db, actor, case_id)
    _require_status(case, {"submitted"})
    if category_id is not None and category_id != case.category_id:
        category = _category(db, category_id)
        case.category_id = category.id
        case.team = category.team
        case.due_at = sla.due(case.created_at, hours=category.sla_hours, days=category.sla_days)
        if not category.is_public:
            case.is_public = False
    if is_public is not None:
        case.is_public = is_public
    case.status = "triaged"
    entry = _add_event(db, case, actor, "triaged")
    _audit(db, actor, "case.triage", case)
    _tell_followers(db, case, entry, case.title)
    return case


def assignable(db: Session, case: Case) -> list[int]:
    """Accounts that may be given this case."""
    roles = set(permissions.CASE_STAFF_ROLES)
    if case.team in permissions.TEAM_ROLES:
        roles.add(case.team)
    return account_service.holders_over(db, case.place_path, roles)


def assignable_ids(db: Session, actor: Actor, case_id: int) -> list[int]:
    """Accounts the actor may give the case to."""
    return assignable(db, _handled(db, actor, case_id))


def case_id_of(db: Session, ref_or_id: str) -> int | None:
    """The id of a case named by its reference (C2611-1A2B3C) or its number."""
    text = ref_or_id.strip().upper()
    if text.isdigit() and len(text) < 10:
        return int(text)
    case = repository.by_ref(db, text) if text else None
    return case.id if case is not None else None


def assign(db: Session, actor: Actor, case_id: int, account_id: int) -> Case:
    """Give the case to someone who works on cases at its place."""
    case = _handled(db, actor, case_id)
    _require_status(case, OPEN_STATUSES)
    if account_id not in assignable(db, case):
        raise ValidationFailed(_("Choose someone who works on cases at this place."))
    case.assignee_account_id = account_id
    case.status = "assigned"
    entry = _add_event(db, case, actor, "assigned")
    _audit(db, actor, "case.assign", case)
    notification_service.notify(
        db,
        key=f"case:{case.id}:assigned:{entry.id}",
        place_id=case.place_id,
        place_path=case.place_path,
        account_ids=[account_id],
        category="case",
        severity="minor",
        subject=case.title,
        body=case.description[:500],
        link=f"/console/cases/{case.id}",
        data={"case_id": case.id},
    )
    return case


def start(db: Session, actor: Actor, case_id: int) -> Case:
    """Work on the case has begun."""
    case = _handled(db, actor, case_id)
    _require_status(case, {"triaged", "assigned"})
    case.status = "in_progress"
    entry = _add_event(db, case, actor, "started")
    _tell_followers(db, case, entry, case.title)
    return case


def resolve(db: Session, actor: Actor, case_id: int, reply: str) -> Case:
    """Done: the public reply says what was done ("you said, we did")."""
    case = _handled(db, actor, case_id)
    _require_status(case, OPEN_STATUSES)
    if not reply.strip():
        raise ValidationFailed(_("Write what was done; the reply is shown publicly."))
    case.status = "resolved"
    case.resolved_at = utc_now()
    entry = _add_event(db, case, actor, "resolved", text=reply.strip())
    _audit(db, actor, "case.resolve", case)
    _tell_followers(db, case, entry, case.title)
    return case


def close(db: Session, actor: Actor, case_id: int) -> Case:
    """Close a resolved case (staff, or the reporter who is satisfied)."""
    case = _visible(db, actor, case_id)
    if not (permissions.can_handle(actor, case) or permissions.is_reporter(actor, case)):
        raise PermissionDenied(_("You may not handle this case."))
    _require_status(case, {"resolved"})
    case.status = "closed"
    case.closed_at = utc_now()
    _add_event(db, case, actor, "closed")
    return case


def reopen(db: Session, actor: Actor, case_id: int, reason: str = "") -> Case:
    """The problem is back: the reporter (within ``REOPEN_DAYS``) or staff reopen the case."""
    case = _visible(db, actor, case_id)
    handler = permissions.can_handle(actor, case)
    if not (handler or permissions.is_reporter(actor, case)):
        raise PermissionDenied(_("You may not reopen this case."))
    _require_status(case, {"resolved", "closed"})
    late = case.resolved_at is not None and utc_now() - case.resolved_at > dt.timedelta(
        days=REOPEN_DAYS
    )
    if not handler and late:
        raise Conflict(
            _("A case can be reopened within %(days)s days of its resolution.", days=REOPEN_DAYS)
        )
    case.status = "assigned" if case.assignee_account_id else "submitted"
    case.resolved_at = None
    case.closed_at = None
    case.rating = None
    case.rating_comment = None
    entry = _add_event(db, case, actor, "reopened", text=reason.strip())
    roles = permissions.TEAM_NOTIFY.get(case.team, frozenset({"community_staff"}))
    targets = set(account_service.holders_over(db, case.place_path, roles))
    if case.assignee_account_id:
        targets.add(case.assignee_account_id)
    notification_service.notify(
        db,
        key=f"case:{case.id}:reopened:{entry.id}",
        place_id=case.place_id,
        place_path=case.place_path,
        account_ids=sorted(targets),
        category="case",
        severity="minor",
        subject=case.title,
        body=reason[:500],
        link=f"/console/cases/{case.id}",
        data={"case_id": case.id},
    )
    return case


def mark_duplicate(db: Session, actor: Actor, case_id: int, duplicate_of_id: int) -> Case:
    """The same problem is already reported: point to the other case."""
    case = _handled(db, actor, case_id)
    _require_status(case, OPEN_STATUSES)
    if duplicate_of_id == case.id:
        raise ValidationFailed(_("A case cannot be a duplicate of itself."))
    other = repository.get(db, duplicate_of_id)
    if other is None or not permissions.can_handle(actor, other) or other.status == "duplicate":
        raise ValidationFailed(_("Choose an existing case that you handle."))
    case.status = "duplicate"
    case.duplicate_of_id = other.id
    entry = _add_event(db, case, actor, "duplicate", text=other.ref)
    reporter = case.reporter_account_id
    if reporter is not None and repository.follower(db, other.id, reporter) is None:
        # The reporter hears how the original case ends.
        db.add(CaseFollower(case_id=other.id, account_id=reporter))
    _tell_followers(db, case, entry, case.title)
    return case


def refer(db: Session, actor: Actor, case_id: int, referred_to: str, text: str = "") -> Case:
    """Not ours: referred to another body, shown as referred, never as fixed."""
    case = _handled(db, actor, case_id)
    _require_status(case, OPEN_STATUSES)
    if not referred_to.strip():
        raise ValidationFailed(_("Say to whom the case was referred."))
    case.status = "referred"
    case.referred_to = referred_to.strip()[:200]
    entry = _add_event(db, case, actor, "referred", text=text.strip() or case.referred_to)
    _audit(db, actor, "case.refer", case)
    _tell_followers(db, case, entry, case.title)
    return case


def rate(db: Session, actor: Actor, case_id: int, rating: int, comment: str = "") -> Case:
    """The reporter's satisfaction (1–5) once the case is resolved; once only."""
    case = _visible(db, actor, case_id)
    if not permissions.is_reporter(actor, case):
        raise PermissionDenied(_("Only the person who reported the case can rate it."))
    _require_status(case, {"resolved", "closed"})
    if case.rating is not None:
        raise Conflict(_("This case has already been rated."))
    if not 1 <= rating <= 5:
        raise ValidationFailed(_("Choose a rating from 1 to 5."))
    case.rating = rating
    case.rating_comment = comment.strip() or None
    _add_event(db, case, actor, "rated", text=str(rating), by_staff=False)
    return case


def comment(db: Session, actor: Actor, case_id: int, text: str) -> CaseEvent:
    """A public comment by anyone who may see the case."""
    case = _visible(db, actor, case_id)
    if actor.is_anonymous:
        raise PermissionDenied(_("Log in to comment."))
    if not text.strip():
        raise ValidationFailed(_("Write a comment."))
    entry = _add_event(db, case, actor, "comment", text=text.strip())
    _tell_followers(db, case, entry, case.title)
    return entry


def note(db: Session, actor: Actor, case_id: int, text: str) -> CaseEvent:
    """An internal note for the people who handle the case (never public)."""
    case = _handled(db, actor, case_id)
    if not text.strip():
        raise ValidationFailed(_("Write a note."))
    return _add_event(db, case, actor, "note", text=text.strip(), public=False)


def follow(db: Session, actor: Actor, case_id: int) -> bool:
    """Be told about the case's progress; False when already following."""
    case = _visible(db, actor, case_id)
    if actor.account_id is None:
        raise PermissionDenied(_("Log in to follow a case."))
    if repository.follower(db, case.id, actor.account_id) is not None:
        return False
    db.add(CaseFollower(case_id=case.id, account_id=actor.account_id))
    db.flush()
    return True


def unfollow(db: Session, actor: Actor, case_id: int) -> bool:
    """Stop following; False when not following."""
    case = _visible(db, actor, case_id)
    if actor.account_id is None:
        return False
    return repository.unfollow(db, case.id, actor.account_id) > 0


# --- photos ---------------------------------------------------------------------------------


def add_photo(db: Session, actor: Actor, case_id: int, data: bytes) -> CasePhoto:
    """Attach a photo (reporter or handler): checked by content, metadata stripped."""
    case = _visible(db, actor, case_id)
    if not (permissions.is_reporter(actor, case) or permissions.can_handle(actor, case)):
        raise PermissionDenied(_("You may not add photos to this case."))
    if len(repository.photos(db, case.id)) >= MAX_PHOTOS:
        raise Conflict(_("A case can have at most %(n)s photos.", n=MAX_PHOTOS))
    if permissions.is_reporter(actor, case) and not permissions.can_handle(actor, case):
        # A resident's photo may show people or their home: a separate consent (P7).
        consent.require(db, case.reporter_resident_id or 0, "images")
    cleaned, content_type = clean_photo(data)
    photo = CasePhoto(
        case_id=case.id,
        account_id=actor.account_id,
        content_type=content_type,
        size=len(cleaned),
        data=cleaned,
    )
    db.add(photo)
    db.flush()
    return photo


def _forget_photos(db: Session, actor: Actor, resident_id: int) -> int:
    """Withdrawn consent to images: delete the photos the resident uploaded."""
    accounts = account_service.accounts_of_residents(db, [resident_id])
    return repository.delete_photos_by_accounts(db, sorted(accounts.values()))


def _forget_positions(db: Session, actor: Actor, resident_id: int) -> int:
    """Withdrawn consent to precise location: forget the positions of the resident's reports."""
    return repository.clear_reporter_positions(db, resident_id)


consent.register_on_withdraw("images", _forget_photos)
consent.register_on_withdraw("precise_location", _forget_positions)


def photo_ids(db: Session, actor: Actor, case_id: int) -> list[int]:
    """Ids of the case's photos, for those who may see the case."""
    case = _visible(db, actor, case_id)
    return [p.id for p in repository.photos(db, case.id)]


def get_photo(db: Session, actor: Actor, case_id: int, photo_id: int) -> CasePhoto:
    """A photo, only to those who may see its case."""
    case = _visible(db, actor, case_id)
    photo = repository.photo(db, photo_id)
    if photo is None or photo.case_id != case.id:
        raise NotFound(_("No such photo."))
    return photo


# --- duplicate suggestions ------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def _tokens(text: str) -> set[str]:
    """Words of Latin text and character pairs of Chinese text."""
    lowered = text.lower()
    tokens = set(_WORD.findall(lowered))
    han = [ch for ch in lowered if "\u4e00" <= ch <= "\u9fff"]
    tokens.update(a + b for a, b in itertools.pairwise(han))
    return tokens


def text_similarity(a: str, b: str) -> float:
    """Token overlap (Jaccard) of two texts, 0 to 1."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in metres on the sphere."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def similar(db: Session, actor: Actor, q: SimilarQuery, *, limit: int = 5) -> list[SimilarCase]:
    """Open cases that may be the same problem: same building or within 50 m, same team, and
    the same category or similar words. Suggestions only; nothing is refused."""
    category = _category(db, q.category_id)
    try:
        place = place_service.get(db, q.place_id)
    except NotFound as exc:
        raise ValidationFailed(_("Choose a place from the list.")) from exc
    chain = place_service.ancestors(db, place)
    building = next((p for p in chain if p.kind == "building"), None)
    area = building.path if building is not None else place.path
    where = and_(
        permissions.visible(actor),
        Case.team == category.team,
        or_(Case.place_path.startswith(area, autoescape=True), Case.lat.is_not(None)),
    )
    found: list[SimilarCase] = []
    for case in repository.open_candidates(db, where):
        distance = None
        if None not in (q.lat, q.lon, case.lat, case.lon):
            distance = haversine_m(q.lat or 0.0, q.lon or 0.0, case.lat or 0.0, case.lon or 0.0)
        near = case.place_path.startswith(area) or (distance is not None and distance <= NEAR_M)
        if not near:
            continue
        score = text_similarity(q.description, f"{case.title} {case.description}")
        same = case.category_id == category.id
        if not same and score < 0.2:
            continue
        found.append(
            SimilarCase(
                id=case.id,
                ref=case.ref,
                title=case.title,
                status=case.status,
                score=round(score + (0.5 if same else 0.0), 3),
                distance_m=None if distance is None else round(distance, 1),
            )
        )
    found.sort(key=lambda s: -s.score)
    return found[:limit]


# --- escalation -----------------------------------------------------------------------------


def escalate_due(db: Session, *, now: dt.datetime | None = None) -> int:
    """Overdue open cases go to the next role (community admin, then district); how many went."""
    now = now or utc_now()
    top = len(permissions.ESCALATION_ROLES)
    count = 0
    for case in repository.overdue(db, now):
        if case.escalation_level >= top:
            continue
        if case.escalated_at is not None and now < sla.due(case.escalated_at, days=1):
            continue
        case.escalation_level += 1
        case.escalated_at = now
        roles = permissions.ESCALATION_ROLES[case.escalation_level - 1]
        entry = _add_event(db, case, None, "escalated", text=",".join(sorted(roles)), by_staff=True)
        targets = set(account_service.holders_over(db, case.place_path, roles))
        if case.assignee_account_id:
            targets.add(case.assignee_account_id)
        notification_service.notify(
            db,
            key=f"case:{case.id}:escalated:{case.escalation_level}",
            place_id=case.place_id,
            place_path=case.place_path,
            account_ids=sorted(targets),
            category="case",
            severity="major",
            subject=case.title,
            body=case.ref,
            link=f"/console/cases/{case.id}",
            data={"case_id": case.id, "level": case.escalation_level, "event": entry.id},
        )
        count += 1
    return count


def account_names(db: Session, account_ids: list[int]) -> dict[int, str]:
    """Display names of staff accounts (for the console; never on public pages)."""
    names: dict[int, str] = {}
    for account_id in sorted(set(account_ids)):
        try:
            account = account_service.get_account(db, account_id)
        except NotFound:
            names[account_id] = f"#{account_id}"
            continue
        names[account_id] = account.display_name or account.username
    return names


def category_map(db: Session) -> dict[int, CategoryRead]:
    """Every category by id (inactive ones too, for old cases)."""
    return {
        c.id: CategoryRead.model_validate(c) for c in repository.categories(db, active_only=False)
    }


def place_label(db: Session, place_id: int) -> str:
    """A readable address of the case's place."""
    try:
        return place_service.label(db, place_service.get(db, place_id), from_kind="community")
    except NotFound:
        return ""


# --- the public read model for open standards (Open311) --------------------------------------


@dataclass(frozen=True, slots=True)
class PublicCase:
    """What a public case shows to anyone: no reporter, no exact location."""

    ref: str
    category_code: str
    category_name: str
    team: str
    status: str
    description: str
    address: str
    referred_to: str | None
    duplicate_of_ref: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    due_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    """One public entry of a public case's timeline."""

    id: int
    case_ref: str
    kind: str
    status: str
    at: dt.datetime
    text: str


def _public(db: Session, case: Case, categories: dict[int, CategoryRead]) -> PublicCase:
    category = categories.get(case.category_id)
    duplicate = repository.get(db, case.duplicate_of_id) if case.duplicate_of_id else None
    return PublicCase(
        ref=case.ref,
        category_code=category.code if category else "",
        category_name=category.name_en if category else "",
        team=case.team,
        status=case.status,
        description=case.description,
        address=place_label(db, case.place_id),
        referred_to=case.referred_to,
        duplicate_of_ref=duplicate.ref if duplicate is not None and duplicate.is_public else None,
        created_at=case.created_at,
        updated_at=case.updated_at,
        due_at=case.due_at,
    )


def public_cases(
    db: Session,
    *,
    refs: list[str] | None = None,
    category_codes: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    statuses: tuple[str, ...] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[PublicCase], int]:
    """Public cases (as anyone may see them), newest first, with the filters given."""
    parts: list[ColumnElement[bool]] = [permissions.visible(Actor(account_id=None))]
    if refs is not None:
        parts.append(Case.ref.in_(refs))
    if category_codes is not None:
        cats = category_map(db)
        ids = [c.id for c in cats.values() if c.code in category_codes]
        parts.append(Case.category_id.in_(ids))
    if start is not None:
        parts.append(Case.created_at >= start)
    if end is not None:
        parts.append(Case.created_at <= end)
    if statuses is not None:
        parts.append(Case.status.in_(statuses))
    rows, total = repository.listed(db, and_(*parts), offset=offset, limit=limit)
    cats = category_map(db)
    return [_public(db, c, cats) for c in rows], total


def public_updates(
    db: Session, start: dt.datetime, end: dt.datetime, *, limit: int = 1000
) -> list[PublicUpdate]:
    """Public timeline entries of public cases between ``start`` and ``end``, oldest first."""
    return [
        PublicUpdate(
            id=e.id, case_ref=c.ref, kind=e.kind, status=e.status or c.status, at=e.at, text=e.text
        )
        for e, c in repository.public_events(db, start, end, limit=limit)
    ]


def default_report_place(db: Session, actor: Actor) -> int:
    """Where a resident's report without a chosen place goes: their building, else the nearest."""
    places = report_places(db, actor)
    if not places:
        raise ValidationFailed(_("Your home is not known; ask community staff to help."))
    buildings = [p for p in places if p.kind == "building"]
    return (buildings[0] if buildings else places[-1]).id
