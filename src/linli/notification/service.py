"""Notifications: the transactional outbox other domains write to, each person's inbox and
preferences, the endpoints of places, and what delivery workers need to send and record.

``notify`` runs inside the caller's transaction and never commits: a message exists only if the
change that caused it commits. After that commit the bell of each person hears about it (the
``hub`` topic ``inbox:<account id>``) and the delivery workers are woken.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.audit import service as audit_service
from linli.config import get_settings
from linli.core.actor import Actor
from linli.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from linli.core.events import hub
from linli.core.pagination import PageParams
from linli.core.time import utc_now
from linli.notification import permissions, repository
from linli.notification.models import (
    CHANNELS,
    ENDPOINT_CHANNELS,
    Notification,
    NotificationEndpoint,
    NotificationPreference,
)
from linli.notification.schemas import (
    SEVERITY_RANK,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    NotificationRead,
    OutboxCount,
    OutboxPage,
    OutboxRow,
    PreferencesRead,
    PreferencesUpdate,
)
from linli.place import service as place_service
from linli.sharing import service as sharing_service

log = logging.getLogger(__name__)

INBOX_TOPIC = "inbox:{}"
# Channels that go outside the app (and count towards a person's daily cap).
EXTERNAL_CHANNELS = tuple(c for c in CHANNELS if c != "inapp")
DAY = dt.timedelta(hours=24)
_PENDING = "linli.notification.pending"


# --- after commit: the bell and the delivery workers ---------------------------------------


@dataclass
class _AfterCommit:
    """What to announce once the transaction that wrote it has committed."""

    inbox: dict[int, dict[str, Any]] = field(default_factory=dict)
    channels: set[str] = field(default_factory=set)


_wakers_lock = threading.Lock()
_wakers: list[Callable[[frozenset[str]], None]] = []


def add_waker(callback: Callable[[frozenset[str]], None]) -> None:
    """Call ``callback`` (from any thread) with the channels that have new work after a commit."""
    with _wakers_lock:
        _wakers.append(callback)


def remove_waker(callback: Callable[[frozenset[str]], None]) -> None:
    with _wakers_lock:
        if callback in _wakers:
            _wakers.remove(callback)


def wake(channels: Iterable[str]) -> None:
    """Tell the delivery workers of this process that ``channels`` have due messages."""
    wanted = frozenset(channels)
    if not wanted:
        return
    with _wakers_lock:
        callbacks = list(_wakers)
    for callback in callbacks:
        try:
            callback(wanted)
        except Exception:  # a stopped worker must not break the caller's commit
            log.exception("notification waker failed")


def _after_commit_of(db: Session) -> _AfterCommit:
    pending = db.info.get(_PENDING)
    if not isinstance(pending, _AfterCommit):
        pending = _AfterCommit()
        db.info[_PENDING] = pending
    return pending


def _announce(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not isinstance(pending, _AfterCommit):
        return
    for account_id, data in pending.inbox.items():
        hub.publish(INBOX_TOPIC.format(account_id), data)
    wake(pending.channels)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


event.listen(Session, "after_commit", _announce)
event.listen(Session, "after_rollback", _forget)


# --- rules ----------------------------------------------------------------------------------


def severity_rank(severity: str) -> int:
    """critical 4 > major 3 > minor 2 > warning 1; unknown 0."""
    return SEVERITY_RANK.get(severity, 0)


@dataclass(frozen=True, slots=True)
class Prefs:
    """A person's preferences with the defaults filled in."""

    email_enabled: bool = True
    quiet_start: str = ""
    quiet_end: str = ""
    min_severity: str = "warning"
    daily_cap: int = 20


def _prefs(row: NotificationPreference | None) -> Prefs:
    if row is None:
        return Prefs()
    return Prefs(
        email_enabled=row.email_enabled,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        min_severity=row.min_severity,
        daily_cap=row.daily_cap,
    )


