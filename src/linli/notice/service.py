"""Notice use cases: publish, read with receipts; emergency check-ins with a live board.

Changes to a check-in are published to open boards (``hub`` topic ``emergency``) only after
the transaction that made them commits; the messages to residents are written in that same
transaction (the notification outbox), so nobody is told of a broadcast that was rolled back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.audit import service as audit_service
from linli.core.actor import Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.events import AfterCommit
from linli.core.i18n import _
from linli.core.pagination import Page, PageParams
from linli.core.time import utc_now
from linli.notice import permissions, repository
from linli.notice.models import EmergencyBroadcast, EmergencyResponse, Notice, NoticeRead
from linli.notice.schemas import (
    Board,
    BoardRow,
    BroadcastCreate,
    BroadcastOut,
    Counts,
    NoticeCreate,
    NoticeOut,
    ReceiptCounts,
)
from linli.notification import service as notification_service
from linli.place import service as place_service
from linli.resident import service as resident_service

TOPIC = "emergency"
# Board events, published once the transaction that made them commits.
_EVENTS = AfterCommit(TOPIC)
TARGET_KINDS = ("community", "compound", "building", "unit")
# How long an ended broadcast stays in the public CAP feed.
FEED_DAYS = 7


# --- publishing after commit ----------------------------------------------------------------


def _queue_publish(db: Session, broadcast: EmergencyBroadcast, change: str) -> None:
    counts = _counts(db, broadcast.id)
    _EVENTS.queue(
        db,
        {
            "change": change,
            "broadcast_id": broadcast.id,
            "place_path": broadcast.place_path,
            "status": broadcast.status,
            **counts.model_dump(),
        },
    )


def event_visible(paths: list[str], broadcast_id: int, data: dict[str, Any]) -> bool:
    """Whether a published event is about this broadcast and under the actor's places."""
    place_path = data.get("place_path")
    return (
        data.get("broadcast_id") == broadcast_id
        and isinstance(place_path, str)
        and any(place_path.startswith(p) for p in paths)
    )


# --- shared ---------------------------------------------------------------------------------


def _home_path(db: Session, actor: Actor) -> str | None:
    rid = actor.effective_resident_id
    if rid is None:
        return None
    try:
        return resident_service.place_path_of(db, rid)
    except NotFound:
        return None


def _target(db: Session, actor: Actor, place_id: int) -> tuple[int, str]:
    """(id, path) of a place the actor may address."""
    try:
        place = place_service.get(db, place_id)
    except NotFound as exc:
        raise ValidationFailed(_("Choose one of the places in the list.")) from exc
    if not permissions.can_manage(actor, place.path):
        raise PermissionDenied(_("You may not publish to this place."))
    if place.kind not in TARGET_KINDS:
        raise ValidationFailed(_("Choose a community, compound, building or unit."))
    return place.id, place.path


def may_manage_any(actor: Actor) -> bool:
    """Whether the actor gets the staff pages of notices and emergencies."""
    return permissions.may_manage_any(actor)


def managed_paths(actor: Actor) -> list[str]:
    return permissions.managed_paths(actor)


