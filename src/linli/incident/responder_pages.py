"""Responder pages: the responder's phone page (offers to accept or decline, the route and the
nearest AED, status and duty) and the console's responder and equipment registers.

Reads of the caller's own responder records and offers are keyed by their account id; every
change goes through :mod:`linli.incident.service` (and :mod:`linli.incident.shifts` for shift
times), which checks who may make it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.core.actor import Actor
from linli.core.errors import LinliError, NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import gettext as _
from linli.core.validation import MAX_ID
from linli.incident import board as boards
from linli.incident import paths, permissions, repository, service, shifts
from linli.incident.models import DispatchOffer, Equipment, Incident, Responder
from linli.incident.schemas import EquipmentCreate, ResponderCreate, ResponderStatusIn
from linli.place import service as place_service
from linli.web import shell, sse
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PHONE = "/me/responder"
RESPONDERS = "/console/responders"
EQUIPMENT = "/console/equipment"
BUSY = ("dispatched", "on_scene")

STATUS_LABELS = {
    "available": N_("Available"),
    "dispatched": N_("On the way"),
    "on_scene": N_("On scene"),
    "off_duty": N_("Off duty"),
}
KIND_LABELS = {
    "staff": N_("Community staff"),
    "volunteer": N_("Volunteer"),
    "guard": N_("Security guard"),
}
SKILL_LABELS = {
    "first_aid": N_("First aid"),
    "fire_warden": N_("Fire warden"),
    "plumbing": N_("Plumbing"),
    "electrical": N_("Electrical"),
    "gas": N_("Gas"),
    "security": N_("Security"),
    "lift": N_("Lift rescue"),
}
TYPE_LABELS = {
    "cardiac": N_("Cardiac arrest"),
    "fire": N_("Fire"),
    "pipe_burst": N_("Burst pipe"),
    "fall": N_("Fall"),
    "gas_leak": N_("Gas leak"),
    "intrusion": N_("Intruder"),
    "lift_entrapment": N_("Trapped in a lift"),
    "power_outage": N_("Power cut"),
    "flooding": N_("Flooding"),
    "medical": N_("Medical emergency"),
    "help_request": N_("Call for help"),
    "other": N_("Other emergency"),
}
SEVERITY_LABELS = {
    1: N_("Minor"),
    2: N_("Moderate"),
    3: N_("Severe"),
    4: N_("Extreme"),
}
EQUIPMENT_LABELS = {
    "aed": N_("AED (defibrillator)"),
    "pump": N_("Water pump"),
    "extinguisher": N_("Fire extinguisher"),
    "sandbags": N_("Sandbags"),
    "other": N_("Other equipment"),
}
CONDITION_LABELS = {
    "ready": N_("Ready"),
    "needs_service": N_("Needs service"),
    "out_of_service": N_("Out of service"),
}
DONE = {
    "accepted": N_("Accepted. The duty room knows you are on your way."),
    "declined": N_("Declined. The next nearest responder is being asked."),
    "on_scene": N_("Marked on scene."),
    "available": N_("You are available again."),
    "off_duty": N_("You are off duty. You will not be sent out."),
    "added": N_("The responder was added to the register."),
    "changed": N_("The change was saved."),
    "equipment_added": N_("The equipment was added to the register."),
}
# What a responder may set on their phone: arrival, done, and going on or off duty.
PHONE_STATUSES = ("on_scene", "available", "off_duty")
# Drawing of the site plan on the phone: the plan's metres scaled into this many units.
MAP_W, MAP_PAD = 320.0, 14.0

Text = Annotated[str, Form(max_length=200)]
Done = Annotated[str, Query(max_length=32)]


def _done(done: str) -> str:
    return _(DONE[done]) if done in DONE else ""


def _skill(name: str) -> str:
    return _(SKILL_LABELS[name]) if name in SKILL_LABELS else name


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return _("Under a minute")
    return _("About %(minutes)s min", minutes=round(seconds / 60))


# --- the site plan: names of points and a drawing of a route ----------------------------------


def _site() -> paths.Site:
    return service._demo_site()  # the one site plan every community has for now


def point_label(node: str | None) -> str:
    """A person's name for a node of the site plan: a building, a gate, a path crossing."""
    if not node:
        return _("Not set")
    if node.startswith("j-"):
        parts = node.split("-")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            crossing = f"{chr(ord('A') + int(parts[1]))}{int(parts[2]) + 1}"
            return _("Path crossing %(name)s", name=crossing)
    # Buildings, gates and the duty room are named as on the incident board.
    return boards.node_label(_site(), node)


