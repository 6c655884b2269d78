"""Incident use cases: open, run and close incidents; fold alarm bursts and calls for help into
them; keep the responder and equipment registers; dispatch responders and re-dispatch.

Every change to an incident is written to its timeline (``incident_events``) in the same
transaction. The dispatch planner (:mod:`linli.incident.dispatch`) is pure; this module turns
rows into its values and its answers back into rows (docs/incidents.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.alarm import service as alarm_service
from linli.case import service as case_service
from linli.core.actor import Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.events import AfterCommit
from linli.core.i18n import _
from linli.core.time import utc_now
from linli.incident import dispatch as planner
from linli.incident import linkage, permissions, repository
from linli.incident.models import (
    DispatchOffer,
    Equipment,
    Incident,
    IncidentAlarm,
    IncidentEvent,
    IncidentHelpAnswer,
    Responder,
)
from linli.incident.paths import Site, demo_site_graph
from linli.incident.schemas import (
    EquipmentCreate,
    EventOut,
    FromCaseIn,
    IncidentCreate,
    IncidentDetail,
    IncidentOut,
    IncidentUpdate,
    PlannedOut,
    PlanOut,
    ResponderCreate,
    ResponderStatusIn,
)
from linli.notice import service as notice_service
from linli.notification import service as notification_service
from linli.place import service as place_service
from linli.rule import service as rule_service

# The lifecycle: each status and the statuses it may move on to (forward only).
NEXT: Mapping[str, frozenset[str]] = {
    "reported": frozenset({"dispatched", "on_scene", "contained", "closed"}),
    "dispatched": frozenset({"on_scene", "contained", "closed"}),
    "on_scene": frozenset({"contained", "closed"}),
    "contained": frozenset({"closed"}),
    "closed": frozenset(),
}
OPEN = ("reported", "dispatched", "on_scene", "contained")

# The planner's default response plans and the types this domain adds.
RESPONSE_PLANS: Mapping[str, planner.ResponsePlan] = {
    **planner.RESPONSE_PLANS,
    **{
        p.incident_type: p
        for p in (
            planner.ResponsePlan("flooding", (("plumbing", 2),)),
            planner.ResponsePlan("medical", (("first_aid", 1),)),
            planner.ResponsePlan("help_request", (("first_aid", 1),)),
            planner.ResponsePlan("other", ()),
        )
    },
}
TYPES = tuple(sorted(RESPONSE_PLANS))

# Which incident a critical alarm means, by the words of its rule's template and property key.
ALARM_TYPES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"co", "gas", "methane"}), "gas_leak"),
    (frozenset({"smoke", "fire", "heat"}), "fire"),
    (frozenset({"water", "flood"}), "flooding"),
    (frozenset({"pressure"}), "pipe_burst"),
    (frozenset({"fall"}), "fall"),
    (frozenset({"heart", "cardiac"}), "cardiac"),
)
ALARM_SEVERITY = {"fire": 4, "gas_leak": 4, "cardiac": 4}
DEDUP_WINDOW = dt.timedelta(minutes=30)
# How far back each round looks for alarms and answers not yet folded into an incident.
LOOKBACK = dt.timedelta(hours=24)
OFFER_TIMEOUT_MIN = 3
SITE_NOTE = "demo_site_graph"
# Live boards subscribe to this topic; an event is published once its transaction commits.
TOPIC = "incident"
_EVENTS = AfterCommit(TOPIC)


# --- publishing after commit ------------------------------------------------------------------


def _queue(db: Session, data: dict[str, Any]) -> None:
    _EVENTS.queue(db, data)


def _queue_publish(db: Session, incident: Incident, kind: str) -> None:
    _queue(
        db,
        {
            "incident_id": incident.id,
            "place_path": incident.place_path,
            "kind": kind,
            "status": incident.status,
        },
    )


def event_visible(paths: list[str], data: dict[str, Any]) -> bool:
    """Whether a published incident event is under one of the actor's places."""
    place_path = data.get("place_path")
    return isinstance(place_path, str) and any(place_path.startswith(p) for p in paths)


# --- helpers ----------------------------------------------------------------------------------