def target_places(db: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, label) of the places the actor may address."""
    places = place_service.under(db, permissions.managed_paths(actor), kinds=TARGET_KINDS)
    return [(p.id, place_service.label(db, p, from_kind="community")) for p in places]


def place_label(db: Session, place_id: int) -> str:
    try:
        place = place_service.get(db, place_id)
    except NotFound:
        return f"#{place_id}"
    return place_service.label(db, place, from_kind="community")


# --- notices --------------------------------------------------------------------------------


def publish_notice(db: Session, actor: Actor, data: NoticeCreate) -> Notice:
    """Publish (or schedule) a notice to everyone living under a place."""
    place_id, place_path = _target(db, actor, data.place_id)
    now = utc_now()
    notice = Notice(
        place_id=place_id,
        place_path=place_path,
        title=data.title,
        body=data.body,
        category=data.category,
        pinned=data.pinned,
        publish_at=data.publish_at or now,
        expires_at=data.expires_at,
        created_by_account_id=actor.account_id,
        created_at=now,
    )
    if notice.expires_at is not None and notice.expires_at <= notice.publish_at:
        raise ValidationFailed(_("The notice must expire after it is published."))
    db.add(notice)
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="notice.publish",
        subject_type="notice",
        subject_id=notice.id,
        place_id=place_id,
    )
    return notice


def _where(db: Session, actor: Actor) -> list[Any]:
    """Conditions for the notices the actor sees: managed ones in any state, others current."""
    home = _home_path(db, actor)
    managed = permissions.managed_notices(actor)
    addressed = and_(permissions.addressed_to(home), repository.current(utc_now()))
    return [or_(managed, addressed)]


def list_notices(db: Session, actor: Actor, params: PageParams) -> Page[NoticeOut]:
    """Notices for the actor: pinned first, newest first; staff also see scheduled ones."""
    rows, total = repository.notices(db, _where(db, actor), offset=params.offset, limit=params.size)
    read = (
        repository.read_ids(db, actor.account_id, [n.id for n in rows])
        if actor.account_id is not None
        else set()
    )
    items = [NoticeOut.model_validate(n).model_copy(update={"read": n.id in read}) for n in rows]
    return Page(items=items, total=total, page=params.page, size=params.size)


def _visible_notice(db: Session, actor: Actor, notice_id: int) -> Notice:
    notice = repository.get_notice(db, notice_id)
    if notice is None:
        raise NotFound(_("No such notice."))
    if permissions.can_manage(actor, notice.place_path):
        return notice
    now = utc_now()
    published = notice.publish_at <= now and (notice.expires_at is None or notice.expires_at > now)
    if published and permissions.reaches(notice.place_path, _home_path(db, actor)):
        return notice
    raise NotFound(_("No such notice."))


def get_notice(db: Session, actor: Actor, notice_id: int) -> NoticeOut:
    """One notice the actor may read."""
    notice = _visible_notice(db, actor, notice_id)
    read = actor.account_id is not None and (
        repository.receipt(db, notice.id, actor.account_id) is not None
    )
    return NoticeOut.model_validate(notice).model_copy(update={"read": read})


def mark_read(db: Session, actor: Actor, notice_id: int) -> NoticeOut:
    """Record that the actor has opened the notice (once; again changes nothing)."""
    notice = _visible_notice(db, actor, notice_id)
    account_id = actor.account_id
    # Staff assisting a resident do not mark it read for themselves.
    if (
        account_id is not None
        and not actor.is_assisting
        and repository.receipt(db, notice.id, account_id) is None
    ):
        # Two tabs opening it at once: the unique receipt keeps one, the other is a no-op.
        try:
            with db.begin_nested():
                db.add(NoticeRead(notice_id=notice.id, account_id=account_id, read_at=utc_now()))
        except IntegrityError:
            pass
    return get_notice(db, actor, notice_id)


def _audience(db: Session, place_path: str) -> list[int]:
    """Accounts of the residents living under a place."""
    residents = resident_service.living_under(db, place_path)
    return sorted(
        set(account_service.accounts_of_residents(db, [r[0] for r in residents]).values())
    )


def receipts(db: Session, actor: Actor, notice_id: int) -> ReceiptCounts:
    """How many of the residents' accounts under the notice's place have read it (staff)."""
    notice = repository.get_notice(db, notice_id)
    if notice is None or not permissions.can_manage(actor, notice.place_path):
        raise NotFound(_("No such notice."))
    audience = _audience(db, notice.place_path)
    return ReceiptCounts(
        notice_id=notice.id,
        read=repository.read_count(db, notice.id, audience),
        audience=len(audience),
    )


# --- emergency check-ins --------------------------------------------------------------------


def start_broadcast(db: Session, actor: Actor, data: BroadcastCreate) -> EmergencyBroadcast:
    """Ask every resident living under a place whether they are safe, through every channel."""
    place_id, place_path = _target(db, actor, data.place_id)
    now = utc_now()
    broadcast = EmergencyBroadcast(
        identifier=f"linli-{uuid.uuid4().hex}",
        place_id=place_id,
        place_path=place_path,
        headline=data.headline,
        instruction=data.instruction,
        event=data.event or data.headline[:100],
        cap_category=data.cap_category,
        urgency=data.urgency,
        severity=data.severity,
        certainty=data.certainty,
        status="active",
        sent_at=now,
        created_by_account_id=actor.account_id,
    )
    db.add(broadcast)
    db.flush()
    residents = resident_service.living_under(db, place_path)
    db.add_all(
        EmergencyResponse(
            broadcast_id=broadcast.id, resident_id=rid, place_id=pid, status="no_answer"
        )
        for rid, pid, _name, _room in residents
    )
    accounts = account_service.accounts_of_residents(db, [r[0] for r in residents])
    notification_service.notify(
        db,
        key=f"emergency:{broadcast.id}:start",
        place_id=place_id,
        place_path=place_path,
        account_ids=sorted(set(accounts.values())),
        category="emergency",
        # Critical: it goes through quiet hours and daily caps.
        severity="critical",
        subject=broadcast.headline,
        body=broadcast.instruction or broadcast.headline,
        link=f"/me/emergencies/{broadcast.id}",
        data={"broadcast_id": broadcast.id},
    )
    audit_service.record(
        db,
        actor=actor,
        action="emergency.start",
        subject_type="emergency_broadcast",
        subject_id=broadcast.id,
        place_id=place_id,
    )
    db.flush()
    _queue_publish(db, broadcast, "started")
    return broadcast


def _managed_broadcast(db: Session, actor: Actor, broadcast_id: int) -> EmergencyBroadcast:
    broadcast = repository.get_broadcast(db, broadcast_id)
    if broadcast is None:
        raise NotFound(_("No such emergency check-in."))
    if not permissions.can_manage(actor, broadcast.place_path):
        raise NotFound(_("No such emergency check-in."))
    return broadcast


def _out(broadcast: EmergencyBroadcast, my_status: str | None = None) -> BroadcastOut:
    return BroadcastOut.model_validate(broadcast).model_copy(update={"my_status": my_status})


def get_broadcast(db: Session, actor: Actor, broadcast_id: int) -> BroadcastOut:
    """A broadcast the actor manages or was asked by (with their own answer)."""
    broadcast = repository.get_broadcast(db, broadcast_id)
    if broadcast is None:
        raise NotFound(_("No such emergency check-in."))
    rid = actor.effective_resident_id
    mine = repository.response(db, broadcast.id, rid) if rid is not None else None
    if mine is not None:
        return _out(broadcast, mine.status)
    if permissions.can_manage(actor, broadcast.place_path):
        return _out(broadcast)
    raise NotFound(_("No such emergency check-in."))


def list_broadcasts(db: Session, actor: Actor, *, limit: int = 50) -> list[BroadcastOut]:
    """Staff: broadcasts of their places; residents: those they were asked by."""
    found: dict[int, BroadcastOut] = {}
    rid = actor.effective_resident_id
    if rid is not None:
        for b in repository.broadcasts_of_resident(db, rid, limit=limit):
            mine = repository.response(db, b.id, rid)
            found[b.id] = _out(b, mine.status if mine else None)
    if permissions.may_manage_any(actor):
        for b in repository.broadcasts(db, permissions.managed_broadcasts(actor), limit=limit):
            found.setdefault(b.id, _out(b))
    return sorted(found.values(), key=lambda b: (b.sent_at, b.id), reverse=True)[:limit]


def _set_answer(
    db: Session,
    actor: Actor,
    broadcast: EmergencyBroadcast,
    row: EmergencyResponse,
    status: str,
    note: str,
    via: str,
) -> EmergencyResponse:
    if broadcast.status != "active":
        raise Conflict(_("This emergency check-in has ended."))
    row.status = status
    row.answered_at = utc_now()
    row.via = via
    row.recorded_by_account_id = actor.account_id
    if note:
        row.note = note
    db.flush()
    _queue_publish(db, broadcast, "answered")
    return row


def answer(db: Session, actor: Actor, broadcast_id: int, status: str, note: str = "") -> BoardRow:
    """The resident's own answer: safe or needs help (may be changed while active)."""
    rid = actor.effective_resident_id
    broadcast = repository.get_broadcast(db, broadcast_id)
    row = repository.response(db, broadcast_id, rid) if rid is not None else None
    if broadcast is None or row is None:
        raise NotFound(_("No such emergency check-in."))
    via = "staff" if actor.is_assisting else "self"
    _set_answer(db, actor, broadcast, row, status, note, via)
    if actor.is_assisting:
        audit_service.record(
            db,
            actor=actor,
            action="emergency.answer",
            subject_type="emergency_broadcast",
            subject_id=broadcast.id,
            place_id=broadcast.place_id,
        )
    return _board_row(row, "", "")