def node_options() -> list[tuple[str, str]]:
    """The named points of the site plan a responder or a piece of equipment can stand at."""
    return sorted(boards.named_points(_site()), key=lambda o: o[0])


@dataclass(frozen=True)
class Step:
    """One step of a route: where, and how many metres from the step before."""

    label: str
    metres: int


@dataclass(frozen=True)
class RouteMap:
    """A small drawing of the site plan with a route, its ends and the nearest AED."""

    width: float
    height: float
    paths: list[tuple[float, float, float, float]]
    route: str
    start: tuple[float, float]
    end: tuple[float, float]
    aed: tuple[float, float] | None
    aed_route: str


def _steps(graph: Any, route: Sequence[str]) -> list[Step]:
    steps: list[Step] = []
    for i, node in enumerate(route):
        metres = 0 if i == 0 else round(graph.edges[route[i - 1], node]["length_m"])
        steps.append(Step(point_label(node), metres))
    return steps


def _draw(graph: Any, route: Sequence[str], aed_route: Sequence[str]) -> RouteMap | None:
    if not route:
        return None
    xs = [float(d["x"]) for _n, d in graph.nodes(data=True)]
    ys = [float(d["y"]) for _n, d in graph.nodes(data=True)]
    span_x, span_y = max(max(xs) - min(xs), 1.0), max(max(ys) - min(ys), 1.0)
    scale = (MAP_W - 2 * MAP_PAD) / span_x
    height = span_y * scale + 2 * MAP_PAD

    def at(node: str) -> tuple[float, float]:
        x, y = paths.coordinates(graph, [node])[0]
        # North up: the plan's y grows northwards, the drawing's downwards.
        return (
            round(MAP_PAD + (x - min(xs)) * scale, 1),
            round(height - MAP_PAD - (y - min(ys)) * scale, 1),
        )

    def line(nodes: Sequence[str]) -> str:
        return " ".join(f"{x},{y}" for x, y in map(at, nodes))

    return RouteMap(
        width=MAP_W,
        height=round(height, 1),
        paths=[(*at(a), *at(b)) for a, b in graph.edges()],
        route=line(route),
        start=at(route[0]),
        end=at(route[-1]),
        aed=at(aed_route[-1]) if aed_route else None,
        aed_route=line(aed_route) if aed_route else "",
    )


# --- the phone page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordView:
    """One of the caller's responder records, as the phone page shows it."""

    id: int
    community: str
    display_name: str
    kind: str
    skills: list[str]
    status: str
    status_label: str
    on_shift: bool
    shift: str
    node: str


@dataclass(frozen=True)
class AedView:
    name: str
    where: str
    travel: str
    steps: list[Step]


@dataclass(frozen=True)
class OfferView:
    """A dispatch offer with everything needed to decide and to get there."""

    id: int
    status: str
    responder_id: int
    title: str
    type_label: str
    severity: int
    severity_label: str
    skill: str
    travel: str
    place: str
    offered_at: dt.datetime
    steps: list[Step]
    map: RouteMap | None
    needs_aed: bool
    aed: AedView | None


@dataclass
class _Places:
    """Place labels and community paths, each looked up once per page."""

    db: Session
    labels: dict[int, str] = field(default_factory=dict)
    communities: dict[int, str] = field(default_factory=dict)

    def label(self, place_id: int) -> str:
        if place_id not in self.labels:
            try:
                place = place_service.get(self.db, place_id)
                self.labels[place_id] = place_service.label(self.db, place, from_kind="community")
            except NotFound:
                self.labels[place_id] = f"#{place_id}"
        return self.labels[place_id]

    def community(self, place_id: int) -> str:
        if place_id not in self.communities:
            place = place_service.get(self.db, place_id)
            chain = place_service.ancestors(self.db, place)
            found = next((p for p in reversed(chain) if p.kind == "community"), place)
            self.communities[place_id] = found.path
        return self.communities[place_id]


