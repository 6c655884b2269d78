"""JSON API of site points, warnings to residents, the evacuation-needs register and the
door-to-door list (docs/warnings.md)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from linli.incident import warnings
from linli.incident.warnings import (
    DoorToDoor,
    NeedOut,
    NeedsIn,
    SitePointIn,
    SitePointOut,
    WarnIn,
    WarningOut,
)
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId, QueryId

router = APIRouter(prefix="/api/v1", tags=["incidents"], dependencies=[CsrfChecked])


@router.get("/site-points", response_model=list[SitePointOut])
def list_site_points(db: Db, actor: LoggedIn, place_id: QueryId = None) -> list[SitePointOut]:
    """Where places stand on the site plan, at or under ``place_id`` (default: every place
    where the caller sees incidents)."""
    return warnings.list_site_points(db, actor, place_id)


@router.put("/site-points/{place_id}", response_model=SitePointOut)
def set_site_point(db: Db, actor: LoggedIn, place_id: PathId, body: SitePointIn) -> SitePointOut:
    """Put a building or a compound's centre on a node of the site plan (staff of the place)."""
    point = warnings.set_site_point(db, actor, place_id, body.node)
    db.commit()
    found = [p for p in warnings.list_site_points(db, actor, place_id) if p.place_id == place_id]
    return (
        found[0] if found else SitePointOut(place_id=place_id, label="", kind="", node=point.node)
    )


@router.post("/incidents/{incident_id}/warnings", response_model=list[WarningOut], status_code=201)
def warn(db: Db, actor: LoggedIn, incident_id: PathId, body: WarnIn) -> list[WarningOut]:
    """Send an emergency broadcast to the places chosen or the buildings within a radius."""
    sent = set(warnings.warn(db, actor, incident_id, body))
    db.commit()
    return [w for w in warnings.warning_status(db, actor, incident_id) if w.broadcast_id in sent]


@router.get("/incidents/{incident_id}/warnings", response_model=list[WarningOut])
def warning_status(db: Db, actor: LoggedIn, incident_id: PathId) -> list[WarningOut]:
    """The broadcasts sent for the incident, with the counts of answers."""
    return warnings.warning_status(db, actor, incident_id)


@router.get("/incidents/{incident_id}/door-to-door", response_model=DoorToDoor)
def door_to_door(db: Db, actor: LoggedIn, incident_id: PathId) -> DoorToDoor:
    """Who needs help to leave in the area warned, with their answers (audited)."""
    out = warnings.door_to_door(db, actor, incident_id)
    db.commit()
    return out


@router.get("/evacuation-needs", response_model=list[NeedOut])
def evacuation_register(db: Db, actor: LoggedIn, place_id: QueryId = None) -> list[NeedOut]:
    """The evacuation-needs register of the caller's places (audited)."""
    out = warnings.evacuation_register(db, actor, place_id)
    db.commit()
    return out


@router.put("/evacuation-needs/{resident_id}", status_code=204)
def set_needs(db: Db, actor: LoggedIn, resident_id: PathId, body: NeedsIn) -> Response:
    """Record a resident's needs (an empty list clears them); audited."""
    warnings.set_needs(db, actor, resident_id, body)
    db.commit()
    return Response(status_code=204)


@router.delete("/evacuation-needs/{resident_id}", status_code=204)
def clear_needs(db: Db, actor: LoggedIn, resident_id: PathId) -> Response:
    """Remove a resident from the register; audited."""
    warnings.clear_needs(db, actor, resident_id)
    db.commit()
    return Response(status_code=204)