def _clock(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def quiet_until(now: dt.datetime, start: str, end: str, tz: str) -> dt.datetime | None:
    """The end of the quiet period ``now`` falls in (UTC), or None outside quiet hours.

    ``start`` and ``end`` are "HH:MM" in the time zone ``tz``; the period may wrap midnight
    (22:00–07:00). Empty or equal ends mean no quiet hours.
    """
    if not start or not end or start == end:
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    begin, finish = _clock(start), _clock(end)
    t = local.time().replace(tzinfo=None)
    if begin < finish:
        if not begin <= t < finish:
            return None
        day = local.date()
    else:
        if finish <= t < begin:
            return None
        day = local.date() if t < finish else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, finish, tzinfo=zone).astimezone(dt.UTC)


def _ancestor_ids(place_path: str) -> list[int]:
    return [int(part) for part in place_path.strip("/").split("/") if part.isdigit()]


def _key(key: str, channel: str, target: str) -> str:
    return f"{key}:{channel}:{target}"


def event_key(idempotency_key: str) -> str:
    """The event part of a message's idempotency key (``alarm:12:raised``)."""
    return idempotency_key.rsplit(":", 2)[0]


def notify(
    db: Session,
    *,
    key: str,
    place_id: int,
    place_path: str,
    account_ids: Iterable[int],
    category: str,
    severity: str,
    subject: str,
    body: str,
    link: str = "",
    data: dict[str, Any] | None = None,
    timezone: str | None = None,
) -> list[Notification]:
    """Write the messages an event causes, in the caller's transaction (never commits).

    Each person gets an in-app message (the bell) and, when they have an e-mail address and
    their preferences allow, an e-mail; every enabled endpoint of the place or an ancestor that
    takes this severity gets one message. ``key`` names the event: calling again with the same
    key adds nothing. Quiet hours are read in ``timezone`` (default: the configured one).
    Returns the messages added now.
    """
    if severity not in SEVERITY_RANK:
        raise ValidationFailed("unknown severity")
    if not key or len(key) > 150:
        raise ValidationFailed("a notification key is 1 to 150 characters")
    now = utc_now()
    zone = timezone or get_settings().timezone
    rank = severity_rank(severity)
    critical = severity == "critical"
    accounts = sorted({int(a) for a in account_ids})
    prefs = repository.preferences(db, accounts)
    common: dict[str, Any] = {
        "category": category[:32],
        "severity": severity,
        "subject": subject[:300],
        "body": body,
        "link": link[:500],
        "data": dict(data or {}),
        "place_id": place_id,
        "created_at": now,
    }
    planned: list[Notification] = []
    reach = account_service.contacts(db, list(accounts))
    for account_id in accounts:
        account = reach.get(account_id)
        if account is None or not account.active:
            continue
        planned.append(
            Notification(
                idempotency_key=_key(key, "inapp", f"a{account_id}"),
                channel="inapp",
                account_id=account_id,
                status="sent",
                sent_at=now,
                next_attempt_at=now,
                **common,
            )
        )
        pref = _prefs(prefs.get(account_id))
        if account.email and pref.email_enabled and rank >= severity_rank(pref.min_severity):
            held = None if critical else quiet_until(now, pref.quiet_start, pref.quiet_end, zone)
            planned.append(
                Notification(
                    idempotency_key=_key(key, "email", f"a{account_id}"),
                    channel="email",
                    account_id=account_id,
                    status="pending",
                    next_attempt_at=held or now,
                    **common,
                )
            )
    for endpoint in repository.endpoints_at(db, _ancestor_ids(place_path)):
        if endpoint.channel not in ENDPOINT_CHANNELS:
            continue
        if rank < severity_rank(endpoint.min_severity):
            continue
        planned.append(
            Notification(
                idempotency_key=_key(key, endpoint.channel, f"e{endpoint.id}"),
                channel=endpoint.channel,
                endpoint_id=endpoint.id,
                status="pending",
                next_attempt_at=now,
                **common,
            )
        )
    existing = repository.existing_keys(db, [n.idempotency_key for n in planned])
    fresh = [n for n in planned if n.idempotency_key not in existing]
    _apply_daily_caps(db, fresh, prefs, now, critical=critical)
    if not fresh:
        return []
    db.add_all(fresh)
    db.flush()
    pending = _after_commit_of(db)
    readers = sorted({n.account_id for n in fresh if n.channel == "inapp" and n.account_id})
    for account_id, unread in repository.unread_counts(db, readers).items():
        pending.inbox[account_id] = {
            "unread": unread,
            "subject": common["subject"],
            "severity": severity,
            "link": common["link"],
        }
    pending.channels.update(n.channel for n in fresh if n.status == "pending")
    return fresh


