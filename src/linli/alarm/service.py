"""Alarm use cases: apply rule signals, acknowledge, comment, escalate, list for the board.

Alarm changes are published to the live board (``hub`` topic ``alarm``) only after the
transaction that made them commits; notifications are written in that same transaction (the
outbox), so neither a board event nor a message ever describes a change that was rolled back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.alarm import permissions, repository
from linli.alarm.models import SEVERITY_RANK, Alarm, AlarmEvent
from linli.alarm.schemas import (
    AlarmDetail,
    AlarmEventRead,
    AlarmFilter,
    AlarmRead,
    PlaceCount,
)
from linli.audit import service as audit_service
from linli.core.actor import Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied
from linli.core.events import AfterCommit
from linli.core.i18n import _
from linli.core.pagination import Page, PageParams
from linli.core.time import utc_now
from linli.notification import service as notification_service
from linli.place import service as place_service

TOPIC = "alarm"
# Board events, published once the transaction that made them commits.
_EVENTS = AfterCommit(TOPIC)


# --- publishing after commit ----------------------------------------------------------------


def _queue_publish(db: Session, alarm: Alarm, change: str) -> None:
    _EVENTS.queue(db, event_data(alarm, change))


def event_data(alarm: Alarm, change: str) -> dict[str, Any]:
    """What the board gets about an alarm change."""
    return {
        "change": change,
        "id": alarm.id,
        "severity": alarm.severity,
        "title": alarm.title,
        "place_id": alarm.place_id,
        "place_path": alarm.place_path,
        "device_id": alarm.device_id,
        "active": alarm.cleared_at is None,
        "acknowledged": alarm.acknowledged_at is not None,
        "started_ms": alarm.started_ms,
        "ended_ms": alarm.ended_ms,
        "value": alarm.value,
        "count": alarm.count,
        "escalation_level": alarm.escalation_level,
    }


# --- signals from the rule engine -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignalItem:
    """A rule signal with where it comes from (built by the live engine)."""

    rule_id: int
    rule_name: str
    severity: str
    source: str
    place_id: int
    place_path: str
    device_id: int | None
    datastream_id: int | None
    title: str
    kind: str  # raise | update | clear
    started_ms: int
    ts_ms: int
    value: float | None
    readings: int = 1
    peak: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def apply(db: Session, items: list[SignalItem]) -> list[Alarm]:
    """Raise, update and clear alarms from rule signals (one open alarm per rule and source)."""
    touched: list[Alarm] = []
    # The open alarm of each (rule, source) as this batch goes: a clear followed by a raise in
    # the same batch must open a new alarm, whatever the database has seen so far.
    current: dict[tuple[int, str], Alarm | None] = {}
    for item in items:
        key = (item.rule_id, item.source)
        if key not in current:
            current[key] = repository.open_alarm(db, item.rule_id, item.source)
        alarm = current[key]
        if item.kind == "raise":
            if alarm is not None:
                _update(alarm, item)
                _queue_publish(db, alarm, "updated")
            else:
                alarm = current[key] = _raise(db, item)
        elif alarm is None:
            continue  # an update or clear for an alarm closed meanwhile (rule changed)
        elif item.kind == "update":
            _update(alarm, item)
            _queue_publish(db, alarm, "updated")
        elif item.kind == "clear":
            alarm.cleared_at = utc_now()
            alarm.ended_ms = item.ts_ms
            if item.value is not None:
                alarm.value = item.value
            db.add(AlarmEvent(alarm_id=alarm.id, kind="cleared", value=item.value))
            # Stored before a new alarm of the same rule and source may be inserted (the
            # unique index on open alarms).
            db.flush()
            current[key] = None
            _queue_publish(db, alarm, "cleared")
        touched.append(alarm)
    return touched


def _update(alarm: Alarm, item: SignalItem) -> None:
    alarm.count += max(item.readings, 0)
    alarm.last_ms = max(alarm.last_ms, item.ts_ms)
    if item.value is not None:
        alarm.value = item.value
    if item.peak is not None:
        alarm.peak = item.peak
    if item.details:
        alarm.details = {**alarm.details, **item.details}


def _raise(db: Session, item: SignalItem) -> Alarm:
    alarm = Alarm(
        rule_id=item.rule_id,
        source=item.source,
        severity=item.severity,
        title=item.title[:300],
        place_id=item.place_id,
        place_path=item.place_path,
        device_id=item.device_id,
        datastream_id=item.datastream_id,
        started_ms=item.started_ms,
        last_ms=item.ts_ms,
        raised_at=utc_now(),
        value=item.value,
        peak=item.peak if item.peak is not None else item.value,
        count=max(item.readings, 1),
        details=dict(item.details),
    )
    db.add(alarm)
    db.flush()
    db.add(AlarmEvent(alarm_id=alarm.id, kind="raised", value=item.value))
    _notify(db, alarm, level=0, what="raised")
    _queue_publish(db, alarm, "raised")
    return alarm


def _notify(db: Session, alarm: Alarm, *, level: int, what: str) -> None:
    roles = permissions.ESCALATION_ROLES[min(level, len(permissions.ESCALATION_ROLES) - 1)]
    accounts = account_service.holders_over(db, alarm.place_path, roles)
    subject = alarm.title if what == "raised" else f"[{what}] {alarm.title}"
    value = "" if alarm.value is None else f" ({alarm.value:g})"
    notification_service.notify(
        db,
        key=f"alarm:{alarm.id}:{what}:{level}",
        place_id=alarm.place_id,
        place_path=alarm.place_path,
        account_ids=accounts,
        category="alarm",
        severity=alarm.severity,
        subject=subject,
        body=f"{alarm.title}{value}",
        link=f"/console/alarms/{alarm.id}",
        data={"alarm_id": alarm.id, "severity": alarm.severity, "level": level},
    )


def clear_for_rule(db: Session, rule_id: int, *, reason: str, actor: Actor) -> int:
    """Clear every open alarm of a rule (changed, switched off or deleted)."""
    alarms = repository.open_of_rule(db, rule_id)
    for alarm in alarms:
        alarm.cleared_at = utc_now()
        alarm.ended_ms = alarm.last_ms
        db.add(
            AlarmEvent(alarm_id=alarm.id, kind="cleared", text=reason, account_id=actor.account_id)
        )
        _queue_publish(db, alarm, "cleared")
    return len(alarms)


# --- people handling alarms -----------------------------------------------------------------


def _visible(db: Session, actor: Actor, alarm_id: int) -> Alarm:
    alarm = repository.get(db, alarm_id)
    if alarm is None or not permissions.can_view(actor, alarm.place_path):
        raise NotFound(_("No such alarm."))
    return alarm


def _actionable(db: Session, actor: Actor, alarm_id: int) -> Alarm:
    alarm = _visible(db, actor, alarm_id)
    if not permissions.can_act(actor, alarm.place_path):
        raise PermissionDenied(_("You may not handle this alarm."))
    return alarm


def acknowledge(db: Session, actor: Actor, alarm_id: int) -> Alarm:
    """Take an alarm: it stops escalating; acknowledging twice is refused."""
    alarm = _actionable(db, actor, alarm_id)
    if alarm.acknowledged_at is not None:
        raise Conflict(_("This alarm has already been acknowledged."))
    alarm.acknowledged_at = utc_now()
    alarm.acknowledged_by_account_id = actor.account_id
    db.add(AlarmEvent(alarm_id=alarm.id, kind="acknowledged", account_id=actor.account_id))
    audit_service.record(
        db,
        actor=actor,
        action="alarm.acknowledge",
        subject_type="alarm",
        subject_id=alarm.id,
        place_id=alarm.place_id,
    )
    _queue_publish(db, alarm, "acknowledged")
    return alarm


def comment(db: Session, actor: Actor, alarm_id: int, text: str) -> AlarmEvent:
    """Add a comment to an alarm's timeline."""
    alarm = _actionable(db, actor, alarm_id)
    entry = AlarmEvent(
        alarm_id=alarm.id, kind="comment", account_id=actor.account_id, text=text, by_person=True
    )
    db.add(entry)
    db.flush()
    _queue_publish(db, alarm, "comment")
    return entry


