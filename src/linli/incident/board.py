"""View models of the console's incident pages: the live board on the site plan and one incident.

Service level: it reads through the incident repository and the other domains' services and
knows nothing of requests. The site plan is drawn from the community's path graph
(:func:`linli.incident.service._site`): paths as lines, the named points (buildings, gates, the
duty room, AED cabinets) labelled, open incidents at their node, responders at theirs, the routes
of the responders sent, and the buildings under the incident's warnings (the affected area).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.core.actor import Actor
from linli.core.errors import NotFound
from linli.core.i18n import N_
from linli.core.i18n import gettext as _
from linli.core.time import utc_now
from linli.incident import paths, permissions, repository, service
from linli.incident.models import DispatchOffer, Incident, IncidentEvent, Responder
from linli.incident.paths import Site
from linli.incident.schemas import PlanOut
from linli.notice import service as notice_service
from linli.place import service as place_service

TYPE_LABELS = {
    "cardiac": N_("Cardiac arrest"),
    "fall": N_("Fall"),
    "fire": N_("Fire"),
    "flooding": N_("Flooding"),
    "gas_leak": N_("Gas leak"),
    "help_request": N_("Call for help"),
    "intrusion": N_("Intrusion"),
    "lift_entrapment": N_("Trapped in a lift"),
    "medical": N_("Medical emergency"),
    "other": N_("Other emergency"),
    "pipe_burst": N_("Burst pipe"),
    "power_outage": N_("Power cut"),
}
# CAP 1.2 severities, the planner's integers.
SEVERITY_LABELS = {4: N_("Extreme"), 3: N_("Severe"), 2: N_("Moderate"), 1: N_("Minor")}
SEVERITY_KEYS = {4: "extreme", 3: "severe", 2: "moderate", 1: "minor"}
STATUS_LABELS = {
    "reported": N_("Reported"),
    "dispatched": N_("Responders sent"),
    "on_scene": N_("Responders on scene"),
    "contained": N_("Contained"),
    "closed": N_("Closed"),
}
RESPONDER_LABELS = {
    "available": N_("Available"),
    "dispatched": N_("On the way"),
    "on_scene": N_("On scene"),
    "off_duty": N_("Off duty"),
}
OFFER_LABELS = {
    "offered": N_("Waiting for an answer"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "timed_out": N_("No answer in time"),
    "released": N_("Released"),
}
SKILL_LABELS = {
    "first_aid": N_("First aid"),
    "fire_warden": N_("Fire warden"),
    "plumbing": N_("Plumbing"),
    "gas": N_("Gas"),
    "security": N_("Security"),
    "lift": N_("Lifts"),
    "electrical": N_("Electrical"),
}
EVENT_LABELS = {
    "reported": N_("Incident opened"),
    "status": N_("Status changed"),
    "severity": N_("Severity changed"),
    "located": N_("Point on the site plan set"),
    "commander": N_("Commander set"),
    "alarm": N_("Alarm linked"),
    "help_request": N_("Resident asked for help"),
    "offered": N_("Responder asked to go"),
    "accepted": N_("Responder accepted"),
    "declined": N_("Responder declined"),
    "timed_out": N_("Responder did not answer in time"),
    "unfilled": N_("No responder free for some tasks"),
    "after_action": N_("After-action report"),
    "warned": N_("Residents warned"),
    "arrived": N_("Responder arrived on scene"),
}
POINT_KINDS = {
    "building": N_("Building %(n)s"),
    "gate": N_("Gate"),
    "duty_room": N_("Duty room"),
    "aed": N_("AED"),
}
POINT_NAMES = {
    "south-gate": N_("South gate"),
    "east-gate": N_("East gate"),
    "duty-room": N_("Duty room"),
    "aed-duty-room": N_("AED at the duty room"),
    "aed-east-gate": N_("AED at the east gate"),
    "aed-building-9": N_("AED at building 9"),
}
# Offers that hold a responder: their route to the incident is drawn.
HOLDING = ("offered", "accepted")
PLAN_W, PLAN_PAD = 760.0, 40.0


def type_label(kind: str) -> str:
    return _(TYPE_LABELS[kind]) if kind in TYPE_LABELS else kind


def skill_label(skill: str) -> str:
    return _(SKILL_LABELS[skill]) if skill in SKILL_LABELS else skill


def point_label(name: str, kind: str = "") -> str:
    """A named point of the site plan in words: ``building-3`` → 3号楼 / Building 3."""
    if name in POINT_NAMES:
        return _(POINT_NAMES[name])
    if name.startswith("building-"):
        return _(POINT_KINDS["building"], n=name.removeprefix("building-"))
    return _(POINT_KINDS[kind]) if kind in POINT_KINDS and kind != "building" else name


def node_label(site: Site, node: str | None) -> str:
    """A node in words: the named point standing there, else the node's own name."""
    if not node:
        return ""
    for point in site.points.values():
        if point.node == node and point.kind != "aed":
            return point_label(point.name, point.kind)
    return node