def _event(
    db: Session,
    incident: Incident,
    kind: str,
    *,
    actor: Actor | None = None,
    text: str = "",
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> IncidentEvent:
    at = at or utc_now()
    event = IncidentEvent(
        incident_id=incident.id,
        kind=kind,
        text=text,
        actor_account_id=actor.account_id if actor else None,
        at=at,
        data=dict(data or {}),
    )
    incident.updated_at = max(incident.updated_at, at) if incident.updated_at else at
    db.add(event)
    _queue_publish(db, incident, kind)
    return event


def incident_type_for(template: str, property_key: str) -> str:
    """The incident type of a critical alarm from its rule's template and property key.

    ``water_level`` → flooding, ``pressure`` → pipe_burst, ``smoke`` → fire, ``co``/``gas`` →
    gas_leak, ``fall`` → fall; anything else → other.
    """
    words = set(re.split(r"[^a-z0-9]+", f"{template} {property_key}".lower())) - {""}
    for keys, kind in ALARM_TYPES:
        if words & keys:
            return kind
    return "other"


def _scope_path(db: Session, place_id: int) -> tuple[str, str]:
    """(compound or community path, community path) of a place: the dedup scope."""
    place = place_service.get(db, place_id)
    chain = place_service.ancestors(db, place)
    community = next((p for p in reversed(chain) if p.kind == "community"), None)
    compound = next((p for p in reversed(chain) if p.kind == "compound"), None)
    scope = compound or community or place
    return scope.path, (community or place).path


def _community_path(db: Session, incident: Incident) -> str:
    return _scope_path(db, incident.place_id)[1]


class _PlaceRef(NamedTuple):
    id: int
    path: str


@functools.cache
def _demo_site() -> Site:
    """The demo site plan's graph, built once: it is deterministic and only ever read."""
    return demo_site_graph()


def _site(db: Session, incident: Incident) -> Site:
    """The community's path graph. Communities have no stored site plan yet: the demo one."""
    return _demo_site()


def _managed_place(db: Session, actor: Actor, place_id: int, refusal: str) -> _PlaceRef:
    """A place the actor keeps incident records for; ``refusal`` when they may not."""
    try:
        place = place_service.get(db, place_id)
    except NotFound as exc:
        raise ValidationFailed(_("Choose one of the places in the list.")) from exc
    if not permissions.can_manage(actor, place.path):
        raise PermissionDenied(refusal)
    return _PlaceRef(place.id, place.path)


def node_of_place(db: Session, place_id: int) -> str | None:
    """The place's point on the site plan, else the nearest point of the places above it."""
    place = place_service.get(db, place_id)
    chain = [p.id for p in place_service.ancestors(db, place)]
    points = repository.site_nodes(db, chain)
    for pid in reversed(chain):
        if pid in points:
            return points[pid]
    return None


def _visible(db: Session, actor: Actor, incident_id: int) -> Incident:
    incident = repository.get(db, incident_id)
    if incident is None or not permissions.can_view(actor, incident.place_path):
        raise NotFound(_("No such incident."))
    return incident


def _managed(db: Session, actor: Actor, incident_id: int) -> Incident:
    incident = _visible(db, actor, incident_id)
    if not permissions.can_manage(actor, incident.place_path):
        raise PermissionDenied(_("You may not run this incident."))
    return incident


def _check_type(kind: str) -> None:
    if kind not in RESPONSE_PLANS:
        raise ValidationFailed(_("Unknown incident type."))


def _check_node(site: Site, node: str | None) -> None:
    if node is not None and node not in site.graph:
        raise ValidationFailed(_("This point is not on the site plan."))


# --- incidents --------------------------------------------------------------------------------


def create(
    db: Session, actor: Actor, data: IncidentCreate, *, now: dt.datetime | None = None
) -> Incident:
    """Staff open an incident at a place they manage."""
    now = now or utc_now()
    place = _managed_place(db, actor, data.place_id, _("You may not open incidents at this place."))
    _check_type(data.type)
    _check_node(_demo_site(), data.node)
    incident = Incident(
        place_id=place.id,
        place_path=place.path,
        type=data.type,
        severity=data.severity,
        title=data.title,
        description=data.description,
        node=data.node,
        lat=data.lat,
        lon=data.lon,
        status="reported",
        source="staff",
        dedup_key="",
        created_by_account_id=actor.account_id,
        created_at=now,
        updated_at=now,
    )
    db.add(incident)
    db.flush()
    _event(db, incident, "reported", actor=actor, text=data.title, at=now)
    linkage.share(db, incident, "Alert", now)
    return incident


def from_case(
    db: Session,
    actor: Actor,
    case_id: int,
    data: FromCaseIn,
    *,
    now: dt.datetime | None = None,
) -> Incident:
    """Staff turn a resident's problem report into an incident (once per report).

    The incident takes the report's place, point and words; the report's timeline gets a staff
    note pointing at the incident, so whoever works the report sees where it went.
    """
    now = now or utc_now()
    case = case_service.get(db, actor, case_id)
    place = _managed_place(db, actor, case.place_id, _("You may not open incidents at this place."))
    _check_type(data.type)
    key = f"case#{case.id}"
    existing = repository.open_with_key(db, key, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    if existing is not None:
        raise Conflict(_("This report is already an open incident."))
    incident = Incident(
        place_id=place.id,
        place_path=place.path,
        type=data.type,
        severity=data.severity,
        title=case.title[:200],
        description=case.description,
        node=node_of_place(db, place.id),
        lat=case.lat,
        lon=case.lon,
        status="reported",
        source="report",
        dedup_key=key,
        created_by_account_id=actor.account_id,
        created_at=now,
        updated_at=now,
    )
    db.add(incident)
    db.flush()
    _event(
        db,
        incident,
        "reported",
        actor=actor,
        text=incident.title,
        data={"source": "report", "case_id": case.id, "case_ref": case.ref},
        at=now,
    )
    case_service.note(db, actor, case.id, _("Opened as incident #%(id)s.") % {"id": incident.id})
    linkage.share(db, incident, "Alert", now)
    return incident


def _detail(db: Session, incident: Incident) -> IncidentDetail:
    base = IncidentOut.model_validate(incident).model_dump()
    events = [EventOut.model_validate(e) for e in repository.timeline(db, incident.id)]
    return IncidentDetail(**base, timeline=events, alarm_ids=repository.alarm_ids(db, incident.id))


def get(db: Session, actor: Actor, incident_id: int) -> IncidentDetail:
    """An incident with its timeline and linked alarms."""
    return _detail(db, _visible(db, actor, incident_id))


def list_incidents(db: Session, actor: Actor, *, open_only: bool = True) -> list[IncidentOut]:
    """Incidents the actor may see, most severe first."""
    rows = repository.incidents(db, permissions.visible_incidents(actor), open_only=open_only)
    return [IncidentOut.model_validate(r) for r in rows]


def update(
    db: Session,
    actor: Actor,
    incident_id: int,
    data: IncidentUpdate,
    *,
    now: dt.datetime | None = None,
) -> Incident:
    """Change severity, site-plan node or commander of an open incident."""
    now = now or utc_now()
    incident = _managed(db, actor, incident_id)
    if incident.status == "closed":
        raise Conflict(_("This incident is closed."))
    if data.severity is not None and data.severity != incident.severity:
        _event(
            db,
            incident,
            "severity",
            actor=actor,
            data={"from": incident.severity, "to": data.severity},
            at=now,
        )
        incident.severity = data.severity
        linkage.share(db, incident, "Update", now)
    if data.node is not None and data.node != incident.node:
        _check_node(_site(db, incident), data.node)
        _event(db, incident, "located", actor=actor, data={"node": data.node}, at=now)
        incident.node = data.node
    if data.commander_account_id is not None:
        roles = permissions.MANAGE_ROLES | {"responder"}
        if data.commander_account_id not in account_service.holders_over(
            db, incident.place_path, roles
        ):
            raise ValidationFailed(_("The commander must be staff or a responder of this place."))
        incident.commander_account_id = data.commander_account_id
        _event(
            db,
            incident,
            "commander",
            actor=actor,
            data={"account_id": data.commander_account_id},
            at=now,
        )
    db.flush()
    return incident


def advance(
    db: Session,
    actor: Actor,
    incident_id: int,
    status: str,
    note: str = "",
    *,
    now: dt.datetime | None = None,
) -> Incident:
    """Move an incident forward in its lifecycle (closing needs :func:`close`)."""
    now = now or utc_now()
    incident = _managed(db, actor, incident_id)
    if status == "closed" or status not in NEXT or status not in NEXT[incident.status]:
        raise Conflict(_("An incident cannot move to this status from its current one."))
    before = incident.status
    incident.status = status
    if status == "on_scene":
        # Those who accepted are taken to be there with the incident.
        for offer in repository.offers_of(db, incident.id):
            responder = repository.get_responder(db, offer.responder_id)
            if offer.status == "accepted" and responder is not None:
                responder.status = "on_scene"
                responder.updated_at = now
    _event(
        db, incident, "status", actor=actor, text=note, data={"from": before, "to": status}, at=now
    )
    db.flush()
    return incident


def close(
    db: Session,
    actor: Actor,
    incident_id: int,
    after_action: str,
    *,
    now: dt.datetime | None = None,
) -> Incident:
    """Close an incident with its after-action report; offers still held are released."""
    now = now or utc_now()
    incident = _managed(db, actor, incident_id)
    if "closed" not in NEXT[incident.status]:
        raise Conflict(_("An incident cannot move to this status from its current one."))
    if not after_action.strip():
        raise ValidationFailed(_("Write a short after-action report to close the incident."))
    before = incident.status
    incident.status = "closed"
    incident.closed_at = now
    incident.after_action = after_action.strip()
    for offer in repository.offers_of(db, incident.id):
        if offer.status in ("offered", "accepted"):
            offer.status = "released"
            offer.answered_at = offer.answered_at or now
            responder = repository.get_responder(db, offer.responder_id)
            if responder is not None and responder.status in ("dispatched", "on_scene"):
                responder.status = "available"
                responder.updated_at = now
    _event(db, incident, "status", actor=actor, data={"from": before, "to": "closed"}, at=now)
    _event(db, incident, "after_action", actor=actor, text=incident.after_action, at=now)
    db.flush()
    linkage.share(db, incident, "Update", now)
    return incident


# --- creation from alarms and calls for help --------------------------------------------------


def _fold(
    db: Session,
    *,
    kind: str,
    severity: int,
    place_id: int,
    key_suffix: str,
    title: str,
    source: str,
    now: dt.datetime,
) -> tuple[Incident, bool]:
    """The open incident of this burst (same type and compound, within the window) or a new one."""
    scope, _community = _scope_path(db, place_id)
    key = f"{kind}{key_suffix}@{scope}"
    incident = repository.open_with_key(db, key, now - DEDUP_WINDOW)
    if incident is not None:
        if severity > incident.severity:
            incident.severity = severity
            linkage.share(db, incident, "Update", now)
        return incident, False
    place = place_service.get(db, place_id)
    incident = Incident(
        place_id=place.id,
        place_path=place.path,
        type=kind,
        severity=severity,
        title=title[:200],
        status="reported",
        source=source,
        dedup_key=key,
        created_at=now,
        updated_at=now,
    )
    incident.node = node_of_place(db, place.id)
    db.add(incident)
    db.flush()
    _event(db, incident, "reported", text=incident.title, data={"source": source}, at=now)
    if source != "checkin":
        # A call for help is shared once its answer is linked (from_help_answers).
        linkage.share(db, incident, "Alert", now)
    return incident, True


def from_alarms(db: Session, now: dt.datetime | None = None) -> list[Incident]:
    """Fold critical alarms not yet linked into incidents; the incidents opened now.

    An alarm joins the open incident of the same type in the same compound (or community)
    touched within :data:`DEDUP_WINDOW`; otherwise it opens one. A burst of forty alarms of one
    flood makes one incident with forty links.
    """
    now = now or utc_now()
    alarms = alarm_service.critical_raised_since(db, now - LOOKBACK)
    linked = repository.linked_alarms(db, (a.id for a in alarms))
    rules: dict[int, tuple[str, str]] = {}
    opened: list[Incident] = []
    for alarm in alarms:
        if alarm.id in linked:
            continue
        template, prop = "", ""
        if alarm.rule_id is not None:
            if alarm.rule_id not in rules:
                try:
                    rule = rule_service.get_record(db, alarm.rule_id)
                    rules[alarm.rule_id] = (rule.template, rule.property_key)
                except NotFound:
                    rules[alarm.rule_id] = ("", "")
            template, prop = rules[alarm.rule_id]
        kind = incident_type_for(template, prop or str(alarm.details.get("property", "")))
        incident, new = _fold(
            db,
            kind=kind,
            severity=ALARM_SEVERITY.get(kind, 3),
            place_id=alarm.place_id,
            key_suffix="",
            title=alarm.title,
            source="alarm",
            now=now,
        )
        if new:
            opened.append(incident)
        db.add(IncidentAlarm(incident_id=incident.id, alarm_id=alarm.id, linked_at=now))
        _event(db, incident, "alarm", text=alarm.title, data={"alarm_id": alarm.id}, at=now)
        db.flush()
    return opened


def from_help_answers(db: Session, now: dt.datetime | None = None) -> list[Incident]:
    """Fold "I need help" answers of emergency check-ins into incidents; those opened now.

    Answers of one check-in from one compound within :data:`DEDUP_WINDOW` share an incident.
    """
    now = now or utc_now()
    answers = notice_service.help_answers_since(db, now - LOOKBACK)
    linked = repository.linked_answers(db, (r.id for r, _b in answers))
    opened: list[Incident] = []
    for response, broadcast in answers:
        if response.id in linked:
            continue
        incident, new = _fold(
            db,
            kind="help_request",
            severity=3,
            place_id=response.place_id,
            key_suffix=f"#{broadcast.id}",
            title=broadcast.headline,
            source="checkin",
            now=now,
        )
        if new:
            opened.append(incident)
        db.add(IncidentHelpAnswer(incident_id=incident.id, response_id=response.id, linked_at=now))
        _event(
            db,
            incident,
            "help_request",
            text=response.note,
            data={
                "response_id": response.id,
                "broadcast_id": broadcast.id,
                "place_id": response.place_id,
            },
            at=now,
        )
        db.flush()
        linkage.share(db, incident, "Alert" if new else "Update", now)
    return opened


# --- responders and equipment -----------------------------------------------------------------


def register_responder(
    db: Session, actor: Actor, data: ResponderCreate, *, now: dt.datetime | None = None
) -> Responder:
    """Put an account on a community's responder register (staff of that place)."""
    now = now or utc_now()
    place = _managed_place(
        db, actor, data.place_id, _("You may not keep the responder register of this place.")
    )
    try:
        account_service.get_account(db, data.account_id)
    except NotFound as exc:
        raise ValidationFailed(_("No such account.")) from exc
    _check_node(_demo_site(), data.node)
    skills = sorted({s.strip().lower() for s in data.skills if s.strip()})
    responder = Responder(
        account_id=data.account_id,
        place_id=place.id,
        place_path=place.path,
        display_name=data.display_name,
        kind=data.kind,
        skills=skills,
        status="available" if data.on_shift else "off_duty",
        node=data.node,
        on_shift=data.on_shift,
        shift_start=data.shift_start,
        shift_end=data.shift_end,
        updated_at=now,
    )
    db.add(responder)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:
        raise Conflict(_("This account is already a responder of this place.")) from exc
    return responder


def list_responders(db: Session, actor: Actor) -> list[Responder]:
    """Responders at places the actor may see."""
    return repository.responders(db, permissions.visible_responders(actor))


def _responder_visible(db: Session, actor: Actor, responder_id: int) -> Responder:
    responder = repository.get_responder(db, responder_id)
    if responder is None or not (
        permissions.can_view(actor, responder.place_path)
        or responder.account_id == actor.account_id
    ):
        raise NotFound(_("No such responder."))
    return responder


def get_responder(db: Session, actor: Actor, responder_id: int) -> Responder:
    return _responder_visible(db, actor, responder_id)


def set_responder_status(
    db: Session,
    actor: Actor,
    responder_id: int,
    data: ResponderStatusIn,
    *,
    now: dt.datetime | None = None,
) -> Responder:
    """Staff of the place, or the responder themselves, change status, position or shift."""
    now = now or utc_now()
    responder = _responder_visible(db, actor, responder_id)
    if responder.account_id != actor.account_id and not permissions.can_manage(
        actor, responder.place_path
    ):
        raise PermissionDenied(_("You may not change this responder."))
    if data.node is not None:
        _check_node(_demo_site(), data.node)
        responder.node = data.node
    if data.shift_start is not None and data.shift_end is not None:
        # A new duty shift; the incident round puts them on or off duty by it from now on.
        responder.shift_start = data.shift_start
        responder.shift_end = data.shift_end
    if data.on_shift is not None:
        responder.on_shift = data.on_shift
        if not data.on_shift:
            responder.status = "off_duty"
        elif responder.status == "off_duty" and data.status is None:
            responder.status = "available"
    if data.status is not None:
        responder.status = data.status
        if data.status == "off_duty":
            responder.on_shift = False
        elif data.on_shift is None:
            responder.on_shift = True
    responder.updated_at = now
    _queue(
        db,
        {
            "responder_id": responder.id,
            "place_path": responder.place_path,
            "kind": "responder",
            "status": responder.status,
        },
    )
    db.flush()
    return responder


def add_equipment(
    db: Session, actor: Actor, data: EquipmentCreate, *, now: dt.datetime | None = None
) -> Equipment:
    """Register a piece of equipment kept at a place (staff of that place)."""
    now = now or utc_now()
    place = _managed_place(
        db, actor, data.place_id, _("You may not keep the equipment register of this place.")
    )
    _check_node(_demo_site(), data.node)
    item = Equipment(
        place_id=place.id,
        place_path=place.path,
        kind=data.kind,
        name=data.name,
        node=data.node,
        condition=data.condition,
        updated_at=now,
    )
    db.add(item)
    db.flush()
    return item


def list_equipment(db: Session, actor: Actor) -> list[Equipment]:
    return repository.equipment(db, permissions.visible_equipment(actor))


def get_equipment(db: Session, actor: Actor, equipment_id: int) -> Equipment:
    item = repository.get_equipment(db, equipment_id)
    if item is None or not permissions.can_view(actor, item.place_path):
        raise NotFound(_("No such equipment."))
    return item


def set_condition(
    db: Session, actor: Actor, equipment_id: int, condition: str, *, now: dt.datetime | None = None
) -> Equipment:
    item = get_equipment(db, actor, equipment_id)
    if not permissions.can_manage(actor, item.place_path):
        raise PermissionDenied(_("You may not keep the equipment register of this place."))
    item.condition = condition
    item.updated_at = now or utc_now()
    db.flush()
    return item


# --- dispatch ---------------------------------------------------------------------------------


def _as_planner_offer(offer: DispatchOffer) -> planner.Offer | None:
    if offer.status == "released":
        return None
    return planner.Offer(
        slot=planner.Slot(offer.incident_id, offer.skill, offer.slot_index),
        responder_id=offer.responder_id,
        offered_at=offer.offered_at,
        travel_s=offer.travel_s,
        status=planner.OfferStatus(offer.status),
        answered_at=offer.answered_at,
    )


def _plan_many(db: Session, incidents: list[Incident]) -> planner.Plan:
    """One optimal plan for the open slots of incidents of one community, from the registers.

    Planned together, simultaneous incidents compete for responders by severity and travel
    time (the planner's objective) instead of first come, first served.
    """
    site = _site(db, incidents[0])
    for incident in incidents:
        if incident.status == "closed":
            raise Conflict(_("This incident is closed."))
        if incident.node is None or incident.node not in site.graph:
            raise Conflict(_("Set the incident's point on the site plan before dispatching."))
    community = _community_path(db, incidents[0])
    responders = [
        planner.Responder(
            id=r.id,
            node=r.node,
            skills=frozenset(r.skills),
            status=planner.ResponderStatus(r.status),
            on_shift=r.on_shift,
        )
        for r in repository.responders_under(db, community)
        if r.node is not None and r.node in site.graph
    ]
    offers = [
        o
        for incident in incidents
        for o in map(_as_planner_offer, repository.offers_of(db, incident.id))
        if o
    ]
    aeds = [e.node for e in repository.aeds_under(db, community) if e.node in site.graph]
    targets = [
        planner.Incident(
            id=i.id,
            type=i.type,
            severity=i.severity,
            node=i.node or "",
            created=i.created_at,
        )
        for i in incidents
    ]
    return planner.plan_dispatch(
        site.graph,
        targets,
        responders,
        offers=offers,
        aed_nodes=[n for n in aeds if n is not None],
        response_plans=RESPONSE_PLANS,
    )


def _plan(db: Session, incident: Incident) -> planner.Plan:
    """The optimal plan for the open slots of one incident, from the stored registers."""
    return _plan_many(db, [incident])


def _plan_out(incident_id: int, plan: planner.Plan) -> PlanOut:
    aed = plan.aeds.get(incident_id)
    return PlanOut(
        incident_id=incident_id,
        assignments=[
            PlannedOut(
                responder_id=a.responder_id,
                skill=a.slot.skill,
                slot_index=a.slot.index,
                travel_s=a.travel_s,
                route=list(a.route),
            )
            for a in plan.for_incident(incident_id)
        ],
        unfilled=[(s.skill, s.index) for s in plan.unfilled if s.incident_id == incident_id],
        aed_node=aed.node if aed else None,
        aed_travel_s=aed.travel_s if aed else None,
    )


def recommend(db: Session, actor: Actor, incident_id: int) -> PlanOut:
    """Who would best be sent now, without sending anyone."""
    incident = _managed(db, actor, incident_id)
    return _plan_out(incident.id, _plan(db, incident))


def _send(
    db: Session, incident: Incident, plan: planner.Plan, *, actor: Actor | None, now: dt.datetime
) -> list[DispatchOffer]:
    sent: list[DispatchOffer] = []
    for a in plan.for_incident(incident.id):
        responder = repository.get_responder(db, a.responder_id)
        if responder is None:
            continue
        offer = DispatchOffer(
            incident_id=incident.id,
            responder_id=responder.id,
            skill=a.slot.skill,
            slot_index=a.slot.index,
            status="offered",
            travel_s=a.travel_s,
            offered_at=now,
        )
        db.add(offer)
        db.flush()
        responder.status = "dispatched"
        responder.updated_at = now
        _event(
            db,
            incident,
            "offered",
            actor=actor,
            text=responder.display_name,
            data={
                "offer_id": offer.id,
                "responder_id": responder.id,
                "skill": a.slot.skill,
                "travel_s": round(a.travel_s, 1),
            },
            at=now,
        )
        notification_service.notify(
            db,
            key=f"dispatch:{offer.id}",
            place_id=incident.place_id,
            place_path=incident.place_path,
            account_ids=[responder.account_id],
            category="incident",
            severity="critical",
            subject=incident.title,
            body=f"{incident.type} · {a.slot.skill}",
            data={"offer_id": offer.id, "incident_id": incident.id},
        )
        sent.append(offer)
    unfilled = [(s.skill, s.index) for s in plan.unfilled if s.incident_id == incident.id]
    if unfilled:
        _event(db, incident, "unfilled", data={"slots": [list(u) for u in unfilled]}, at=now)
    if sent and incident.status == "reported":
        incident.status = "dispatched"
        _event(
            db,
            incident,
            "status",
            actor=actor,
            data={"from": "reported", "to": "dispatched"},
            at=now,
        )
    db.flush()
    return sent


def dispatch(
    db: Session, actor: Actor, incident_id: int, *, now: dt.datetime | None = None
) -> list[DispatchOffer]:
    """Send the recommended offers: responders are marked dispatched and told on their phones."""
    now = now or utc_now()
    incident = _managed(db, actor, incident_id)
    return _send(db, incident, _plan(db, incident), actor=actor, now=now)


def _dispatch_together(
    db: Session, incidents: list[Incident], *, actor: Actor | None, now: dt.datetime
) -> list[DispatchOffer]:
    """Plan incidents community by community, each community's incidents together; send."""
    by_community: dict[str, list[Incident]] = {}
    site = None
    for incident in incidents:
        site = site or _site(db, incident)
        if incident.status == "closed" or incident.node not in site.graph:
            continue
        by_community.setdefault(_community_path(db, incident), []).append(incident)
    sent: list[DispatchOffer] = []
    for group in by_community.values():
        plan = _plan_many(db, group)
        for incident in group:
            sent.extend(_send(db, incident, plan, actor=actor, now=now))
    return sent


def dispatch_open(
    db: Session, actor: Actor, place_id: int, *, now: dt.datetime | None = None
) -> list[DispatchOffer]:
    """Plan every open incident of a community (with a point on the plan) together and send."""
    now = now or utc_now()
    place = _managed_place(db, actor, place_id, _("You may not run incidents at this place."))
    community = _scope_path(db, place.id)[1]
    found = [
        i
        for i in repository.incidents(db, permissions.visible_incidents(actor), open_only=True)
        if i.place_path.startswith(community) and i.node is not None
    ]
    return _dispatch_together(db, found, actor=actor, now=now)


def auto_dispatch(
    db: Session, incidents: list[Incident], now: dt.datetime | None = None
) -> list[DispatchOffer]:
    """Dispatch incidents opened by sensors at once: those with a point and a response plan.

    No one waits for staff to press a button while a pipe floods a basement; staff still see
    every offer on the board and can change the plan.
    """
    now = now or utc_now()
    ready = [
        i
        for i in incidents
        if i.node is not None and i.type in RESPONSE_PLANS and RESPONSE_PLANS[i.type].needs
    ]
    if not ready:
        return []
    return _dispatch_together(db, ready, actor=None, now=now)


def offers(db: Session, actor: Actor, incident_id: int) -> list[DispatchOffer]:
    """Every offer of an incident, oldest first."""
    return repository.offers_of(db, _visible(db, actor, incident_id).id)


def _redispatch(db: Session, incident: Incident, now: dt.datetime) -> list[DispatchOffer]:
    if incident.status == "closed" or incident.node is None:
        return []
    return _send(db, incident, _plan(db, incident), actor=None, now=now)


def answer(
    db: Session, actor: Actor, offer_id: int, accept: bool, *, now: dt.datetime | None = None
) -> DispatchOffer:
    """The responder accepts or declines their own pending offer; a decline re-dispatches."""
    now = now or utc_now()
    offer = repository.get_offer(db, offer_id)
    responder = repository.get_responder(db, offer.responder_id) if offer else None
    if offer is None or responder is None or responder.account_id != actor.account_id:
        raise NotFound(_("No such dispatch offer."))
    if offer.status != "offered":
        raise Conflict(_("This offer has already been answered."))
    incident = repository.get(db, offer.incident_id)
    if incident is None:
        raise NotFound(_("No such incident."))
    offer.status = "accepted" if accept else "declined"
    offer.answered_at = now
    responder.updated_at = now
    data = {"offer_id": offer.id, "responder_id": responder.id, "skill": offer.skill}
    if accept:
        _event(
            db, incident, "accepted", actor=actor, text=responder.display_name, data=data, at=now
        )
    else:
        responder.status = "available"
        _event(
            db, incident, "declined", actor=actor, text=responder.display_name, data=data, at=now
        )
        db.flush()
        _redispatch(db, incident, now)
    db.flush()
    return offer


def expire_offers(
    db: Session, now: dt.datetime | None = None, timeout_min: int = OFFER_TIMEOUT_MIN
) -> int:
    """Time out offers unanswered for ``timeout_min`` minutes and re-dispatch their slots.

    The silent responder is not offered that incident again (the planner never re-offers an
    incident to someone who declined or let it time out). Returns how many offers timed out.
    """
    now = now or utc_now()
    due = repository.pending_before(db, now - dt.timedelta(minutes=timeout_min))
    touched: dict[int, Incident] = {}
    for offer in due:
        incident = repository.get(db, offer.incident_id)
        responder = repository.get_responder(db, offer.responder_id)
        offer.status = "timed_out"
        offer.answered_at = now
        if responder is not None and responder.status == "dispatched":
            responder.status = "available"
            responder.updated_at = now
        if incident is not None:
            _event(
                db,
                incident,
                "timed_out",
                text=responder.display_name if responder else "",
                data={
                    "offer_id": offer.id,
                    "responder_id": offer.responder_id,
                    "skill": offer.skill,
                },
                at=now,
            )
            touched[incident.id] = incident
    db.flush()
    for incident in touched.values():
        _redispatch(db, incident, now)
    return len(due)


def responder_offers(db: Session, actor: Actor) -> list[DispatchOffer]:
    """The caller's own pending offers (the phone page lists these)."""
    out: list[DispatchOffer] = []
    for responder in repository.responders_of_account(db, actor.account_id or 0):
        out.extend(
            o for o in repository.offers_of_responder(db, responder.id) if o.status == "offered"
        )
    return out