def _where(actor: Actor, flt: AlarmFilter, place_path: str | None) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = [permissions.visible(actor)]
    if flt.status == "open":
        parts.append(repository.is_open())
    elif flt.status == "active":
        parts.append(Alarm.cleared_at.is_(None))
    elif flt.status == "cleared":
        parts.append(Alarm.cleared_at.is_not(None))
    elif flt.status == "unacknowledged":
        parts.append(Alarm.acknowledged_at.is_(None))
    if flt.severity:
        parts.append(Alarm.severity == flt.severity)
    if place_path:
        parts.append(Alarm.place_path.startswith(place_path, autoescape=True))
    return and_(*parts)


def list_alarms(db: Session, actor: Actor, flt: AlarmFilter, params: PageParams) -> Page[AlarmRead]:
    """Alarms the actor may see, open ones first, newest first."""
    if not permissions.may_view_any(actor):
        raise PermissionDenied(_("You may not see alarms."))
    place_path = None
    if flt.place_id is not None:
        place_path = place_service.get(db, flt.place_id).path
    rows, total = repository.listed(
        db, _where(actor, flt, place_path), offset=params.offset, limit=params.size
    )
    return Page(
        items=[AlarmRead.model_validate(a) for a in rows],
        total=total,
        page=params.page,
        size=params.size,
    )