def _shift_text(responder: Responder) -> str:
    if responder.shift_start and responder.shift_end:
        return f"{responder.shift_start}–{responder.shift_end}"
    return ""


def _record(places: _Places, r: Responder) -> RecordView:
    return RecordView(
        id=r.id,
        community=places.label(r.place_id),
        display_name=r.display_name,
        kind=_(KIND_LABELS.get(r.kind, r.kind)),
        skills=[_skill(s) for s in r.skills],
        status=r.status,
        status_label=_(STATUS_LABELS.get(r.status, r.status)),
        on_shift=r.on_shift,
        shift=_shift_text(r),
        node=point_label(r.node),
    )


def _nearest_aed(
    db: Session, places: _Places, incident: Incident
) -> tuple[AedView | None, list[str]]:
    """The ready AED of the incident's community nearest to it, and its way to the patient."""
    graph = _site().graph
    if incident.node is None or incident.node not in graph:
        return None, []
    aeds: dict[str, Equipment] = {}
    for item in repository.aeds_under(db, places.community(incident.place_id)):
        if item.node is not None and item.node in graph:
            aeds.setdefault(item.node, item)
    found = paths.nearest(graph, incident.node, aeds)
    if found is None:
        return None, []
    item = aeds[found.node]
    # Drawn from the cabinet to the patient: the way the AED is carried.
    route = list(reversed(found.route))
    view_ = AedView(
        item.name, point_label(item.node), _minutes(found.travel_s), _steps(graph, route)
    )
    return view_, route


def _offer(
    db: Session, places: _Places, offer: DispatchOffer, responder: Responder
) -> OfferView | None:
    incident = repository.get(db, offer.incident_id)
    if incident is None:
        return None
    graph = _site().graph
    start, end = responder.node or "", incident.node or ""
    route = paths.route(graph, start, end) if start in graph and end in graph else []
    plan = service.RESPONSE_PLANS.get(incident.type)
    needs_aed = bool(plan and plan.needs_aed)
    aed, aed_route = _nearest_aed(db, places, incident) if needs_aed else (None, [])
    return OfferView(
        id=offer.id,
        status=offer.status,
        responder_id=responder.id,
        title=incident.title,
        type_label=_(TYPE_LABELS.get(incident.type, TYPE_LABELS["other"])),
        severity=incident.severity,
        severity_label=_(SEVERITY_LABELS.get(incident.severity, SEVERITY_LABELS[3])),
        skill=_skill(offer.skill),
        travel=_minutes(offer.travel_s),
        place=places.label(incident.place_id),
        offered_at=offer.offered_at,
        steps=_steps(graph, route),
        map=_draw(graph, route, aed_route),
        needs_aed=needs_aed,
        aed=aed,
    )


def _my_records(db: Session, actor: Actor) -> list[Responder]:
    """The caller's responder records; 403 for someone who is no responder at all."""
    records = repository.responders_of_account(db, actor.account_id or 0)
    if not records and "responder" not in actor.roles:
        raise PermissionDenied(_("This page is for responders."))
    return records


@dataclass(frozen=True)
class Phone:
    """What the live part of the phone page shows."""

    records: list[RecordView]
    offers: list[OfferView]
    signature: str


