"""Console pages of alarms: the live board, one alarm with its timeline, and the site plan."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.alarm import service
from linli.alarm.schemas import AlarmFilter, AlarmRead, CommentCreate, PlaceCount
from linli.core.actor import Actor
from linli.core.errors import NotFound, PermissionDenied
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.core.time import UTC, to_local
from linli.core.validation import MAX_ID
from linli.device import service as device_service
from linli.place import service as place_service
from linli.web import shell, sse
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId
from linli.web.pages import safe_next
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PAGE_SIZE = 25
BOARD = "/console/alarms"
PLACE_KINDS = ("community", "compound", "building", "unit")
SEVERITY_LABELS = {
    "critical": N_("Critical"),
    "major": N_("Major"),
    "minor": N_("Minor"),
    "warning": N_("Warning"),
}
STATUS_LABELS = {
    "open": N_("Open (active or not yet acknowledged)"),
    "active": N_("Still active"),
    "unacknowledged": N_("Not yet acknowledged"),
    "cleared": N_("Cleared"),
    "all": N_("All alarms"),
}
EVENT_LABELS = {
    "raised": N_("Raised"),
    "updated": N_("Updated"),
    "cleared": N_("Cleared"),
    "acknowledged": N_("Acknowledged"),
    "comment": N_("Comment"),
    "escalated": N_("Escalated"),
    "notified": N_("Notified"),
}
PLAN_W, PLAN_H, PLAN_PAD = 800, 560, 50


def _require_view(actor: Actor) -> None:
    if not actor.is_anonymous and not service.may_view_any(actor):
        raise PermissionDenied("You may not see alarms.")


def _local_ms(ms: int | None) -> str:
    if ms is None:
        return ""
    return to_local(dt.datetime.fromtimestamp(ms / 1000, UTC)).strftime("%Y-%m-%d %H:%M:%S")


def _value(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


@dataclass(frozen=True)
class BoardRow:
    """An alarm as the board shows it."""

    id: int
    severity: str
    title: str
    place: str
    device_id: int | None
    device: str
    started: str
    value: str
    count: int
    active: bool
    acknowledged: bool
    acknowledged_at: str
    escalation_level: int
    can_act: bool


class _Labels:
    """Place labels and device names, each looked up once per page."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.places: dict[int, str] = {}
        self.devices: dict[int, str] = {}

    def place(self, place_id: int) -> str:
        if place_id not in self.places:
            try:
                found = place_service.get(self.db, place_id)
                self.places[place_id] = place_service.label(self.db, found, from_kind="community")
            except NotFound:
                self.places[place_id] = f"#{place_id}"
        return self.places[place_id]

    def device(self, device_id: int | None) -> str:
        if device_id is None:
            return ""
        if device_id not in self.devices:
            try:
                found = device_service.get_record(self.db, device_id)
                self.devices[device_id] = f"{found.name} ({found.uid})"
            except NotFound:
                self.devices[device_id] = f"#{device_id}"
        return self.devices[device_id]


def _row(actor: Actor, labels: _Labels, alarm: AlarmRead) -> BoardRow:
    return BoardRow(
        id=alarm.id,
        severity=alarm.severity,
        title=alarm.title,
        place=labels.place(alarm.place_id),
        device_id=alarm.device_id,
        device=labels.device(alarm.device_id),
        started=_local_ms(alarm.started_ms),
        value=_value(alarm.value),
        count=alarm.count,
        active=alarm.active,
        acknowledged=alarm.acknowledged,
        acknowledged_at=to_local(alarm.acknowledged_at).strftime("%Y-%m-%d %H:%M")
        if alarm.acknowledged_at
        else "",
        escalation_level=alarm.escalation_level,
        can_act=service.may_act(actor, alarm.place_path),
    )


def _place_options(db: Session, actor: Actor) -> list[tuple[int, str]]:
    places = place_service.under(db, service.viewable_paths(actor), kinds=PLACE_KINDS)
    return [(p.id, place_service.label(db, p, from_kind="community")) for p in places]


@dataclass
class _Filters:
    """The board's filters as chosen in the form, checked."""

    status: str = "open"
    severity: str = ""
    place_id: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    parsed: AlarmFilter = field(default_factory=AlarmFilter)
    place_path: str = ""