def _apply_daily_caps(
    db: Session,
    fresh: list[Notification],
    prefs: dict[int, NotificationPreference],
    now: dt.datetime,
    *,
    critical: bool,
) -> None:
    """Suppress non-critical messages outside the app beyond each person's daily cap."""
    personal = [n for n in fresh if n.channel != "inapp" and n.account_id is not None]
    if not personal:
        return
    sent = repository.external_since(db, sorted({n.account_id or 0 for n in personal}), now - DAY)
    for message in personal:
        account_id = message.account_id or 0
        cap = _prefs(prefs.get(account_id)).daily_cap
        count = sent.get(account_id, 0)
        if not critical and count >= cap:
            message.status = "suppressed"
            message.last_error = f"daily limit of {cap} messages outside the app reached"
            continue
        sent[account_id] = count + 1


# --- a person's inbox -------------------------------------------------------------------------


def _me(actor: Actor) -> int:
    if actor.account_id is None:
        raise NotAuthenticated("please log in")
    return actor.account_id


def inbox(
    db: Session, actor: Actor, *, params: PageParams, unread_only: bool = False
) -> tuple[list[NotificationRead], int]:
    """A page of the actor's own in-app messages, newest first."""
    rows, total = repository.inbox(
        db, _me(actor), offset=params.offset, limit=params.size, unread_only=unread_only
    )
    return [NotificationRead.model_validate(r) for r in rows], total


def unread_count(db: Session, actor: Actor) -> int:
    """How many of the actor's in-app messages are unread."""
    me = _me(actor)
    return repository.unread_counts(db, [me])[me]


def _queue_count(db: Session, account_id: int) -> int:
    unread = repository.unread_counts(db, [account_id])[account_id]
    _after_commit_of(db).inbox[account_id] = {"unread": unread}
    return unread


def mark_read(db: Session, actor: Actor, notification_id: int) -> NotificationRead:
    """Mark one of the actor's messages read (404 for anyone else's)."""
    me = _me(actor)
    row = repository.get(db, notification_id)
    if row is None or row.channel != "inapp" or not permissions.owns(actor, row.account_id):
        raise NotFound("no such notification")
    if row.read_at is None:
        row.read_at = utc_now()
        db.flush()
        _queue_count(db, me)
    return NotificationRead.model_validate(row)


def mark_all_read(db: Session, actor: Actor) -> tuple[int, int]:
    """Mark every message of the actor read; returns (how many were marked, unread left)."""
    me = _me(actor)
    marked = repository.mark_all_read(db, me, utc_now())
    db.expire_all()
    return marked, _queue_count(db, me)


# --- preferences ----------------------------------------------------------------------------


def get_preferences(db: Session, actor: Actor) -> PreferencesRead:
    me = _me(actor)
    pref = _prefs(repository.preference(db, me))
    account = account_service.get_account(db, me)
    return PreferencesRead(
        email=account.email,
        email_enabled=pref.email_enabled,
        quiet_start=pref.quiet_start,
        quiet_end=pref.quiet_end,
        min_severity=pref.min_severity,
        daily_cap=pref.daily_cap,
    )