def _phone(db: Session, actor: Actor) -> Phone:
    records = _my_records(db, actor)
    places = _Places(db)
    mine = {r.id: r for r in records}
    offers: list[OfferView] = []
    for offer in repository.live_offers_of_account(db, actor.account_id or 0):
        responder = mine.get(offer.responder_id)
        if responder is None:
            continue
        # An accepted offer matters while its responder is still on the way or on scene.
        if offer.status == "accepted" and responder.status not in BUSY:
            continue
        shown = _offer(db, places, offer, responder)
        if shown is not None:
            offers.append(shown)
    offers.sort(key=lambda o: (o.status != "offered", -o.severity, o.offered_at))
    signature = ";".join(
        [f"o{o.id}:{o.status}" for o in offers]
        + [f"r{r.id}:{r.status}:{int(r.on_shift)}" for r in records]
    )
    return Phone([_record(places, r) for r in records], offers, signature)


def _phone_context(phone: Phone) -> dict[str, Any]:
    return {"phone": phone, "labels_status": STATUS_LABELS}


@router.get(PHONE)
def phone_page(request: Request, db: Db, actor: LoggedIn, done: Done = "") -> Response:
    """The responder's phone page: offers to answer, the way there, status and duty."""
    phone = _phone(db, actor)
    ctx = _phone_context(phone)
    ctx.update(
        {
            "done": _done(done),
            "texts": {
                "new": _("New dispatch offer. Accept or decline it below."),
                "changed": _("Your offers have changed."),
                "off": _("Live updates are interrupted; trying again. Reload the page to be sure."),
            },
        }
    )
    return view(request, "incident/responder.html", ctx)