def record_answer(
    db: Session, actor: Actor, broadcast_id: int, resident_id: int, status: str, note: str = ""
) -> BoardRow:
    """Staff record the answer of a resident they visited or phoned (audited)."""
    broadcast = _managed_broadcast(db, actor, broadcast_id)
    row = repository.response(db, broadcast.id, resident_id)
    if row is None:
        raise NotFound(_("This resident was not asked in this check-in."))
    _set_answer(db, actor, broadcast, row, status, note, "staff")
    audit_service.record(
        db,
        actor=actor,
        action="emergency.record_answer",
        subject_type="emergency_broadcast",
        subject_id=broadcast.id,
        place_id=broadcast.place_id,
    )
    return _board_row(row, "", "")


def end_broadcast(db: Session, actor: Actor, broadcast_id: int) -> EmergencyBroadcast:
    """End a check-in: no more answers; the CAP alert becomes a Cancel."""
    broadcast = _managed_broadcast(db, actor, broadcast_id)
    if broadcast.status != "active":
        raise Conflict(_("This emergency check-in has ended."))
    broadcast.status = "ended"
    broadcast.ended_at = utc_now()
    audit_service.record(
        db,
        actor=actor,
        action="emergency.end",
        subject_type="emergency_broadcast",
        subject_id=broadcast.id,
        place_id=broadcast.place_id,
    )
    db.flush()
    _queue_publish(db, broadcast, "ended")
    return broadcast


