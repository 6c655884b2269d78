"""Warning residents from an incident: where places stand on the site plan, emergency
broadcasts to the buildings or the radius affected, the evacuation-needs register and the
door-to-door list of residents who need help to leave (docs/warnings.md).

The broadcasts are the notice domain's emergency check-ins (``notice_service.start_broadcast``):
residents answer "I am safe" or "I need help" there. This module links them to the incident and
reads their answers back. The register and the door-to-door list hold health and age data:
every read and change is written to the audit log, and only the roles that visit residents see
them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from linli.audit import service as audit_service
from linli.core.actor import Actor, Grant
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import N_, _
from linli.core.time import utc_now
from linli.core.validation import Id, MultilineText, PlainText
from linli.incident import permissions, repository
from linli.incident import service as incident_service
from linli.incident.models import NEEDS, EvacuationNeed, Incident, IncidentBroadcast, SitePoint
from linli.incident.paths import Site
from linli.notice import service as notice_service
from linli.notice.schemas import BroadcastCreate, CapCategory, Severity
from linli.place import service as place_service
from linli.privacy import consent
from linli.resident import service as resident_service

# Those who knock on doors: they see the door-to-door list of an incident at their places.
EVACUATION_ROLES = frozenset({"community_staff", "community_admin", "grid_worker", "responder"})
# Those who keep the evacuation-needs register of the residents of their places.
REGISTER_ROLES = frozenset({"community_staff", "community_admin", "grid_worker"})
# "Elderly living alone" is derived for residents of this age or older alone in their household.
ELDERLY_AGE = 70
MAX_RADIUS_M = 5000.0

NEED_LABELS = {
    "elderly_alone": N_("Elderly, living alone"),
    "disability": N_("Disability"),
    "mobility": N_("Cannot walk far or use stairs"),
    "sight": N_("Blind or poor sight"),
    "hearing": N_("Deaf or hard of hearing"),
    "other": N_("Other need"),
}
# What residents are told to do when staff leave the instruction empty, by incident type.
INSTRUCTIONS = {
    "fire": N_(
        "A fire has been reported near you. Leave the building by the stairs, do not use the "
        "lift, and go to the assembly point. Answer whether you are safe or need help."
    ),
    "gas_leak": N_(
        "A gas leak has been reported near you. Do not light flames or use electrical switches, "
        "open windows if it is safe, and leave the building. Answer whether you are safe or "
        "need help."
    ),
    "flooding": N_(
        "Water is rising near you. Keep away from basements, garages and electrical equipment "
        "and go to a higher floor. Answer whether you are safe or need help."
    ),
    "pipe_burst": N_(
        "A water pipe has burst near you. Keep away from flooded areas and basements; the water "
        "may be cut off for a while. Answer whether you are safe or need help."
    ),
    "power_outage": N_(
        "The power is off in your area. Do not use the lift, use a torch rather than candles, "
        "and answer whether you are safe or need help."
    ),
    "intrusion": N_(
        "There is a security incident near you. Stay indoors and lock your door. Answer "
        "whether you are safe or need help."
    ),
    "lift_entrapment": N_(
        "A lift is out of service because of an incident. Use the stairs. Answer whether you "
        "are safe or need help."
    ),
}
DEFAULT_INSTRUCTION = N_(
    "There is an emergency near you. Follow the instructions of the community staff and answer "
    "whether you are safe or need help."
)
# The CAP category of the broadcast by incident type (CAP 1.2 <category>).
CAP_CATEGORIES: dict[str, CapCategory] = {
    "fire": "Fire",
    "gas_leak": "Safety",
    "flooding": "Infra",
    "pipe_burst": "Infra",
    "power_outage": "Infra",
    "intrusion": "Security",
    "lift_entrapment": "Rescue",
    "cardiac": "Rescue",
    "fall": "Rescue",
    "medical": "Rescue",
    "help_request": "Rescue",
}
CAP_SEVERITY: dict[int, Severity] = {1: "Minor", 2: "Moderate", 3: "Severe", 4: "Extreme"}
# Door-to-door order: those who asked for help, then those not heard from, the safe last.
ANSWER_ORDER = {"need_help": 0, "no_answer": 1, "not_asked": 1, "safe": 2}

NeedKind = Literal["elderly_alone", "disability", "mobility", "sight", "hearing", "other"]
Node = PlainText


# --- schemas ----------------------------------------------------------------------------------


class SitePointIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    node: Node = Field(min_length=1, max_length=64)


class SitePointOut(BaseModel):
    place_id: int
    label: str
    kind: str
    node: str


class WarnIn(BaseModel):
    """Warn the residents of chosen places, or of the buildings within a radius of the
    incident; the instruction is prefilled from the incident's type when left empty."""

    model_config = ConfigDict(str_strip_whitespace=True)

    place_ids: list[Id] = Field(default_factory=list, max_length=200)
    radius_m: float | None = Field(default=None, gt=0, le=MAX_RADIUS_M)
    headline: PlainText = Field(min_length=1, max_length=160)
    instruction: MultilineText = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_target(self) -> WarnIn:
        if bool(self.place_ids) == (self.radius_m is not None):
            raise ValueError("give either place_ids or radius_m")
        return self