@router.get(PHONE + "/live")
def phone_live(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The live part of the phone page, for refreshing it without a reload."""
    phone = _phone(db, actor)
    return view(
        request,
        "incident/_responder_live.html",
        _phone_context(phone),
        headers={"X-Responder-Signature": phone.signature, "Cache-Control": "no-store"},
    )


@router.get(PHONE + "/stream")
async def phone_stream(db: Db, actor: LoggedIn) -> StreamingResponse:
    """Server-sent events telling the phone page that its incidents or offers changed."""
    records = _my_records(db, actor)
    places = sorted({r.place_path for r in records} | set(actor.paths_for({"responder"})))
    db.close()  # no session is held while the stream lasts
    return await sse.stream(service.TOPIC, "incident", partial(service.event_visible, places))


def _own(db: Session, actor: Actor, responder_id: int) -> Responder:
    """One of the caller's own responder records (404 otherwise: the phone is for oneself)."""
    responder = service.get_responder(db, actor, responder_id)
    if responder.account_id != actor.account_id:
        raise NotFound(_("No such responder."))
    return responder


def _answer(request: Request, db: Session, actor: Actor, offer_id: int, accept: bool) -> Response:
    try:
        service.answer(db, actor, offer_id, accept)
    except LinliError as exc:
        if exc.status_code != 409:
            raise
        db.rollback()
        ctx = _phone_context(_phone(db, actor))
        ctx.update({"done": "", "error": _(exc.message), "texts": {}})
        return view(request, "incident/responder.html", ctx, status_code=409)
    db.commit()
    return RedirectResponse(f"{PHONE}?done={'accepted' if accept else 'declined'}", 303)


@router.post(PHONE + "/offers/{offer_id}/accept")
def accept_offer(request: Request, db: Db, actor: LoggedIn, offer_id: PathId) -> Response:
    """Accept one's own offer: on the way."""
    return _answer(request, db, actor, offer_id, True)


@router.post(PHONE + "/offers/{offer_id}/decline")
def decline_offer(request: Request, db: Db, actor: LoggedIn, offer_id: PathId) -> Response:
    """Decline one's own offer; the slot goes to the next best responder at once."""
    return _answer(request, db, actor, offer_id, False)


@router.post(PHONE + "/{responder_id}/status")
def phone_status(
    request: Request, db: Db, actor: LoggedIn, responder_id: PathId, status: Text = ""
) -> Response:
    """On scene, back to available, or on and off duty, from the phone."""
    responder = _own(db, actor, responder_id)
    if status not in PHONE_STATUSES:
        raise ValidationFailed(_("Choose one of the buttons on the page."))
    if status == "available" and responder.status == "available" and responder.on_shift:
        return RedirectResponse(f"{PHONE}?done=available", 303)
    service.set_responder_status(db, actor, responder.id, ResponderStatusIn(status=status))
    db.commit()
    return RedirectResponse(f"{PHONE}?done={status}", 303)


# --- the registers (console) -------------------------------------------------------------------


def _require_view(actor: Actor) -> None:
    if not actor.paths_for(permissions.VIEW_ROLES):
        raise PermissionDenied(_("You may not see the responder and equipment registers."))


def _require_manage(actor: Actor) -> None:
    if not actor.paths_for(permissions.MANAGE_ROLES):
        raise PermissionDenied(_("You may not keep the responder and equipment registers."))


def _communities(db: Session, actor: Actor) -> list[tuple[int, str]]:
    places = place_service.under(
        db, actor.paths_for(permissions.MANAGE_ROLES), kinds=("community",)
    )
    return [(p.id, place_service.label(db, p, from_kind="community")) for p in places]


def _accounts(db: Session, actor: Actor) -> list[tuple[int, str]]:
    """Accounts that can be put on a register: responders and staff of the managed places."""
    ids: set[int] = set()
    # Per community: a district admin's responders hold their role on a community below.
    for community in place_service.under(
        db, actor.paths_for(permissions.MANAGE_ROLES), kinds=("community",)
    ):
        ids.update(
            account_service.holders_over(db, community.path, {"responder", "community_staff"})
        )
    out: list[tuple[int, str]] = []
    for account_id in sorted(ids):
        account = account_service.get_account(db, account_id)
        out.append((account.id, f"{account.display_name or account.username} ({account.username})"))
    return out


def _choice_id(value: str) -> int | None:
    return int(value) if value.isdigit() and 1 <= int(value) <= MAX_ID else None


@dataclass(frozen=True)
class ResponderRow:
    record: RecordView
    node: str | None
    shift_start: str
    shift_end: str
    can_manage: bool


def _responders_page(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    row_errors: dict[int, dict[str, str]] | None = None,
    done: str = "",
    status_code: int = 200,
) -> Response:
    places = _Places(db)
    rows = [
        ResponderRow(
            record=_record(places, r),
            node=r.node,
            shift_start=r.shift_start or "",
            shift_end=r.shift_end or "",
            can_manage=permissions.can_manage(actor, r.place_path),
        )
        for r in service.list_responders(db, actor)
    ]
    manages = bool(actor.paths_for(permissions.MANAGE_ROLES))
    return view(
        request,
        "incident/responders.html",
        {
            "rows": rows,
            "manages": manages,
            "communities": _communities(db, actor) if manages else [],
            "accounts": _accounts(db, actor) if manages else [],
            "kinds": [(k, _(v)) for k, v in KIND_LABELS.items()],
            "skills": [(k, _(v)) for k, v in SKILL_LABELS.items()],
            "statuses": [(k, _(v)) for k, v in STATUS_LABELS.items()],
            "nodes": node_options(),
            "form": form or {"kind": "volunteer", "skills": []},
            "errors": errors or {},
            "row_errors": row_errors or {},
            "done": _done(done),
        },
        status_code=status_code,
    )


@router.get(RESPONDERS)
def responders_page(request: Request, db: Db, actor: LoggedIn, done: Done = "") -> Response:
    """The responder register: skills, status, position and shift; managers add and change."""
    _require_view(actor)
    return _responders_page(request, db, actor, done=done)


def _shift_messages() -> dict[str, str]:
    return {
        "shift_start": _("Enter the shift's start as hours and minutes, such as 08:00."),
        "shift_end": _("Enter the shift's end as hours and minutes, such as 20:00."),
        "": _("Give both the start and the end of the shift, or neither."),
    }


@router.post(RESPONDERS)
def responder_add(
    request: Request,
    db: Db,
    actor: LoggedIn,
    account_id: Text = "",
    place_id: Text = "",
    display_name: Text = "",
    kind: Text = "",
    skills: Annotated[list[str] | None, Form(max_length=20)] = None,
    node: Text = "",
    shift_start: Text = "",
    shift_end: Text = "",
) -> Response:
    """Put an account on a community's responder register."""
    _require_manage(actor)
    chosen = [s for s in (skills or []) if s in SKILL_LABELS]
    form = {
        "account_id": account_id,
        "place_id": place_id,
        "display_name": display_name,
        "kind": kind,
        "skills": chosen,
        "node": node,
        "shift_start": shift_start,
        "shift_end": shift_end,
    }
    messages = {
        "account_id": _("Choose an account from the list."),
        "place_id": _("Choose a community from the list."),
        "display_name": _("Write a name of 1 to 100 characters."),
        "kind": _("Choose a kind of responder from the list."),
        "skills": _("Choose skills from the list."),
        "node": _("Choose a point of the site plan from the list."),
        **_shift_messages(),
    }
    errors: dict[str, str] = {}
    if skills and len(chosen) != len(skills):
        errors["skills"] = messages["skills"]
    if node and node not in dict(node_options()):
        errors["node"] = messages["node"]
    try:
        data = ResponderCreate.model_validate(
            {
                "account_id": _choice_id(account_id),
                "place_id": _choice_id(place_id),
                "display_name": display_name,
                "kind": kind,
                "skills": chosen,
                "node": node or None,
                "shift_start": shift_start or None,
                "shift_end": shift_end or None,
            }
        )
    except ValidationError as exc:
        errors = {**shell.field_errors(exc, messages), **errors}
    if errors:
        return _responders_page(request, db, actor, form=form, errors=errors, status_code=422)
    try:
        responder = service.register_responder(db, actor, data)
        if data.shift_start is not None:
            shifts.set_shift(db, actor, responder.id, data.shift_start, data.shift_end)
    except LinliError as exc:
        db.rollback()
        key = "account_id" if exc.status_code == 409 else "place_id"
        return _responders_page(
            request,
            db,
            actor,
            form=form,
            errors={key: _(exc.message)},
            status_code=exc.status_code,
        )
    db.commit()
    return RedirectResponse(f"{RESPONDERS}?done=added", 303)


@router.post(RESPONDERS + "/{responder_id}")
def responder_change(
    request: Request,
    db: Db,
    actor: LoggedIn,
    responder_id: PathId,
    status: Text = "",
    node: Text = "",
    shift_start: Text = "",
    shift_end: Text = "",
) -> Response:
    """Change a responder's status, position or shift (staff of the responder's place)."""
    _require_view(actor)
    responder = service.get_responder(db, actor, responder_id)
    if not permissions.can_manage(actor, responder.place_path):
        raise PermissionDenied(_("You may not change this responder."))
    messages = {
        "status": _("Choose a status from the list."),
        "node": _("Choose a point of the site plan from the list."),
        **_shift_messages(),
    }
    errors: dict[str, str] = {}
    if node and node not in dict(node_options()):
        errors["node"] = messages["node"]
    try:
        data = ResponderStatusIn.model_validate(
            {
                "status": status or None,
                "node": node or None,
                "shift_start": shift_start or None,
                "shift_end": shift_end or None,
            }
        )
    except ValidationError as exc:
        errors = {**shell.field_errors(exc, messages), **errors}
    if errors:
        return _responders_page(
            request, db, actor, row_errors={responder.id: errors}, status_code=422
        )
    changes = ResponderStatusIn(
        status=data.status if data.status != responder.status else None,
        node=data.node if data.node != responder.node else None,
    )
    if changes.status is not None or changes.node is not None:
        service.set_responder_status(db, actor, responder.id, changes)
    if (data.shift_start, data.shift_end) != (responder.shift_start, responder.shift_end):
        shifts.set_shift(db, actor, responder.id, data.shift_start, data.shift_end)
    db.commit()
    return RedirectResponse(f"{RESPONDERS}?done=changed#responder-{responder.id}", 303)


@dataclass(frozen=True)
class EquipmentRow:
    id: int
    kind: str
    kind_label: str
    name: str
    place: str
    node: str
    condition: str
    condition_label: str
    can_manage: bool


def _equipment_rows(db: Session, actor: Actor, items: Iterable[Equipment]) -> list[EquipmentRow]:
    places = _Places(db)
    return [
        EquipmentRow(
            id=e.id,
            kind=e.kind,
            kind_label=_(EQUIPMENT_LABELS.get(e.kind, e.kind)),
            name=e.name,
            place=places.label(e.place_id),
            node=point_label(e.node),
            condition=e.condition,
            condition_label=_(CONDITION_LABELS.get(e.condition, e.condition)),
            can_manage=permissions.can_manage(actor, e.place_path),
        )
        for e in items
    ]


def _places_for_equipment(db: Session, actor: Actor) -> list[tuple[int, str]]:
    places = place_service.under(
        db, actor.paths_for(permissions.MANAGE_ROLES), kinds=("community", "compound", "building")
    )
    return [(p.id, place_service.label(db, p, from_kind="community")) for p in places]


def _equipment_page(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    status_code: int = 200,
) -> Response:
    manages = bool(actor.paths_for(permissions.MANAGE_ROLES))
    return view(
        request,
        "incident/equipment.html",
        {
            "rows": _equipment_rows(db, actor, service.list_equipment(db, actor)),
            "manages": manages,
            "places": _places_for_equipment(db, actor) if manages else [],
            "kinds": [(k, _(v)) for k, v in EQUIPMENT_LABELS.items()],
            "conditions": [(k, _(v)) for k, v in CONDITION_LABELS.items()],
            "nodes": node_options(),
            "form": form or {"kind": "aed", "condition": "ready"},
            "errors": errors or {},
            "done": _done(done),
        },
        status_code=status_code,
    )


@router.get(EQUIPMENT)
def equipment_page(request: Request, db: Db, actor: LoggedIn, done: Done = "") -> Response:
    """The equipment register: pumps, AEDs, extinguishers, sandbags, where and how ready."""
    _require_view(actor)
    return _equipment_page(request, db, actor, done=done)


@router.post(EQUIPMENT)
def equipment_add(
    request: Request,
    db: Db,
    actor: LoggedIn,
    place_id: Text = "",
    kind: Text = "",
    name: Text = "",
    node: Text = "",
    condition: Text = "ready",
) -> Response:
    """Register a piece of equipment."""
    _require_manage(actor)
    form = {"place_id": place_id, "kind": kind, "name": name, "node": node, "condition": condition}
    messages = {
        "place_id": _("Choose a place from the list."),
        "kind": _("Choose a kind of equipment from the list."),
        "name": _("Write a name of 1 to 100 characters."),
        "node": _("Choose a point of the site plan from the list."),
        "condition": _("Choose a condition from the list."),
        "": _("Check the form."),
    }
    errors: dict[str, str] = {}
    if node and node not in dict(node_options()):
        errors["node"] = messages["node"]
    try:
        data = EquipmentCreate.model_validate(
            {
                "place_id": _choice_id(place_id),
                "kind": kind,
                "name": name,
                "node": node or None,
                "condition": condition,
            }
        )
    except ValidationError as exc:
        errors = {**shell.field_errors(exc, messages), **errors}
    if errors:
        return _equipment_page(request, db, actor, form=form, errors=errors, status_code=422)
    try:
        service.add_equipment(db, actor, data)
    except LinliError as exc:
        db.rollback()
        return _equipment_page(
            request,
            db,
            actor,
            form=form,
            errors={"place_id": _(exc.message)},
            status_code=exc.status_code,
        )
    db.commit()
    return RedirectResponse(f"{EQUIPMENT}?done=equipment_added", 303)


@router.post(EQUIPMENT + "/{equipment_id}/condition")
def equipment_condition(
    db: Db, actor: LoggedIn, equipment_id: PathId, condition: Text = ""
) -> Response:
    """Set how ready a piece of equipment is."""
    _require_view(actor)
    if condition not in CONDITION_LABELS:
        raise ValidationFailed(_("Choose a condition from the list."))
    service.set_condition(db, actor, equipment_id, condition)
    db.commit()
    return RedirectResponse(f"{EQUIPMENT}?done=changed#equipment-{equipment_id}", 303)