def update_preferences(db: Session, actor: Actor, data: PreferencesUpdate) -> PreferencesRead:
    """Change how the actor is told; an e-mail address change needs the password again (A13)
    and is audited (without the value)."""
    me = _me(actor)
    if (
        data.email is not None
        and (data.email.strip() or None) != account_service.get_account(db, me).email
    ):
        password = data.current_password or ""
        account_service.reauthenticate(db, actor, password, purpose="email")
    row = repository.preference(db, me)
    if row is None:
        defaults = Prefs()
        row = NotificationPreference(
            account_id=me,
            email_enabled=defaults.email_enabled,
            quiet_start=defaults.quiet_start,
            quiet_end=defaults.quiet_end,
            min_severity=defaults.min_severity,
            daily_cap=defaults.daily_cap,
        )
        db.add(row)
    if data.email_enabled is not None:
        row.email_enabled = data.email_enabled
    if data.quiet_start is not None and data.quiet_end is not None:
        row.quiet_start, row.quiet_end = data.quiet_start, data.quiet_end
    if data.min_severity is not None:
        row.min_severity = data.min_severity
    if data.daily_cap is not None:
        row.daily_cap = data.daily_cap
    row.updated_at = utc_now()
    if data.email is not None:
        account_service.set_email(db, actor, data.email)
    db.flush()
    return get_preferences(db, actor)


# --- endpoints ------------------------------------------------------------------------------


def _mask_secret(secret: str | None) -> str:
    if not secret:
        return ""
    return "••••••" + (secret[-2:] if len(secret) >= 12 else "")


def mask_phone(number: str) -> str:
    """``138****5678`` for display: enough to recognise a number, not to use it."""
    if len(number) >= 11:
        return number[:3] + "*" * (len(number) - 7) + number[-4:]
    if len(number) > 4:
        return "*" * (len(number) - 2) + number[-2:]
    return "*" * len(number)


def mask_url(url: str) -> str:
    """Scheme and host only: robot addresses carry their access token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/…"


def _recipients(endpoint: NotificationEndpoint) -> list[str]:
    return [r for r in (endpoint.recipients or "").split(",") if r]


def _endpoint_read(endpoint: NotificationEndpoint) -> EndpointRead:
    return EndpointRead(
        id=endpoint.id,
        place_id=endpoint.place_id,
        channel=endpoint.channel,
        name=endpoint.name,
        url_hint=mask_url(endpoint.url),
        has_secret=bool(endpoint.secret),
        secret_hint=_mask_secret(endpoint.secret),
        recipients_hint=[mask_phone(r) for r in _recipients(endpoint)],
        min_severity=endpoint.min_severity,
        enabled=endpoint.enabled,
        created_at=endpoint.created_at,
    )


def list_endpoints(db: Session, actor: Actor) -> list[EndpointRead]:
    """Endpoints of the places the actor may see, with secrets and numbers masked."""
    if not permissions.may_view_any(actor):
        raise PermissionDenied("your role cannot see notification endpoints")
    return [
        _endpoint_read(e) for e in repository.endpoints_in(db, permissions.viewable_places(actor))
    ]


def _check_endpoint(channel: str, secret: str | None, recipients: list[str]) -> None:
    if channel == "webhook" and (not secret or len(secret) < 16):
        raise ValidationFailed("a webhook needs a signing secret of at least 16 characters")
    if channel == "sms" and (not recipients or not secret):
        raise ValidationFailed("an SMS gateway needs its access token and at least one number")


def create_endpoint(db: Session, actor: Actor, data: EndpointCreate) -> EndpointRead:
    """Add an endpoint that gets the alarms of a place's subtree."""
    if not permissions.may_manage_any(actor):
        raise PermissionDenied("your role cannot manage notification endpoints")
    place = place_service.get(db, data.place_id)
    if not permissions.can_manage(actor, place.path):
        raise PermissionDenied("you cannot manage notification endpoints of this place")
    endpoint = NotificationEndpoint(
        place_id=place.id,
        channel=data.channel,
        name=data.name,
        url=data.url,
        secret=data.secret,
        recipients=",".join(data.recipients or []) or None,
        min_severity=data.min_severity,
        enabled=data.enabled,
        created_at=utc_now(),
    )
    db.add(endpoint)
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="notification.endpoint_created",
        subject_type="notification_endpoint",
        subject_id=endpoint.id,
        place_id=place.id,
        detail={"channel": endpoint.channel},
    )
    return _endpoint_read(endpoint)