def _counts(db: Session, broadcast_id: int) -> Counts:
    raw = repository.status_counts(db, broadcast_id)
    counts = Counts(
        safe=raw.get("safe", 0),
        need_help=raw.get("need_help", 0),
        no_answer=raw.get("no_answer", 0),
    )
    counts.total = counts.safe + counts.need_help + counts.no_answer
    return counts


def _board_row(row: EmergencyResponse, name: str, room: str) -> BoardRow:
    return BoardRow(
        resident_id=row.resident_id,
        name=name,
        room=room,
        status=row.status,
        answered_at=row.answered_at,
        via=row.via,
        note=row.note,
    )


STATUS_ORDER = {"need_help": 0, "no_answer": 1, "safe": 2}


def board(db: Session, actor: Actor, broadcast_id: int) -> Board:
    """Counts of answers and who must be visited (need help first, then no answer)."""
    broadcast = _managed_broadcast(db, actor, broadcast_id)
    people = {rid: (name, room) for rid, _pid, name, room in _people(db, broadcast)}
    rows = [
        _board_row(r, *people.get(r.resident_id, ("", "")))
        for r in repository.responses(db, broadcast.id)
    ]
    rows.sort(key=lambda r: (STATUS_ORDER.get(r.status, 9), r.room, r.resident_id))
    return Board(
        broadcast=_out(broadcast),
        counts=_counts(db, broadcast.id),
        to_visit=[r for r in rows if r.status != "safe"],
        safe=[r for r in rows if r.status == "safe"],
    )


def _people(db: Session, broadcast: EmergencyBroadcast) -> list[tuple[int, int, str, str]]:
    return resident_service.living_under(db, broadcast.place_path)


def counts(db: Session, actor: Actor, broadcast_id: int) -> Counts:
    """Only the counts of a broadcast the actor manages."""
    broadcast = _managed_broadcast(db, actor, broadcast_id)
    return _counts(db, broadcast.id)


# --- public alerts (CAP) --------------------------------------------------------------------


def public_alerts(db: Session, *, now: dt.datetime | None = None) -> list[EmergencyBroadcast]:
    """Active broadcasts and those ended in the last week: the public CAP feed."""
    now = now or utc_now()
    return repository.public_broadcasts(db, now - dt.timedelta(days=FEED_DAYS), limit=100)


def public_alert(db: Session, broadcast_id: int) -> EmergencyBroadcast:
    """One broadcast as a public alert (headline, instruction and area only)."""
    broadcast = repository.get_broadcast(db, broadcast_id)
    if broadcast is None:
        raise NotFound(_("No such alert."))
    return broadcast


def area_of(db: Session, broadcast: EmergencyBroadcast) -> tuple[str, float | None, float | None]:
    """The area description and the place's coordinates when known (nearest known above)."""
    place = place_service.get(db, broadcast.place_id)
    label = place_service.label(db, place, from_kind="community")
    for candidate in reversed(place_service.ancestors(db, place)):
        if candidate.latitude is not None and candidate.longitude is not None:
            return label, candidate.latitude, candidate.longitude
    return label, None, None


def help_answers_since(
    db: Session, since: dt.datetime
) -> list[tuple[EmergencyResponse, EmergencyBroadcast]]:
    """Answers "I need help" given at or after ``since`` with their broadcast, oldest first."""
    query = (
        select(EmergencyResponse, EmergencyBroadcast)
        .join(EmergencyBroadcast, EmergencyBroadcast.id == EmergencyResponse.broadcast_id)
        .where(EmergencyResponse.status == "need_help", EmergencyResponse.answered_at >= since)
        .order_by(EmergencyResponse.answered_at, EmergencyResponse.id)
    )
    return [(r, b) for r, b in db.execute(query)]