class WarningOut(BaseModel):
    broadcast_id: int
    place_id: int
    place_label: str
    target: str
    radius_m: float | None
    headline: str
    status: str
    sent_at: dt.datetime
    safe: int
    need_help: int
    no_answer: int
    total: int


class NeedsIn(BaseModel):
    """A resident's needs; an empty list clears the register entry."""

    model_config = ConfigDict(str_strip_whitespace=True)

    needs: list[NeedKind] = Field(default_factory=list, max_length=len(NEEDS))
    note: MultilineText = Field(default="", max_length=500)


class NeedOut(BaseModel):
    resident_id: int
    name: str
    place_id: int
    address: str
    room: str
    needs: list[str]
    note: str
    # True when the resident is listed only because they are elderly and live alone.
    derived: bool
    updated_at: dt.datetime | None


class DoorRow(BaseModel):
    resident_id: int
    name: str
    address: str
    room: str
    needs: list[str]
    note: str
    derived: bool
    # need_help, no_answer, safe, or not_asked (no broadcast reached them).
    answer: str
    answered_at: dt.datetime | None
    answer_note: str


class DoorToDoor(BaseModel):
    incident_id: int
    title: str
    areas: list[str]
    warned: bool
    rows: list[DoorRow]


# --- helpers ----------------------------------------------------------------------------------


def _site_plan(db: Session, community_path: str) -> Site:
    """The community's site plan: the demo one for every community, as the incident service
    does (``service._site``), until communities have stored plans."""
    return incident_service._demo_site()


def _community(db: Session, place_id: int) -> tuple[int, str]:
    """(id, path) of the community a place belongs to (the place itself when none)."""
    place = place_service.get(db, place_id)
    community = place_service.community_of(db, place) or place
    return community.id, community.path


def _community_path(db: Session, place_id: int) -> str:
    return _community(db, place_id)[1]


def _reader(place_id: int, place_path: str) -> Actor:
    """A trusted reader of the broadcasts under one place, used only after this module has
    checked the caller: responders see the answers on the door-to-door list, though they do
    not run check-ins."""
    grant = Grant(role="community_staff", place_id=place_id, place_path=place_path)
    return Actor(account_id=None, username="system", via="system", grants=(grant,))


def _incident(db: Session, actor: Actor, incident_id: int) -> Incident:
    return incident_service._visible(db, actor, incident_id)


def _managed_incident(db: Session, actor: Actor, incident_id: int) -> Incident:
    return incident_service._managed(db, actor, incident_id)


def _labels(db: Session, place_ids: Iterable[int]) -> dict[int, str]:
    places = place_service.by_ids(db, sorted(set(place_ids)))
    return {pid: place_service.label(db, p, from_kind="compound") for pid, p in places.items()}


def _age(birth_year: int | None, today: dt.date) -> int | None:
    return None if birth_year is None else today.year - birth_year


def _elderly_alone(dweller: resident_service.Dweller, today: dt.date) -> bool:
    age = _age(dweller.birth_year, today)
    return age is not None and age >= ELDERLY_AGE and dweller.household_size == 1


# --- site points ------------------------------------------------------------------------------


def set_site_point(db: Session, actor: Actor, place_id: int, node: str) -> SitePoint:
    """Put a place (a building, a compound's centre) on a node of the site plan (staff)."""
    try:
        place = place_service.get(db, place_id)
    except NotFound as exc:
        raise NotFound(_("No such place.")) from exc
    if not permissions.can_manage(actor, place.path):
        if permissions.can_view(actor, place.path):
            raise PermissionDenied(_("You may not change the site plan of this place."))
        raise NotFound(_("No such place."))
    if node not in _site_plan(db, _community_path(db, place.id)).graph:
        raise ValidationFailed(_("This point is not on the site plan."))
    point = repository.site_point(db, place.id)
    if point is None:
        point = SitePoint(place_id=place.id, place_path=place.path, node=node)
        db.add(point)
    point.node = node
    point.place_path = place.path
    point.updated_at = utc_now()
    db.flush()
    return point