def _manageable_endpoint(db: Session, actor: Actor, endpoint_id: int) -> NotificationEndpoint:
    endpoint = repository.get_endpoint(db, endpoint_id)
    if endpoint is None:
        raise NotFound("no such notification endpoint")
    path = place_service.get(db, endpoint.place_id).path
    if not permissions.can_view(actor, path):
        raise NotFound("no such notification endpoint")
    if not permissions.can_manage(actor, path):
        raise PermissionDenied("you cannot manage notification endpoints of this place")
    return endpoint


def update_endpoint(
    db: Session, actor: Actor, endpoint_id: int, data: EndpointUpdate
) -> EndpointRead:
    """Change an endpoint; a secret left out stays, an empty one is removed."""
    endpoint = _manageable_endpoint(db, actor, endpoint_id)
    changed = sorted(data.model_fields_set)
    secret = endpoint.secret
    if data.secret is not None:
        secret = data.secret.strip() or None
    recipients = _recipients(endpoint) if data.recipients is None else data.recipients
    _check_endpoint(endpoint.channel, secret, recipients)
    if data.name is not None:
        endpoint.name = data.name
    if data.url is not None:
        endpoint.url = data.url
    endpoint.secret = secret
    endpoint.recipients = ",".join(recipients) or None
    if data.min_severity is not None:
        endpoint.min_severity = data.min_severity
    if data.enabled is not None:
        endpoint.enabled = data.enabled
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="notification.endpoint_changed",
        subject_type="notification_endpoint",
        subject_id=endpoint.id,
        place_id=endpoint.place_id,
        fields=changed,
    )
    return _endpoint_read(endpoint)


def delete_endpoint(db: Session, actor: Actor, endpoint_id: int) -> None:
    """Remove an endpoint and the messages queued for it."""
    endpoint = _manageable_endpoint(db, actor, endpoint_id)
    audit_service.record(
        db,
        actor=actor,
        action="notification.endpoint_deleted",
        subject_type="notification_endpoint",
        subject_id=endpoint.id,
        place_id=endpoint.place_id,
        detail={"channel": endpoint.channel},
    )
    db.delete(endpoint)
    db.flush()


def may_view_outbox(actor: Actor) -> bool:
    """Whether the actor gets the notification console at all."""
    return permissions.may_view_any(actor)


def may_manage_endpoints(actor: Actor) -> bool:
    return permissions.may_manage_any(actor)


