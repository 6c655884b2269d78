"""JSON API of alarms: the list, counts per place, details, acknowledging, comments, live events."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from linli.alarm import service
from linli.alarm.schemas import (
    AlarmDetail,
    AlarmEventRead,
    AlarmFilter,
    AlarmRead,
    CommentCreate,
    PlaceCount,
)
from linli.core.errors import PermissionDenied
from linli.core.i18n import _
from linli.core.pagination import Page, PageParams
from linli.web import sse
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1", tags=["alarms"], dependencies=[CsrfChecked])
Paging = Annotated[PageParams, Depends()]
Filters = Annotated[AlarmFilter, Depends()]

# Routes with fixed names come before /alarms/{alarm_id}, which would otherwise take them.


@router.get("/alarms", response_model=Page[AlarmRead])
def list_alarms(db: Db, actor: LoggedIn, paging: Paging, filters: Filters) -> Page[AlarmRead]:
    """Alarms the caller may see; open ones (active or unacknowledged) by default, newest first."""
    return service.list_alarms(db, actor, filters, paging)


@router.get("/alarms/counts", response_model=list[PlaceCount])
def alarm_counts(db: Db, actor: LoggedIn) -> list[PlaceCount]:
    """Open alarms by severity at each place the caller may see, counting everything under it."""
    counts = service.counts_by_place(db, actor)
    return [counts[place_id] for place_id in sorted(counts)]


@router.get(
    "/alarms/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)
async def alarm_stream(db: Db, actor: LoggedIn) -> StreamingResponse:
    """Server-sent events (``event: alarm``, JSON data) of changes to alarms the caller may see.

    The stream starts with a ``retry:`` line once it is listening, sends a comment every 15
    seconds while idle, and a ``gap`` event when the client fell behind and missed some.
    """
    if not service.may_view_any(actor):
        raise PermissionDenied(_("You may not see alarms."))
    paths = service.viewable_paths(actor)
    # The actor is known: no database session stays open for the life of the stream.
    db.close()
    return await sse.stream(service.TOPIC, "alarm", partial(service.event_visible, paths))


@router.get("/alarms/{alarm_id}", response_model=AlarmDetail)
def get_alarm(db: Db, actor: LoggedIn, alarm_id: PathId) -> AlarmDetail:
    """One alarm with its timeline."""
    return service.get(db, actor, alarm_id)


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmRead)
def acknowledge(db: Db, actor: LoggedIn, alarm_id: PathId) -> AlarmRead:
    """Take the alarm: it stops escalating. 409 when someone already has."""
    alarm = AlarmRead.model_validate(service.acknowledge(db, actor, alarm_id))
    db.commit()
    return alarm


@router.post("/alarms/{alarm_id}/comments", response_model=AlarmEventRead, status_code=201)
def add_comment(db: Db, actor: LoggedIn, alarm_id: PathId, body: CommentCreate) -> AlarmEventRead:
    """Add a comment to the alarm's timeline."""
    entry = AlarmEventRead.model_validate(service.comment(db, actor, alarm_id, body.text))
    db.commit()
    return entry