def node_of_place(db: Session, place_id: int) -> str | None:
    """The place's own site-plan node, else that of its nearest ancestor that has one."""
    return incident_service.node_of_place(db, place_id)


def site_points_under(db: Session, path: str) -> dict[int, str]:
    """Place id → node of every place at or under ``path`` that has its own site point."""
    return {p.place_id: p.node for p in repository.site_points_under(db, [path])}


def places_within(db: Session, community_path: str, node: str, radius_m: float) -> list[int]:
    """Ids of the buildings of a community whose point stands within ``radius_m`` metres
    (straight line on the site plan) of ``node``, nearest first."""
    graph = _site_plan(db, community_path).graph
    if node not in graph:
        return []
    ox, oy = float(graph.nodes[node]["x"]), float(graph.nodes[node]["y"])
    points = [p for p in repository.site_points_under(db, [community_path]) if p.node in graph]
    places = place_service.by_ids(db, [p.place_id for p in points])
    found: list[tuple[float, int]] = []
    for point in points:
        place = places.get(point.place_id)
        if place is None or place.kind != "building":
            continue
        x, y = float(graph.nodes[point.node]["x"]), float(graph.nodes[point.node]["y"])
        distance = math.hypot(x - ox, y - oy)
        if distance <= radius_m:
            found.append((distance, point.place_id))
    return [pid for _d, pid in sorted(found)]


def list_site_points(db: Session, actor: Actor, place_id: int | None = None) -> list[SitePointOut]:
    """Site points at or under a place (or under every place the actor sees incidents of)."""
    if place_id is not None:
        try:
            place = place_service.get(db, place_id)
        except NotFound as exc:
            raise NotFound(_("No such place.")) from exc
        if not permissions.can_view(actor, place.path):
            raise NotFound(_("No such place."))
        paths = [place.path]
    else:
        paths = actor.paths_for(permissions.VIEW_ROLES)
    points: dict[int, SitePoint] = {}
    for path in paths:
        points.update({p.place_id: p for p in repository.site_points_under(db, [path])})
    places = place_service.by_ids(db, sorted(points))
    return [
        SitePointOut(
            place_id=pid,
            label=place_service.label(db, places[pid], from_kind="compound"),
            kind=places[pid].kind,
            node=points[pid].node,
        )
        for pid in sorted(points)
        if pid in places
    ]


# --- warnings ---------------------------------------------------------------------------------


def default_instruction(incident_type: str) -> str:
    """What residents are told to do for an incident of this type (current language)."""
    return _(INSTRUCTIONS.get(incident_type, DEFAULT_INSTRUCTION))


def _outermost(db: Session, place_ids: list[int], community_path: str) -> list[tuple[int, str]]:
    """(id, path) of the chosen places inside the community, leaving out those under another
    chosen place (their residents are asked once)."""
    chosen: list[tuple[int, str]] = []
    for pid in dict.fromkeys(place_ids):
        try:
            place = place_service.get(db, pid)
        except NotFound as exc:
            raise ValidationFailed(_("Choose one of the places in the list.")) from exc
        if not place.path.startswith(community_path):
            raise ValidationFailed(_("This place is outside the incident's community."))
        chosen.append((place.id, place.path))
    return [
        (pid, path)
        for pid, path in chosen
        if not any(path != other and path.startswith(other) for _o, other in chosen)
    ]