def minutes(seconds: float) -> str:
    """A travel time in words: ``1 min 20 s``."""
    whole = round(seconds)
    if whole < 60:
        return _("%(s)s s", s=whole)
    return _("%(m)s min %(s)s s", m=whole // 60, s=whole % 60)


def age(since: dt.datetime, now: dt.datetime) -> str:
    """How long ago, in words: minutes, hours or days."""
    mins = max(0, int((now - since).total_seconds() // 60))
    if mins < 60:
        return _("%(n)s min", n=mins)
    if mins < 48 * 60:
        return _("%(h)s h %(m)s min", h=mins // 60, m=mins % 60)
    return _("%(n)s days", n=mins // (24 * 60))


# --- the drawing of the site plan -------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    road: bool


@dataclass(frozen=True)
class Mark:
    """A named point drawn on the plan."""

    name: str
    kind: str
    node: str
    x: float
    y: float


@dataclass(frozen=True)
class Drawing:
    """What never changes on a site plan: its size, paths and named points (in SVG units)."""

    width: float
    height: float
    lines: tuple[Line, ...]
    marks: tuple[Mark, ...]
    xy: dict[str, tuple[float, float]]

    def at(self, node: str | None) -> tuple[float, float] | None:
        return self.xy.get(node) if node else None

    def polyline(self, nodes: Iterable[str]) -> str:
        return " ".join(f"{x},{y}" for x, y in (self.xy[n] for n in nodes if n in self.xy))


@functools.cache
def _drawing(site_id: int) -> Drawing:
    site = _SITES[site_id]
    graph = site.graph
    xs = [float(d["x"]) for _n, d in graph.nodes(data=True)]
    ys = [float(d["y"]) for _n, d in graph.nodes(data=True)]
    span_x = max(max(xs) - min(xs), 1.0)
    span_y = max(max(ys) - min(ys), 1.0)
    scale = (PLAN_W - 2 * PLAN_PAD) / span_x
    height = round(span_y * scale + 2 * PLAN_PAD, 1)
    # North up: the site's y grows northwards, the drawing's downwards.
    xy = {
        str(n): (
            round(PLAN_PAD + (float(d["x"]) - min(xs)) * scale, 1),
            round(height - PLAN_PAD - (float(d["y"]) - min(ys)) * scale, 1),
        )
        for n, d in graph.nodes(data=True)
    }
    lines = tuple(
        Line(*xy[str(a)], *xy[str(b)], road=float(d.get("speed_m_per_s", 0)) > paths.WALK_M_PER_S)
        for a, b, d in graph.edges(data=True)
    )
    marks = tuple(
        Mark(p.name, p.kind, p.node, *xy[p.node])
        for p in sorted(site.points.values(), key=lambda p: (p.kind, p.name))
        if p.node in xy
    )
    return Drawing(PLAN_W, height, lines, marks, xy)


_SITES: dict[int, Site] = {}


def drawing(site: Site) -> Drawing:
    """The drawing of a site plan, computed once per site."""
    _SITES.setdefault(id(site), site)
    return _drawing(id(site))


def site_of(db: Session, incident: Incident | None = None) -> Site:
    """The community's site plan (the demo plan for every community for now, as the service)."""
    if incident is not None:
        return service._site(db, incident)
    return service._demo_site()


def named_points(site: Site) -> list[tuple[str, str]]:
    """(node, label) of the points an incident can be placed at: buildings, gates, duty room."""
    points = [p for p in site.points.values() if p.kind != "aed"]
    order = {"building": 0, "gate": 1, "duty_room": 2}

    def key(p: paths.Point) -> tuple[int, int, str]:
        number = p.name.removeprefix("building-")
        return (order.get(p.kind, 9), int(number) if number.isdigit() else 0, p.name)

    return [(p.node, point_label(p.name, p.kind)) for p in sorted(points, key=key)]


# --- the board --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentMark:
    """An open incident on the board: the list row and, when it has a point, its marker."""

    id: int
    type: str
    type_label: str
    title: str
    severity: int
    severity_key: str
    status: str
    place: str
    point: str
    age: str
    created_at: dt.datetime
    x: float | None
    y: float | None


@dataclass(frozen=True)
class ResponderDot:
    id: int
    name: str
    status: str
    skills: str
    point: str
    x: float | None
    y: float | None


@dataclass(frozen=True)
class Route:
    """A responder's way to an incident (an offer pending or accepted)."""

    incident_id: int
    responder_id: int
    responder: str
    status: str
    travel: str
    points: str


@dataclass
class Section:
    """One community's part of the board: its plan with everything on it, and its lists."""

    community_id: int
    name: str
    drawing: Drawing
    incidents: list[IncidentMark] = field(default_factory=list)
    responders: list[ResponderDot] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    affected: list[str] = field(default_factory=list)  # nodes of warned buildings
    affected_names: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {k: sum(1 for r in self.responders if r.status == k) for k in RESPONDER_LABELS}


@dataclass
class Board:
    sections: list[Section]
    total: int
    worst: int | None
    summary: str
    may_manage: bool


class _Names:
    """Account names and place labels, each looked up once per page."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.accounts: dict[int, str] = {}
        self.places: dict[int, str] = {}

    def account(self, account_id: int | None) -> str:
        if account_id is None:
            return ""
        if account_id not in self.accounts:
            try:
                found = account_service.get_account(self.db, account_id)
                self.accounts[account_id] = found.display_name or found.username
            except NotFound:
                self.accounts[account_id] = f"#{account_id}"
        return self.accounts[account_id]

    def place(self, place_id: int) -> str:
        if place_id not in self.places:
            try:
                found = place_service.get(self.db, place_id)
                self.places[place_id] = place_service.label(self.db, found, from_kind="community")
            except NotFound:
                self.places[place_id] = f"#{place_id}"
        return self.places[place_id]


def _communities(db: Session, actor: Actor) -> list[tuple[int, str, str]]:
    """(id, path, name) of the communities the actor sees incidents of."""
    grants = actor.paths_for(permissions.VIEW_ROLES)
    found = {p.path: p for p in place_service.under(db, grants, kinds=("community",))}
    for path in grants:
        if any(path.startswith(c) for c in found):
            continue
        ids = [int(part) for part in path.strip("/").split("/") if part.isdigit()]
        if not ids:
            continue
        try:
            community = place_service.community_of(db, place_service.get(db, ids[-1]))
        except NotFound:
            continue
        if community is not None:
            found[community.path] = community
    return [(p.id, p.path, p.name) for p in sorted(found.values(), key=lambda p: p.path)]


def _affected(db: Session, incident_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Incident id → (node, place path) of the site points under the places it warned."""
    by_incident: dict[int, list[str]] = {}
    for link in repository.broadcasts_of(db, incident_ids):
        try:
            broadcast = notice_service.public_alert(db, link.broadcast_id)
        except NotFound:
            continue
        by_incident.setdefault(link.incident_id, []).append(broadcast.place_path)
    out: dict[int, list[tuple[str, str]]] = {}
    for incident_id, warned in by_incident.items():
        points = repository.site_points_under(db, warned)
        out[incident_id] = [(p.node, p.place_path) for p in points]
    return out


def _mark(
    names: _Names, site: Site, plan: Drawing, incident: Incident, now: dt.datetime
) -> IncidentMark:
    xy = plan.at(incident.node)
    return IncidentMark(
        id=incident.id,
        type=incident.type,
        type_label=type_label(incident.type),
        title=incident.title,
        severity=incident.severity,
        severity_key=SEVERITY_KEYS.get(incident.severity, "severe"),
        status=incident.status,
        place=names.place(incident.place_id),
        point=node_label(site, incident.node),
        age=age(incident.created_at, now),
        created_at=incident.created_at,
        x=xy[0] if xy else None,
        y=xy[1] if xy else None,
    )


def _dot(site: Site, plan: Drawing, responder: Responder, crowd: dict[str, int]) -> ResponderDot:
    xy = plan.at(responder.node)
    if xy is not None and responder.node is not None:
        # Several responders at one node: set side by side so that each dot can be seen.
        k = crowd.get(responder.node, 0)
        crowd[responder.node] = k + 1
        xy = (round(xy[0] - 14 + 12 * k, 1), round(xy[1] + 16, 1))
    return ResponderDot(
        id=responder.id,
        name=responder.display_name,
        status=responder.status,
        skills=", ".join(skill_label(s) for s in responder.skills),
        point=node_label(site, responder.node),
        x=xy[0] if xy else None,
        y=xy[1] if xy else None,
    )


def _routes(
    site: Site,
    plan: Drawing,
    incidents: dict[int, Incident],
    responders: dict[int, Responder],
    offers: Iterable[DispatchOffer],
) -> list[Route]:
    out: list[Route] = []
    for offer in offers:
        incident = incidents.get(offer.incident_id)
        responder = responders.get(offer.responder_id)
        if offer.status not in HOLDING or incident is None or responder is None:
            continue
        if not incident.node or not responder.node:
            continue
        if incident.node not in site.graph or responder.node not in site.graph:
            continue
        nodes = paths.route(site.graph, responder.node, incident.node)
        if len(nodes) < 2:
            continue
        out.append(
            Route(
                incident_id=incident.id,
                responder_id=responder.id,
                responder=responder.display_name,
                status=offer.status,
                travel=minutes(offer.travel_s),
                points=plan.polyline(nodes),
            )
        )
    return out


def board(db: Session, actor: Actor, *, now: dt.datetime | None = None) -> Board:
    """The live board: per community, the plan with open incidents, responders and routes."""
    now = now or utc_now()
    names = _Names(db)
    rows = repository.incidents(db, permissions.visible_incidents(actor), open_only=True)
    people = repository.responders(db, permissions.visible_responders(actor))
    offers = repository.offers_of_incidents(db, [i.id for i in rows])
    affected = _affected(db, [i.id for i in rows])
    sections: list[Section] = []
    for community_id, path, name in _communities(db, actor):
        mine = [i for i in rows if i.place_path.startswith(path)]
        site = site_of(db, mine[0] if mine else None)
        plan = drawing(site)
        section = Section(community_id, name, plan)
        section.incidents = [_mark(names, site, plan, i, now) for i in mine]
        crowd: dict[str, int] = {}
        here = [r for r in people if r.place_path.startswith(path)]
        section.responders = [_dot(site, plan, r, crowd) for r in here]
        section.routes = _routes(
            site, plan, {i.id: i for i in mine}, {r.id: r for r in here}, offers
        )
        warned: dict[str, str] = {}
        for incident in mine:
            for node, place_path in affected.get(incident.id, []):
                if node in plan.xy:
                    warned.setdefault(node, place_path)
        section.affected = sorted(warned)
        section.affected_names = [node_label(site, n) for n in section.affected]
        sections.append(section)
    worst = max((i.severity for i in rows), default=None)
    return Board(
        sections=sections,
        total=len(rows),
        worst=worst,
        summary=_summary(len(rows), worst),
        may_manage=bool(actor.paths_for(permissions.MANAGE_ROLES)),
    )


def _summary(total: int, worst: int | None) -> str:
    if not total or worst is None:
        return _("No open incidents.")
    return _(
        "Open incidents: %(n)s. Most severe: %(severity)s.",
        n=total,
        severity=_(SEVERITY_LABELS.get(worst, SEVERITY_LABELS[3])),
    )


# --- one incident -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferRow:
    id: int
    responder: str
    skill: str
    status: str
    travel: str
    offered_at: dt.datetime


@dataclass(frozen=True)
class EventRow:
    kind: str
    label: str
    actor: str
    at: dt.datetime
    text: str
    detail: str


@dataclass(frozen=True)
class Planned:
    responder: str
    skill: str
    travel: str
    points: str


@dataclass
class Recommendation:
    """Who would be sent now (nothing stored), drawn on the mini plan."""

    assignments: list[Planned]
    unfilled: list[str]
    needs_aed: bool
    aed: str
    aed_travel: str
    aed_points: str


@dataclass
class IncidentView:
    incident: Incident
    type_label: str
    place: str
    point: str
    commander: str
    created_by: str
    may_manage: bool
    drawing: Drawing
    mark: IncidentMark
    responders: list[ResponderDot]
    routes: list[Route]
    affected: list[str]
    affected_names: list[str]
    offers: list[OfferRow]
    alarm_ids: list[int]
    timeline: list[EventRow]
    points: list[tuple[str, str]]
    commanders: list[tuple[int, str]]
    next_statuses: list[str]
    can_close: bool
    recommendation: Recommendation | None = None


def _detail(names: _Names, site: Site, event: IncidentEvent) -> str:
    data: dict[str, Any] = event.data or {}
    if event.kind == "status":
        before, after = str(data.get("from", "")), str(data.get("to", ""))
        return _(
            "from %(before)s to %(after)s",
            before=_(STATUS_LABELS[before]) if before in STATUS_LABELS else before,
            after=_(STATUS_LABELS[after]) if after in STATUS_LABELS else after,
        )
    if event.kind == "severity":
        before_s, after_s = data.get("from"), data.get("to")
        return _(
            "from %(before)s to %(after)s",
            before=_(SEVERITY_LABELS[before_s]) if before_s in SEVERITY_LABELS else before_s,
            after=_(SEVERITY_LABELS[after_s]) if after_s in SEVERITY_LABELS else after_s,
        )
    if event.kind == "located":
        return node_label(site, str(data.get("node", "")))
    if event.kind == "commander":
        account = data.get("account_id")
        return names.account(account) if isinstance(account, int) else ""
    if event.kind in ("offered", "accepted", "declined", "timed_out"):
        parts = [skill_label(str(data.get("skill", "")))]
        if isinstance(data.get("travel_s"), int | float):
            parts.append(minutes(float(data["travel_s"])))
        return " · ".join(p for p in parts if p)
    if event.kind == "unfilled":
        slots = data.get("slots") or []
        return ", ".join(skill_label(str(s[0])) for s in slots if isinstance(s, list) and s)
    if event.kind == "alarm" and data.get("alarm_id"):
        return _("Alarm #%(id)s", id=data["alarm_id"])
    return ""


def _timeline(db: Session, names: _Names, site: Site, incident_id: int) -> list[EventRow]:
    return [
        EventRow(
            kind=e.kind,
            label=_(EVENT_LABELS[e.kind]) if e.kind in EVENT_LABELS else e.kind,
            actor=names.account(e.actor_account_id),
            at=e.at,
            text=e.text,
            detail=_detail(names, site, e),
        )
        for e in repository.timeline(db, incident_id)
    ]


def _commanders(db: Session, names: _Names, incident: Incident) -> list[tuple[int, str]]:
    roles = permissions.MANAGE_ROLES | {"responder"}
    ids = account_service.holders_over(db, incident.place_path, roles)
    return sorted(((i, names.account(i)) for i in ids), key=lambda t: (t[1], t[0]))


def recommendation(
    db: Session, site: Site, plan: Drawing, incident: Incident, out: PlanOut
) -> Recommendation:
    """A recommendation from :func:`service.recommend` in words and lines to draw."""
    responders = {r.id: r for r in repository.responders_under(db, _community_path(db, incident))}
    assignments = [
        Planned(
            responder=responders[a.responder_id].display_name
            if a.responder_id in responders
            else f"#{a.responder_id}",
            skill=skill_label(a.skill),
            travel=minutes(a.travel_s),
            points=plan.polyline(a.route),
        )
        for a in out.assignments
    ]
    plan_of_type = service.RESPONSE_PLANS.get(incident.type)
    aed_route: list[str] = []
    if out.aed_node and incident.node:
        aed_route = paths.route(site.graph, incident.node, out.aed_node)
    aed_name = ""
    if out.aed_node:
        aed_name = next(
            (point_label(p.name) for p in site.of_kind("aed") if p.node == out.aed_node),
            node_label(site, out.aed_node),
        )
    return Recommendation(
        assignments=assignments,
        unfilled=[skill_label(skill) for skill, _index in out.unfilled],
        needs_aed=bool(plan_of_type and plan_of_type.needs_aed),
        aed=aed_name,
        aed_travel=minutes(out.aed_travel_s) if out.aed_travel_s is not None else "",
        aed_points=plan.polyline(aed_route),
    )


def _community_path(db: Session, incident: Incident) -> str:
    community = place_service.community_of(db, place_service.get(db, incident.place_id))
    return community.path if community is not None else incident.place_path


def incident_view(
    db: Session,
    actor: Actor,
    incident_id: int,
    *,
    recommend: bool = False,
    now: dt.datetime | None = None,
) -> IncidentView:
    """One incident: header, plan with its responders and routes, offers, timeline, choices.

    ``recommend`` asks the planner who would be sent now (staff only; nothing is stored);
    its refusals (no point on the plan, a closed incident) are raised as they come.
    """
    now = now or utc_now()
    detail = service.get(db, actor, incident_id)  # 404 unless the actor may see it
    incident = repository.get(db, detail.id)
    assert incident is not None  # just read by the service
    names = _Names(db)
    site = site_of(db, incident)
    plan = drawing(site)
    offers = repository.offers_of(db, incident.id)
    involved = {o.responder_id for o in offers if o.status in HOLDING}
    people = {
        r.id: r
        for r in repository.responders(db, permissions.visible_responders(actor))
        if r.id in involved
    }
    crowd: dict[str, int] = {}
    may_manage = permissions.can_manage(actor, incident.place_path)
    warned = _affected(db, [incident.id]).get(incident.id, [])
    affected = sorted({node for node, _p in warned if node in plan.xy})
    all_names = {o.responder_id: o for o in offers}
    responder_names = {
        r.id: r.display_name
        for r in repository.responders_under(db, _community_path(db, incident))
        if r.id in all_names
    }
    view = IncidentView(
        incident=incident,
        type_label=type_label(incident.type),
        place=names.place(incident.place_id),
        point=node_label(site, incident.node),
        commander=names.account(incident.commander_account_id),
        created_by=names.account(incident.created_by_account_id),
        may_manage=may_manage,
        drawing=plan,
        mark=_mark(names, site, plan, incident, now),
        responders=[_dot(site, plan, r, crowd) for r in people.values()],
        routes=_routes(site, plan, {incident.id: incident}, people, offers),
        affected=affected,
        affected_names=[node_label(site, n) for n in affected],
        offers=[
            OfferRow(
                id=o.id,
                responder=responder_names.get(o.responder_id, f"#{o.responder_id}"),
                skill=skill_label(o.skill),
                status=o.status,
                travel=minutes(o.travel_s),
                offered_at=o.offered_at,
            )
            for o in offers
        ],
        alarm_ids=detail.alarm_ids,
        timeline=_timeline(db, names, site, incident.id),
        points=named_points(site),
        commanders=_commanders(db, names, incident) if may_manage else [],
        next_statuses=[
            s for s in ("dispatched", "on_scene", "contained") if s in service.NEXT[incident.status]
        ],
        can_close="closed" in service.NEXT[incident.status],
    )
    if recommend:
        view.recommendation = recommendation(
            db, site, plan, incident, service.recommend(db, actor, incident.id)
        )
    return view


# --- the form to open an incident -------------------------------------------------------------


def managed_places(db: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, label) of the places where the actor may open incidents."""
    kinds = ("community", "compound", "building", "unit")
    found = place_service.under(db, actor.paths_for(permissions.MANAGE_ROLES), kinds=kinds)
    return [(p.id, place_service.label(db, p, from_kind="community")) for p in found]


def type_options() -> list[tuple[str, str]]:
    """Every incident type the service knows, with its label, in label order."""
    return sorted(((t, type_label(t)) for t in service.TYPES), key=lambda t: t[1])
