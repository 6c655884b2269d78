"""Daily duty shifts of responders: who is on duty at a local time, and keeping the register in
step with the clock.

A shift is two ``"HH:MM"`` local times; an end before the start runs past midnight
(``"20:00"``-``"08:00"`` is a night shift) and an end equal to the start is a 24-hour shift.
:func:`on_duty` is pure. :func:`apply_shifts` runs every incident round (``tasks.run_once``):
at a shift's start a responder comes on shift (``off_duty`` → ``available``); at its end they go
off shift (``available`` → ``off_duty``), except that someone ``dispatched`` or ``on_scene``
finishes their incident first and goes off duty when it is closed. A boundary is applied once:
a responder who went off duty by hand in the middle of their shift stays off until the next
boundary (docs/responders.md).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.core.errors import PermissionDenied, ValidationFailed
from linli.core.i18n import _
from linli.core.time import utc_now
from linli.incident import permissions, repository, service
from linli.incident.models import Responder

LOCAL_TZ = "Asia/Shanghai"
"""The communities' time zone: shift times are wall-clock times there."""
BUSY = ("dispatched", "on_scene")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: str) -> dt.time:
    """``"08:30"`` → 08:30; ValueError unless it is a 24-hour ``HH:MM`` time."""
    match = _HHMM.match(value)
    if match is None:
        raise ValueError(f"not an HH:MM time: {value!r}")
    return dt.time(int(match.group(1)), int(match.group(2)))


def _time(value: str | dt.time) -> dt.time:
    return value if isinstance(value, dt.time) else parse_hhmm(value)


def on_duty(shift_start: str | dt.time, shift_end: str | dt.time, local_time: dt.time) -> bool:
    """Whether ``local_time`` falls in the daily shift [start, end).

    An end before the start wraps past midnight; an end equal to the start is on all day.
    """
    start, end = _time(shift_start), _time(shift_end)
    t = local_time.replace(second=0, microsecond=0, tzinfo=None)
    if start == end:
        return True
    if start < end:
        return start <= t < end
    return t >= start or t < end


def last_boundary(
    shift_start: str | dt.time, shift_end: str | dt.time, now: dt.datetime, tz: str = LOCAL_TZ
) -> dt.datetime:
    """The latest shift start or end at or before ``now`` (UTC-aware), in the local zone."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    times = (_time(shift_start), _time(shift_end))
    candidates = [
        dt.datetime.combine(local.date() - dt.timedelta(days=back), t, tzinfo=zone)
        for back in (0, 1)
        for t in times
    ]
    return max(c for c in candidates if c <= local).astimezone(dt.UTC)


def _apply(responder: Responder, now: dt.datetime, *, fresh: bool) -> bool:
    """Bring one responder in step with their shift; whether anything changed.

    ``fresh``: the latest shift boundary came after the responder's last change, so it is
    applied; otherwise only what must hold whatever was done by hand is kept (nobody stays
    ``available`` off shift, a busy responder goes off shift once the shift has ended).
    """
    if responder.shift_start is None or responder.shift_end is None:
        return False
    local_time = now.astimezone(ZoneInfo(LOCAL_TZ)).time()
    duty = on_duty(responder.shift_start, responder.shift_end, local_time)
    before = (responder.on_shift, responder.status)
    if duty:
        if fresh and not responder.on_shift:
            responder.on_shift = True
            if responder.status == "off_duty":
                responder.status = "available"
    else:
        if responder.on_shift and (fresh or responder.status in BUSY):
            responder.on_shift = False
        if not responder.on_shift and responder.status == "available":
            responder.status = "off_duty"
    changed = before != (responder.on_shift, responder.status)
    if changed:
        responder.updated_at = now
    return changed


def apply_shifts(db: Session, now: dt.datetime | None = None) -> int:
    """Put responders with a shift on or off shift by the clock; how many changed.

    Run by every incident round; it only flushes (the round commits).
    """
    now = now or utc_now()
    changed = 0
    for responder in repository.responders_with_shift(db):
        if responder.shift_start is None or responder.shift_end is None:
            continue
        boundary = last_boundary(responder.shift_start, responder.shift_end, now)
        fresh = responder.updated_at is None or responder.updated_at < boundary
        if _apply(responder, now, fresh=fresh):
            changed += 1
    if changed:
        db.flush()
    return changed


def set_shift(
    db: Session,
    actor: Actor,
    responder_id: int,
    shift_start: str | None,
    shift_end: str | None,
    *,
    now: dt.datetime | None = None,
) -> Responder:
    """Give a responder a daily shift (both times) or none (both None), applied at once.

    Staff of the responder's place, or the responder themselves, may do it.
    """
    now = now or utc_now()
    responder = service.get_responder(db, actor, responder_id)
    if responder.account_id != actor.account_id and not permissions.can_manage(
        actor, responder.place_path
    ):
        raise PermissionDenied(_("You may not change this responder."))
    if (shift_start is None) != (shift_end is None):
        raise ValidationFailed(_("Give both the start and the end of the shift, or neither."))
    for value in (shift_start, shift_end):
        if value is not None and _HHMM.match(value) is None:
            raise ValidationFailed(_("Enter shift times as hours and minutes, such as 08:00."))
    responder.shift_start = shift_start
    responder.shift_end = shift_end
    if shift_start is not None:
        _apply(responder, now, fresh=True)
    responder.updated_at = now
    db.flush()
    return responder