def warn(db: Session, actor: Actor, incident_id: int, data: WarnIn) -> list[int]:
    """Start an emergency broadcast per place affected by an open incident; returns their ids.

    The places are those chosen, or the buildings whose site point stands within
    ``data.radius_m`` metres of the incident's point (its own node, else its place's).
    """
    incident = _managed_incident(db, actor, incident_id)
    if incident.status == "closed":
        raise Conflict(_("This incident is closed."))
    community_path = _community_path(db, incident.place_id)
    if data.radius_m is not None:
        node = incident.node or node_of_place(db, incident.place_id)
        if node is None or node not in _site_plan(db, community_path).graph:
            raise Conflict(_("Set the incident's point on the site plan to warn by radius."))
        ids = places_within(db, community_path, node, data.radius_m)
        if not ids:
            raise Conflict(_("No building on the site plan stands within this radius."))
        targets = _outermost(db, ids, community_path)
        target = "radius"
    else:
        targets = _outermost(db, data.place_ids, community_path)
        target = "place"
    instruction = data.instruction or default_instruction(incident.type)
    now = utc_now()
    broadcast_ids: list[int] = []
    for place_id, _path in targets:
        broadcast = notice_service.start_broadcast(
            db,
            actor,
            BroadcastCreate(
                place_id=place_id,
                headline=data.headline,
                instruction=instruction,
                event=incident.title[:100],
                cap_category=CAP_CATEGORIES.get(incident.type, "Other"),
                severity=CAP_SEVERITY.get(incident.severity, "Severe"),
            ),
        )
        db.add(
            IncidentBroadcast(
                incident_id=incident.id,
                broadcast_id=broadcast.id,
                target=target,
                radius_m=data.radius_m,
                created_at=now,
            )
        )
        broadcast_ids.append(broadcast.id)
    incident_service._event(
        db,
        incident,
        "warned",
        actor=actor,
        text=data.headline,
        data={
            "broadcast_ids": broadcast_ids,
            "place_ids": [pid for pid, _p in targets],
            "target": target,
            "radius_m": data.radius_m,
        },
        at=now,
    )
    db.flush()
    return broadcast_ids


def warning_status(db: Session, actor: Actor, incident_id: int) -> list[WarningOut]:
    """Each broadcast sent for the incident with the counts of answers (staff, responders)."""
    incident = _incident(db, actor, incident_id)
    links = repository.broadcasts_of(db, [incident.id])
    if not links:
        return []
    reader = _reader(*_community(db, incident.place_id))
    found: list[WarningOut] = []
    for link in links:
        try:
            broadcast = notice_service.get_broadcast(db, reader, link.broadcast_id)
        except NotFound:
            continue  # the broadcast's place has moved out of the community: not ours to show
        counts = notice_service.counts(db, reader, broadcast.id)
        found.append(
            WarningOut(
                broadcast_id=broadcast.id,
                place_id=broadcast.place_id,
                place_label=notice_service.place_label(db, broadcast.place_id),
                target=link.target,
                radius_m=link.radius_m,
                headline=broadcast.headline,
                status=broadcast.status,
                sent_at=broadcast.sent_at,
                safe=counts.safe,
                need_help=counts.need_help,
                no_answer=counts.no_answer,
                total=counts.total,
            )
        )
    return found


class WarnForm(BaseModel):
    """What the warning form needs: the incident, where it is and what may be ticked."""

    incident_id: int
    title: str
    type: str
    status: str
    # The incident's point on the site plan (its own, else its place's); None: no radius.
    node: str | None
    buildings: list[SitePointOut]
    instruction: str


def warn_form(db: Session, actor: Actor, incident_id: int) -> WarnForm:
    """The buildings of the incident's community on the site plan and the default texts
    (staff who run the incident)."""
    incident = _managed_incident(db, actor, incident_id)
    community_id, community_path = _community(db, incident.place_id)
    node = incident.node or node_of_place(db, incident.place_id)
    if node is not None and node not in _site_plan(db, community_path).graph:
        node = None
    return WarnForm(
        incident_id=incident.id,
        title=incident.title,
        type=incident.type,
        status=incident.status,
        node=node,
        buildings=[p for p in list_site_points(db, actor, community_id) if p.kind == "building"],
        instruction=default_instruction(incident.type),
    )


# --- the evacuation-needs register ------------------------------------------------------------


def _register_paths(db: Session, actor: Actor, place_id: int | None) -> list[str]:
    paths = actor.paths_for(REGISTER_ROLES)
    if not paths:
        raise PermissionDenied(_("You may not see the evacuation-needs register."))
    if place_id is None:
        return paths
    try:
        place = place_service.get(db, place_id)
    except NotFound as exc:
        raise NotFound(_("No such place.")) from exc
    if not actor.holds(REGISTER_ROLES, place.path):
        raise NotFound(_("No such place."))
    return [place.path]