def _filters(
    db: Session, actor: Actor, status: str, severity: str, place_id: str, *, check_place: bool
) -> _Filters:
    found = _Filters(status=status or "open", severity=severity, place_id=place_id)
    if found.status not in STATUS_LABELS:
        found.errors["status"] = _("Choose one of the statuses in the list.")
    if severity and severity not in SEVERITY_LABELS:
        found.errors["severity"] = _("Choose one of the severities in the list.")
    place: int | None = None
    if place_id:
        if place_id.isdigit() and 1 <= int(place_id) <= MAX_ID:
            place = int(place_id)
        else:
            found.errors["place_id"] = _("Choose one of the places in the list.")
    if place is not None and check_place:
        try:
            found.place_path = place_service.get(db, place).path
        except NotFound:
            found.errors["place_id"] = _("Choose one of the places in the list.")
        else:
            if not any(found.place_path.startswith(p) for p in service.viewable_paths(actor)):
                found.errors["place_id"] = _("Choose one of the places in the list.")
    if not found.errors:
        found.parsed = AlarmFilter.model_validate(
            {"status": found.status, "severity": severity or None, "place_id": place}
        )
    return found


def _matches(alarm: AlarmRead, flt: _Filters) -> bool:
    """Whether an alarm belongs on a board with these filters (for live updates)."""
    status = flt.parsed.status
    if status == "open" and not (alarm.active or not alarm.acknowledged):
        return False
    if status == "active" and not alarm.active:
        return False
    if status == "cleared" and alarm.active:
        return False
    if status == "unacknowledged" and alarm.acknowledged:
        return False
    if flt.parsed.severity and alarm.severity != flt.parsed.severity:
        return False
    return not (flt.place_path and not alarm.place_path.startswith(flt.place_path))


def _query(flt: _Filters) -> str:
    parts = []
    if flt.status != "open":
        parts.append(f"status={flt.status}")
    if flt.severity:
        parts.append(f"severity={flt.severity}")
    if flt.place_id:
        parts.append(f"place_id={flt.place_id}")
    return "?" + "&".join(parts) if parts else ""


def _announce_texts() -> dict[str, str]:
    """What the live region says about a new alarm, for the script to fill in."""
    return {
        "new": _("New alarm, %(severity)s: %(title)s", severity="{severity}", title="{title}"),
        "critical": _(SEVERITY_LABELS["critical"]),
        "major": _(SEVERITY_LABELS["major"]),
        "on": _("Live updates are on: new alarms appear here without reloading."),
        "off": _("Live updates are interrupted; trying again. Reload the page to be sure."),
        "gap": _("Some changes may be missing. Reload the page to see every alarm."),
    }


def _here(request: Request) -> str:
    """This page's address without the one-off ``done`` message, to come back to."""
    url = request.url.remove_query_params("done")
    return url.path + (f"?{url.query}" if url.query else "")


Status = Annotated[str, Query(max_length=16)]
Severity = Annotated[str, Query(max_length=16)]
PlaceParam = Annotated[str, Query(max_length=12)]