def read(db: Session, actor: Actor, alarm_id: int) -> AlarmRead:
    """One alarm the actor may see, without its timeline."""
    return AlarmRead.model_validate(_visible(db, actor, alarm_id))


def get(db: Session, actor: Actor, alarm_id: int) -> AlarmDetail:
    """An alarm with its timeline."""
    alarm = _visible(db, actor, alarm_id)
    base = AlarmRead.model_validate(alarm).model_dump()
    events = [AlarmEventRead.model_validate(e) for e in repository.timeline(db, alarm.id)]
    return AlarmDetail(**base, timeline=events)


def may_act(actor: Actor, place_path: str) -> bool:
    """Whether the actor may acknowledge and comment on alarms at this place."""
    return permissions.can_act(actor, place_path)


def may_view_any(actor: Actor) -> bool:
    """Whether the actor gets the alarm pages."""
    return permissions.may_view_any(actor)


def viewable_paths(actor: Actor) -> list[str]:
    """Place paths under which the actor sees alarms."""
    return permissions.viewable_paths(actor)


def counts_by_place(db: Session, actor: Actor) -> dict[int, PlaceCount]:
    """Open alarms counted at each place and every ancestor (propagation up the tree).

    Only places the actor may see are counted: an ancestor above the actor's grants is left out.
    """
    if not permissions.may_view_any(actor):
        raise PermissionDenied(_("You may not see alarms."))
    roots = permissions.viewable_paths(actor)
    counts: dict[int, PlaceCount] = {}
    for path, severity, acknowledged in repository.open_paths(db, permissions.visible(actor)):
        prefix = "/"
        for part in path.strip("/").split("/"):
            if not part:
                continue
            prefix += f"{part}/"
            if not any(prefix.startswith(root) for root in roots):
                continue
            pid = int(part)
            entry = counts.get(pid)
            if entry is None:
                entry = counts[pid] = PlaceCount(place_id=pid)
            setattr(entry, severity, getattr(entry, severity, 0) + 1)
            if not acknowledged:
                entry.unacknowledged += 1
    return counts


def worst_by_device(db: Session, actor: Actor) -> dict[int, str]:
    """The most severe open alarm of each device that has one, among those the actor sees."""
    if not permissions.may_view_any(actor):
        raise PermissionDenied(_("You may not see alarms."))
    found: dict[int, str] = {}
    for device_id, severity in repository.open_devices(db, permissions.visible(actor)):
        known = found.get(device_id)
        if known is None or SEVERITY_RANK.get(severity, 9) < SEVERITY_RANK.get(known, 9):
            found[device_id] = severity
    return found


def event_visible(paths: list[str], data: dict[str, Any]) -> bool:
    """Whether a published alarm event falls under one of the actor's viewable place paths."""
    place_path = data.get("place_path")
    return isinstance(place_path, str) and any(place_path.startswith(p) for p in paths)


def worst(counts: PlaceCount) -> str | None:
    """The most severe level with an open alarm, or None."""
    for severity in sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__):
        if getattr(counts, severity, 0):
            return severity
    return None


# --- escalation -----------------------------------------------------------------------------


def escalate_due(db: Session, *, now: dt.datetime | None = None, minutes: int = 15) -> int:
    """Send critical alarms unacknowledged for too long to the next role; how many went up.

    ``minutes`` is the delay when the alarm's rule is gone; a rule's own delay applies
    otherwise (looked up by the caller through ``delays``).
    """
    now = now or utc_now()
    top = len(permissions.ESCALATION_ROLES) - 1
    escalated = 0
    for alarm in repository.due_for_escalation(db, now):
        if alarm.escalation_level >= top:
            continue
        delay = dt.timedelta(minutes=int(alarm.details.get("escalate_after_min", minutes)))
        since = alarm.escalated_at or alarm.raised_at
        if now - since < delay:
            continue
        alarm.escalation_level += 1
        alarm.escalated_at = now
        db.add(
            AlarmEvent(
                alarm_id=alarm.id,
                kind="escalated",
                text=",".join(sorted(permissions.ESCALATION_ROLES[alarm.escalation_level])),
            )
        )
        _notify(db, alarm, level=alarm.escalation_level, what="escalated")
        _queue_publish(db, alarm, "escalated")
        escalated += 1
    return escalated


def critical_raised_since(db: Session, since: dt.datetime) -> list[Alarm]:
    """Critical alarms raised at or after ``since``, oldest first (for incident creation)."""
    query = select(Alarm).where(Alarm.severity == "critical", Alarm.raised_at >= since)
    return list(db.scalars(query.order_by(Alarm.raised_at, Alarm.id)))