def _flagged(
    db: Session, dwellers: list[resident_service.Dweller], today: dt.date
) -> list[tuple[resident_service.Dweller, EvacuationNeed | None, bool]]:
    """(dweller, register entry, derived elderly-alone) of those who need help to leave."""
    needs = {
        n.resident_id: n
        for n in repository.evacuation_needs_of(db, (d.resident_id for d in dwellers))
    }
    out = []
    for d in dwellers:
        entry = needs.get(d.resident_id)
        alone = _elderly_alone(d, today)
        if (entry is not None and entry.needs) or alone:
            out.append((d, entry, alone))
    return out


def _needs_of(entry: EvacuationNeed | None, alone: bool) -> list[str]:
    needs = list(entry.needs) if entry is not None else []
    if alone and "elderly_alone" not in needs:
        needs.insert(0, "elderly_alone")
    return [n for n in NEEDS if n in needs]


def evacuation_register(
    db: Session, actor: Actor, place_id: int | None = None, *, today: dt.date | None = None
) -> list[NeedOut]:
    """Residents of the actor's places (or of one of them) with evacuation needs, recorded or
    derived (70 or older and alone in their household). The read is audited."""
    today = today or utc_now().date()
    paths = _register_paths(db, actor, place_id)
    flagged = _flagged(db, resident_service.dwellers_under(db, paths), today)
    labels = _labels(db, (d.place_id for d, _e, _a in flagged))
    rows = [
        NeedOut(
            resident_id=d.resident_id,
            name=d.name,
            place_id=d.place_id,
            address=labels.get(d.place_id, ""),
            room=d.room,
            needs=_needs_of(entry, alone),
            note=entry.note if entry is not None else "",
            derived=entry is None or not entry.needs,
            updated_at=entry.updated_at if entry is not None else None,
        )
        for d, entry, alone in flagged
    ]
    rows.sort(key=lambda r: (r.address, r.room, r.resident_id))
    audit_service.record(
        db,
        actor=actor,
        action="evacuation.view",
        subject_type="evacuation_register",
        subject_id=place_id or "",
        place_id=place_id,
        detail={"shown": len(rows)},
    )
    return rows


def register_residents(
    db: Session, actor: Actor, place_id: int | None = None
) -> list[tuple[int, str]]:
    """(id, "address room · masked name") of the residents whose needs the actor may record."""
    dwellers = resident_service.dwellers_under(db, _register_paths(db, actor, place_id))
    labels = _labels(db, (d.place_id for d in dwellers))
    return [
        (d.resident_id, f"{labels.get(d.place_id, '')} {d.room} · {d.name}".strip())
        for d in sorted(dwellers, key=lambda d: (labels.get(d.place_id, ""), d.room, d.resident_id))
    ]


def _registered_resident(db: Session, actor: Actor, resident_id: int) -> tuple[int, str]:
    """(place id, place path) of a resident whose needs the actor may record."""
    try:
        record = resident_service.get_record(db, resident_id)
    except NotFound as exc:
        raise NotFound(_("No such resident.")) from exc
    path = resident_service.place_path_of(db, resident_id)
    if not actor.holds(REGISTER_ROLES, path):
        raise NotFound(_("No such resident."))
    return record.place_id, path


def set_needs(db: Session, actor: Actor, resident_id: int, data: NeedsIn) -> EvacuationNeed | None:
    """Record what help a resident needs to leave (staff of their place); no needs clears the
    entry. Audited as ``evacuation.set`` or ``evacuation.clear``."""
    if not data.needs:
        clear_needs(db, actor, resident_id)
        return None
    place_id, path = _registered_resident(db, actor, resident_id)
    # Disability and health data: only with the resident's separate consent (P7).
    consent.require(db, resident_id, "evacuation_needs")
    entry = repository.evacuation_need(db, resident_id)
    if entry is None:
        entry = EvacuationNeed(resident_id=resident_id)
        db.add(entry)
    entry.place_id = place_id
    entry.place_path = path
    entry.needs = [n for n in NEEDS if n in data.needs]
    entry.note = data.note
    entry.recorded_by_account_id = actor.account_id
    entry.updated_at = utc_now()
    audit_service.record(
        db,
        actor=actor,
        action="evacuation.set",
        subject_type="resident",
        subject_id=resident_id,
        subject_resident_id=resident_id,
        place_id=place_id,
        fields=["needs", "note"],
    )
    db.flush()
    return entry