@router.get("/console/alarms")
def board(
    request: Request,
    db: Db,
    actor: LoggedIn,
    status: Status = "open",
    severity: Severity = "",
    place_id: PlaceParam = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """The live alarm board: open alarms, newest first, updated as alarms change."""
    _require_view(actor)
    flt = _filters(db, actor, status, severity, place_id, check_place=True)
    params = PageParams(page=page, size=PAGE_SIZE)
    rows: list[BoardRow] = []
    total = 0
    if not flt.errors:
        found = service.list_alarms(db, actor, flt.parsed, params)
        labels = _Labels(db)
        rows = [_row(actor, labels, a) for a in found.items]
        total = found.total
    return view(
        request,
        "alarm/board.html",
        {
            "rows": rows,
            "total": total,
            "pager": shell.pager(request, params, total),
            "page": page,
            "flt": flt,
            "query": _query(flt),
            "errors": flt.errors,
            "places": _place_options(db, actor),
            "severities": SEVERITY_LABELS,
            "status_options": [(k, _(v)) for k, v in STATUS_LABELS.items()],
            "severity_options": [(k, _(v)) for k, v in SEVERITY_LABELS.items()],
            "here": _here(request),
            "done": done,
            "texts": _announce_texts(),
        },
        status_code=422 if flt.errors else 200,
    )


@router.get("/console/alarms/stream")
async def board_stream(db: Db, actor: LoggedIn) -> StreamingResponse:
    """The board's server-sent events: changes to the alarms this person may see."""
    if not service.may_view_any(actor):
        raise PermissionDenied("You may not see alarms.")
    paths = service.viewable_paths(actor)
    db.close()  # nothing more to read: no session is held while the stream lasts
    return await sse.stream(service.TOPIC, "alarm", partial(service.event_visible, paths))


# --- the site plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanDevice:
    """A device on the plan (``x``/``y`` None without a position) and its worst open alarm."""

    id: int
    name: str
    uid: str
    place: str
    severity: str
    x: float | None
    y: float | None


@dataclass
class TreeNode:
    """A place of the tree with its open alarms, counting everything under it."""

    id: int
    name: str
    kind: str
    counts: PlaceCount
    worst: str | None
    children: list[TreeNode] = field(default_factory=list)


def _project(rows: list[device_service.DeviceStatusRow]) -> dict[int, tuple[float, float]]:
    """Scale latitude and longitude to the drawing (a local plan: north up, true distances)."""
    placed = [(r.id, r.latitude, r.longitude) for r in rows]
    points = [(i, lat, lon) for i, lat, lon in placed if lat is not None and lon is not None]
    if not points:
        return {}
    lats = [lat for _i, lat, _lon in points]
    lons = [lon for _i, _lat, lon in points]
    squeeze = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * squeeze, 1e-4)
    span_y = max(max(lats) - min(lats), 1e-4)
    scale = min((PLAN_W - 2 * PLAN_PAD) / span_x, (PLAN_H - 2 * PLAN_PAD) / span_y)
    off_x = (PLAN_W - span_x * scale) / 2
    off_y = (PLAN_H - span_y * scale) / 2
    return {
        i: (
            round(off_x + (lon - min(lons)) * squeeze * scale, 1),
            round(PLAN_H - (off_y + (lat - min(lats)) * scale), 1),
        )
        for i, lat, lon in points
    }


def _tree(db: Session, actor: Actor, counts: dict[int, PlaceCount]) -> list[TreeNode]:
    places = place_service.under(db, service.viewable_paths(actor))
    nodes: dict[int, TreeNode] = {}
    roots: list[TreeNode] = []
    for place in places:  # ordered by path: a parent comes before its children
        count = counts.get(place.id, PlaceCount(place_id=place.id))
        worst = service.worst(count)
        if place.kind == "unit" and worst is None:
            continue  # units are many; only those with alarms are listed
        node = TreeNode(place.id, place.name, place.kind, count, worst)
        nodes[place.id] = node
        parent = nodes.get(place.parent_id) if place.parent_id is not None else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots


@router.get("/console/alarms/plan")
def plan(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The site plan: devices where they stand, marked by their worst open alarm, and the place
    tree with open alarms counted up to the community."""
    _require_view(actor)
    worst = service.worst_by_device(db, actor)
    rows = device_service.status_rows(db, actor)
    xy = _project(rows)
    labels = _Labels(db)
    devices = [
        PlanDevice(
            id=r.id,
            name=r.name,
            uid=r.uid,
            place=labels.place(r.place_id),
            severity=worst.get(r.id, ""),
            x=xy[r.id][0] if r.id in xy else None,
            y=xy[r.id][1] if r.id in xy else None,
        )
        for r in rows
    ]
    rank = {s: i for i, s in enumerate(SEVERITY_LABELS)}
    devices.sort(key=lambda d: (rank.get(d.severity, 9), d.name))
    placed = sorted((d for d in devices if d.x is not None), key=lambda d: -rank.get(d.severity, 9))
    legend = {s: sum(1 for d in devices if d.severity == s) for s in SEVERITY_LABELS}
    counts = service.counts_by_place(db, actor)
    return view(
        request,
        "alarm/plan.html",
        {
            "devices": devices,
            "placed": placed,
            "unplaced": [d for d in devices if d.x is None],
            "alarmed": [d for d in devices if d.severity],
            "legend": legend,
            "quiet": sum(1 for d in devices if not d.severity),
            "tree": _tree(db, actor, counts),
            "severities": SEVERITY_LABELS,
            "width": PLAN_W,
            "height": PLAN_H,
            "texts": _announce_texts(),
        },
    )


# --- one alarm -----------------------------------------------------------------------------------


@router.get("/console/alarms/{alarm_id}/row")
def board_row(
    request: Request,
    db: Db,
    actor: LoggedIn,
    alarm_id: PathId,
    status: Status = "open",
    severity: Severity = "",
    place_id: PlaceParam = "",
) -> Response:
    """One row of the board, for the live update; 204 when the alarm is no longer on it."""
    _require_view(actor)
    flt = _filters(db, actor, status, severity, place_id, check_place=True)
    alarm = service.read(db, actor, alarm_id)
    if flt.errors or not _matches(alarm, flt):
        return Response(status_code=204)
    return view(
        request,
        "alarm/row.html",
        {
            "r": _row(actor, _Labels(db), alarm),
            "severities": SEVERITY_LABELS,
            "here": BOARD + _query(flt),
        },
    )


def _detail(
    request: Request,
    db: Session,
    actor: Actor,
    alarm_id: int,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    alarm = service.get(db, actor, alarm_id)
    labels = _Labels(db)
    names: dict[int, str] = {}
    for entry in alarm.timeline:
        if entry.account_id is not None and entry.account_id not in names:
            try:
                account = account_service.get_account(db, entry.account_id)
                names[entry.account_id] = account.display_name or account.username
            except NotFound:
                names[entry.account_id] = f"#{entry.account_id}"
    details = {
        k: v for k, v in alarm.details.items() if isinstance(v, str | int | float) and v != ""
    }
    ctx: dict[str, Any] = {
        "a": alarm,
        "row": _row(actor, labels, alarm),
        "ended": _local_ms(alarm.ended_ms),
        "peak": _value(alarm.peak),
        "names": names,
        "details": details,
        "severities": SEVERITY_LABELS,
        "events": EVENT_LABELS,
        "done": "",
        "errors": {},
        "text": "",
        "here": f"{BOARD}/{alarm.id}",
    }
    ctx.update(extra)
    return view(request, "alarm/detail.html", ctx, status_code=status_code)


@router.get("/console/alarms/{alarm_id}")
def alarm_detail(
    request: Request,
    db: Db,
    actor: LoggedIn,
    alarm_id: PathId,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """One alarm: what, where and when, its timeline, and the forms to take it and comment."""
    _require_view(actor)
    return _detail(request, db, actor, alarm_id, done=done)


def _back(target: str, alarm_id: int) -> str:
    """Where to go after acknowledging: the board or the detail page it was done from."""
    safe = safe_next(target, "")
    if safe == BOARD or safe.startswith((BOARD + "?", f"{BOARD}/{alarm_id}")):
        return safe
    return f"{BOARD}/{alarm_id}"


@router.post("/console/alarms/{alarm_id}/acknowledge")
def alarm_acknowledge(
    request: Request,
    db: Db,
    actor: LoggedIn,
    alarm_id: PathId,
    next_: Annotated[str, Form(alias="next", max_length=500)] = "",
) -> Response:
    """Take the alarm, then go back to where it was taken from."""
    _require_view(actor)
    service.acknowledge(db, actor, alarm_id)
    db.commit()
    target = _back(next_, alarm_id)
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}done=acknowledged", status_code=303)


@router.post("/console/alarms/{alarm_id}/comments")
def alarm_comment(
    request: Request,
    db: Db,
    actor: LoggedIn,
    alarm_id: PathId,
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Add a comment to the alarm's timeline."""
    _require_view(actor)
    try:
        body = CommentCreate.model_validate({"text": text.strip()})
    except ValidationError:
        error = _("Write a comment of 1 to 2000 characters.")
        return _detail(
            request, db, actor, alarm_id, status_code=422, errors={"text": error}, text=text
        )
    service.comment(db, actor, alarm_id, body.text)
    db.commit()
    return RedirectResponse(f"{BOARD}/{alarm_id}?done=commented#timeline", status_code=303)