def manageable_places(db: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, label) of the places where the actor may add endpoints."""
    places = place_service.under(
        db,
        permissions.manageable_paths(actor),
        kinds=("district", "street_office", "community", "compound", "building"),
    )
    return [(p.id, place_service.label(db, p, from_kind="district")) for p in places]


# --- the outbox as staff see it --------------------------------------------------------------


def _outbox_rows(db: Session, rows: list[Notification]) -> list[OutboxRow]:
    names = repository.endpoint_names(db, [r.endpoint_id for r in rows if r.endpoint_id])
    return [
        OutboxRow(
            id=r.id,
            channel=r.channel,
            endpoint_id=r.endpoint_id,
            endpoint_name=names.get(r.endpoint_id or 0, ""),
            category=r.category,
            severity=r.severity,
            subject=r.subject,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error,
            created_at=r.created_at,
            sent_at=r.sent_at,
        )
        for r in rows
    ]


def outbox(
    db: Session,
    actor: Actor,
    *,
    params: PageParams,
    status: str | None = None,
    channel: str | None = None,
) -> OutboxPage:
    """Messages to the endpoints of the actor's places, and counts by channel and status.

    Messages to people are private: they appear only in the counts.
    """
    if not permissions.may_view_any(actor):
        raise PermissionDenied("your role cannot see the notification outbox")
    places = permissions.viewable_places(actor)
    rows, total = repository.outbox(
        db, places, status=status, channel=channel, offset=params.offset, limit=params.size
    )
    counts = [
        OutboxCount(channel=c, status=s, count=n)
        for c, s, n in repository.outbox_counts(db, places)
    ]
    return OutboxPage(
        items=_outbox_rows(db, rows),
        total=total,
        page=params.page,
        size=params.size,
        counts=counts,
    )


def retry(db: Session, actor: Actor, notification_id: int) -> OutboxRow:
    """Send a dead message to an endpoint again: pending now, attempts from zero; audited."""
    row = repository.get(db, notification_id)
    endpoint = repository.get_endpoint(db, row.endpoint_id) if row and row.endpoint_id else None
    if row is None or endpoint is None:
        raise NotFound("no such notification")
    path = place_service.get(db, endpoint.place_id).path
    if not permissions.can_view(actor, path):
        raise NotFound("no such notification")
    if not permissions.can_manage(actor, path):
        raise PermissionDenied("you cannot retry notifications of this place")
    if row.status != "dead":
        raise Conflict("only a message that failed for good can be sent again")
    previous = row.last_error
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = utc_now()
    row.last_error = ""
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="notification.retried",
        subject_type="notification",
        subject_id=row.id,
        place_id=endpoint.place_id,
        detail={"channel": row.channel, "endpoint_id": endpoint.id, "error": previous[:200]},
    )
    _after_commit_of(db).channels.add(row.channel)
    return _outbox_rows(db, [row])[0]


# --- delivery (trusted callers: the delivery workers) ---------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    """A due message as a delivery worker needs it, detached from any session."""

    id: int
    idempotency_key: str
    channel: str
    account_id: int | None
    endpoint_id: int | None
    category: str
    severity: str
    subject: str
    body: str
    link: str
    data: dict[str, Any]
    attempts: int
    created_at: dt.datetime
    seen: dt.datetime
    place_id: int | None = None

    @property
    def destination(self) -> str:
        """One key per recipient or endpoint: deliveries are limited per destination."""
        return f"e{self.endpoint_id}" if self.endpoint_id is not None else f"a{self.account_id}"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a message goes: an e-mail address or an endpoint's address and secrets."""

    channel: str
    address: str
    secret: str | None = None
    recipients: tuple[str, ...] = ()
    # The entrusted processor it goes through (recipient registry) and what it is given.
    processor_id: int | None = None
    fields: tuple[str, ...] = ()
    resident_id: int | None = None


def due(
    db: Session,
    channel: str,
    *,
    limit: int,
    busy: Iterable[str] = (),
    now: dt.datetime | None = None,
) -> list[Delivery]:
    """Pending messages of ``channel`` whose time has come, oldest first, skipping the
    destinations in ``busy``."""
    busy_set = set(busy)
    rows = repository.due(
        db,
        channel,
        now or utc_now(),
        limit=limit,
        busy_endpoints=[int(b[1:]) for b in busy_set if b.startswith("e")],
        busy_accounts=[int(b[1:]) for b in busy_set if b.startswith("a") and b[1:].isdigit()],
    )
    return [
        Delivery(
            id=r.id,
            idempotency_key=r.idempotency_key,
            channel=r.channel,
            account_id=r.account_id,
            endpoint_id=r.endpoint_id,
            category=r.category,
            severity=r.severity,
            subject=r.subject,
            body=r.body,
            link=r.link,
            data=dict(r.data or {}),
            attempts=r.attempts,
            created_at=r.created_at,
            seen=r.next_attempt_at,
            place_id=r.place_id,
        )
        for r in rows
    ]