def clear_needs(db: Session, actor: Actor, resident_id: int) -> None:
    """Remove a resident's register entry (staff of their place); audited."""
    place_id, _path = _registered_resident(db, actor, resident_id)
    entry = repository.evacuation_need(db, resident_id)
    if entry is not None:
        db.delete(entry)
    audit_service.record(
        db,
        actor=actor,
        action="evacuation.clear",
        subject_type="resident",
        subject_id=resident_id,
        subject_resident_id=resident_id,
        place_id=place_id,
        fields=["needs", "note"],
    )
    db.flush()


def _forget_needs(db: Session, actor: Actor, resident_id: int) -> int:
    """Withdrawn consent: delete the resident's entry in the evacuation-needs register."""
    entry = repository.evacuation_need(db, resident_id)
    if entry is None:
        return 0
    db.delete(entry)
    db.flush()
    return 1


consent.register_on_withdraw("evacuation_needs", _forget_needs)


# --- the door-to-door list --------------------------------------------------------------------


def may_see_door_to_door(actor: Actor, place_path: str) -> bool:
    """Whether the actor visits residents at this place (and so sees who needs help)."""
    return actor.holds(EVACUATION_ROLES, place_path)


def door_to_door(
    db: Session, actor: Actor, incident_id: int, *, today: dt.date | None = None
) -> DoorToDoor:
    """Residents under the places warned of an incident (or under its place if none was) who
    need help to leave, with their answers: need help and no answer first, safe last.

    Only :data:`EVACUATION_ROLES` over the incident's place see it; each view is audited with
    the incident and how many residents were shown.
    """
    today = today or utc_now().date()
    incident = repository.get(db, incident_id)
    if incident is None or not (
        permissions.can_view(actor, incident.place_path)
        or may_see_door_to_door(actor, incident.place_path)
    ):
        raise NotFound(_("No such incident."))
    if not may_see_door_to_door(actor, incident.place_path):
        audit_service.record(
            db,
            actor=actor,
            action="evacuation.door_to_door",
            outcome="denied",
            subject_type="incident",
            subject_id=incident.id,
            place_id=incident.place_id,
        )
        raise PermissionDenied(_("Only those who visit residents see the door-to-door list."))
    reader = _reader(*_community(db, incident.place_id))
    answers: dict[int, tuple[str, dt.datetime | None, str]] = {}
    area_ids: list[int] = []
    for link in repository.broadcasts_of(db, [incident.id]):
        try:
            board = notice_service.board(db, reader, link.broadcast_id)
        except NotFound:
            continue
        area_ids.append(board.broadcast.place_id)
        for row in [*board.to_visit, *board.safe]:
            known = answers.get(row.resident_id)
            # The latest answer wins; an answer beats silence in another broadcast.
            if (
                known is None
                or (known[1] is None and row.answered_at is not None)
                or (
                    row.answered_at is not None
                    and known[1] is not None
                    and row.answered_at > known[1]
                )
            ):
                answers[row.resident_id] = (row.status, row.answered_at, row.note)
    warned = bool(area_ids)
    if not warned:
        area_ids = [incident.place_id]
    areas = place_service.by_ids(db, area_ids)
    paths = sorted({p.path for p in areas.values()})
    flagged = _flagged(db, resident_service.dwellers_under(db, paths), today)
    labels = _labels(db, (d.place_id for d, _e, _a in flagged))
    rows = []
    for d, entry, alone in flagged:
        status, answered_at, answer_note = answers.get(d.resident_id, ("not_asked", None, ""))
        rows.append(
            DoorRow(
                resident_id=d.resident_id,
                name=d.name,
                address=labels.get(d.place_id, ""),
                room=d.room,
                needs=_needs_of(entry, alone),
                note=entry.note if entry is not None else "",
                derived=entry is None or not entry.needs,
                answer=status,
                answered_at=answered_at,
                answer_note=answer_note,
            )
        )
    rows.sort(key=lambda r: (ANSWER_ORDER.get(r.answer, 1), r.address, r.room, r.resident_id))
    audit_service.record(
        db,
        actor=actor,
        action="evacuation.door_to_door",
        subject_type="incident",
        subject_id=incident.id,
        place_id=incident.place_id,
        detail={"incident_id": incident.id, "shown": len(rows)},
    )
    return DoorToDoor(
        incident_id=incident.id,
        title=incident.title,
        areas=[place_service.label(db, areas[pid], from_kind="compound") for pid in sorted(areas)],
        warned=warned,
        rows=rows,
    )