def claim(db: Session, delivery: Delivery, until: dt.datetime) -> bool:
    """Take ``delivery`` for sending until ``until``; False when another process has it."""
    return repository.claim(db, delivery.id, delivery.seen, until)


def destination(db: Session, delivery: Delivery) -> Destination | str:
    """Where to send, or why it cannot be sent at all: nothing leaves through a channel
    whose entrusted processor is not in the recipient registry with a contract."""
    found = _destination(db, delivery)
    if isinstance(found, str):
        return found
    processor = sharing_service.processor_for(db, delivery.channel, delivery.place_id)
    if isinstance(processor, str):
        return processor
    return dataclasses.replace(found, processor_id=processor.recipient_id, fields=processor.fields)


def _destination(db: Session, delivery: Delivery) -> Destination | str:
    if delivery.endpoint_id is not None:
        endpoint = repository.get_endpoint(db, delivery.endpoint_id)
        if endpoint is None:
            return "the endpoint was removed"
        if not endpoint.enabled:
            return "the endpoint is disabled"
        return Destination(
            channel=endpoint.channel,
            address=endpoint.url,
            secret=endpoint.secret,
            recipients=tuple(_recipients(endpoint)),
        )
    if delivery.account_id is None:
        return "the message has no recipient"
    try:
        account = account_service.get_account(db, delivery.account_id)
    except NotFound:
        return "the account no longer exists"
    if delivery.channel == "email":
        if not account.email:
            return "the person has no e-mail address"
        if not account.is_active:
            return "the account is disabled"
        if not _prefs(repository.preference(db, account.id)).email_enabled:
            return "the person turned e-mail off"
        return Destination(channel="email", address=account.email, resident_id=account.resident_id)
    return f"channel {delivery.channel} is not sent to people"


def record_sent(
    db: Session, delivery: Delivery, until: dt.datetime, target: Destination | None = None
) -> bool:
    """The message was delivered: and the disclosure to its processor is logged."""
    now = utc_now()
    done = repository.finish(
        db, delivery.id, until, status="sent", sent_at=now, next_attempt_at=now, last_error=""
    )
    if done and target is not None and target.processor_id is not None:
        sharing_service.record_message(
            db,
            processor_id=target.processor_id,
            channel=delivery.channel,
            place_id=delivery.place_id,
            notification_id=delivery.id,
            fields=target.fields,
            to_person=delivery.account_id is not None,
            resident_id=target.resident_id,
            subject=delivery.subject,
            now=now,
        )
    return done


def record_failure(
    db: Session,
    delivery: Delivery,
    until: dt.datetime,
    *,
    reason: str,
    retry_at: dt.datetime | None,
    attempted: bool = True,
) -> bool:
    """A failed or deferred delivery: retry at ``retry_at``, or dead (``retry_at`` None)."""
    attempts = delivery.attempts + (1 if attempted else 0)
    if retry_at is None:
        return repository.finish(
            db,
            delivery.id,
            until,
            status="dead",
            attempts=attempts,
            next_attempt_at=utc_now(),
            last_error=reason[:500],
        )
    return repository.finish(
        db,
        delivery.id,
        until,
        attempts=attempts,
        next_attempt_at=retry_at,
        last_error=reason[:500],
    )


def endpoint_addresses(db: Session) -> list[tuple[str, str]]:
    """(what, URL) of every enabled endpoint: for the deployment's in-country check."""
    return [
        (f"notification endpoint {e.name!r} ({e.channel})", e.url)
        for e in repository.enabled_endpoints(db)
    ]
