"""JSON API of incidents, responders and dispatch."""

from __future__ import annotations

from fastapi import APIRouter

from linli.incident import service, shifts
from linli.incident.schemas import (
    CloseIn,
    ConditionIn,
    DispatchAllIn,
    EquipmentCreate,
    EquipmentOut,
    FromCaseIn,
    IncidentCreate,
    IncidentDetail,
    IncidentOut,
    IncidentUpdate,
    OfferOut,
    PlanOut,
    ResponderCreate,
    ResponderOut,
    ResponderStatusIn,
    StepIn,
)
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1", tags=["incidents"], dependencies=[CsrfChecked])


@router.get("/incidents", response_model=list[IncidentOut])
def list_incidents(db: Db, actor: LoggedIn, include_closed: bool = False) -> list[IncidentOut]:
    """Incidents of the caller's places (staff and responders), most severe first."""
    return service.list_incidents(db, actor, open_only=not include_closed)


@router.post("/incidents", response_model=IncidentOut, status_code=201)
def create_incident(db: Db, actor: LoggedIn, body: IncidentCreate) -> IncidentOut:
    """Open an incident at a place the caller runs."""
    out = IncidentOut.model_validate(service.create(db, actor, body))
    db.commit()
    return out


@router.post("/incidents/from-case/{case_id}", response_model=IncidentOut, status_code=201)
def incident_from_case(db: Db, actor: LoggedIn, case_id: PathId, body: FromCaseIn) -> IncidentOut:
    """Open an incident from a resident's problem report (staff of its place; once per report)."""
    out = IncidentOut.model_validate(service.from_case(db, actor, case_id, body))
    db.commit()
    return out


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
def get_incident(db: Db, actor: LoggedIn, incident_id: PathId) -> IncidentDetail:
    """One incident with its timeline and linked alarms."""
    return service.get(db, actor, incident_id)


@router.patch("/incidents/{incident_id}", response_model=IncidentOut)
def update_incident(
    db: Db, actor: LoggedIn, incident_id: PathId, body: IncidentUpdate
) -> IncidentOut:
    """Change severity, site-plan point or commander."""
    out = IncidentOut.model_validate(service.update(db, actor, incident_id, body))
    db.commit()
    return out


@router.post("/incidents/{incident_id}/status", response_model=IncidentOut)
def advance_incident(db: Db, actor: LoggedIn, incident_id: PathId, body: StepIn) -> IncidentOut:
    """Move the incident forward: dispatched, on scene, contained (409 otherwise)."""
    out = IncidentOut.model_validate(
        service.advance(db, actor, incident_id, body.status, body.note)
    )
    db.commit()
    return out


@router.post("/incidents/{incident_id}/close", response_model=IncidentOut)
def close_incident(db: Db, actor: LoggedIn, incident_id: PathId, body: CloseIn) -> IncidentOut:
    """Close with the after-action report; offers still held are released."""
    out = IncidentOut.model_validate(service.close(db, actor, incident_id, body.after_action))
    db.commit()
    return out


@router.get("/incidents/{incident_id}/recommendation", response_model=PlanOut)
def recommend(db: Db, actor: LoggedIn, incident_id: PathId) -> PlanOut:
    """Who would best be sent now (nobody is told)."""
    return service.recommend(db, actor, incident_id)


@router.post("/incidents/{incident_id}/dispatch", response_model=list[OfferOut])
def dispatch(db: Db, actor: LoggedIn, incident_id: PathId) -> list[OfferOut]:
    """Send the recommended responders; each gets an offer to accept or decline."""
    out = [OfferOut.model_validate(o) for o in service.dispatch(db, actor, incident_id)]
    db.commit()
    return out


@router.post("/incident-dispatches", response_model=list[OfferOut])
def dispatch_all(db: Db, actor: LoggedIn, body: DispatchAllIn) -> list[OfferOut]:
    """Plan every open incident of the place's community together and send the offers."""
    out = [OfferOut.model_validate(o) for o in service.dispatch_open(db, actor, body.place_id)]
    db.commit()
    return out


@router.get("/incidents/{incident_id}/offers", response_model=list[OfferOut])
def incident_offers(db: Db, actor: LoggedIn, incident_id: PathId) -> list[OfferOut]:
    """Every dispatch offer of the incident, oldest first."""
    return [OfferOut.model_validate(o) for o in service.offers(db, actor, incident_id)]


@router.get("/responders", response_model=list[ResponderOut])
def list_responders(db: Db, actor: LoggedIn) -> list[ResponderOut]:
    """The responder register of the caller's places."""
    return [ResponderOut.model_validate(r) for r in service.list_responders(db, actor)]


@router.post("/responders", response_model=ResponderOut, status_code=201)
def register_responder(db: Db, actor: LoggedIn, body: ResponderCreate) -> ResponderOut:
    """Put an account on a community's responder register."""
    responder = service.register_responder(db, actor, body)
    if body.shift_start is not None and body.shift_end is not None:
        # On or off duty at once by the shift, not only from its next start or end.
        shifts.set_shift(db, actor, responder.id, body.shift_start, body.shift_end)
    out = ResponderOut.model_validate(responder)
    db.commit()
    return out


@router.get("/responders/{responder_id}", response_model=ResponderOut)
def get_responder(db: Db, actor: LoggedIn, responder_id: PathId) -> ResponderOut:
    return ResponderOut.model_validate(service.get_responder(db, actor, responder_id))


@router.post("/responders/{responder_id}/status", response_model=ResponderOut)
def set_responder_status(
    db: Db, actor: LoggedIn, responder_id: PathId, body: ResponderStatusIn
) -> ResponderOut:
    """Status, position or shift, by staff of the place or the responder themselves."""
    responder = service.set_responder_status(db, actor, responder_id, body)
    if body.shift_start is not None and body.shift_end is not None:
        shifts.set_shift(db, actor, responder.id, body.shift_start, body.shift_end)
    out = ResponderOut.model_validate(responder)
    db.commit()
    return out


@router.get("/equipment", response_model=list[EquipmentOut])
def list_equipment(db: Db, actor: LoggedIn) -> list[EquipmentOut]:
    return [EquipmentOut.model_validate(e) for e in service.list_equipment(db, actor)]


@router.post("/equipment", response_model=EquipmentOut, status_code=201)
def add_equipment(db: Db, actor: LoggedIn, body: EquipmentCreate) -> EquipmentOut:
    out = EquipmentOut.model_validate(service.add_equipment(db, actor, body))
    db.commit()
    return out


@router.get("/equipment/{equipment_id}", response_model=EquipmentOut)
def get_equipment(db: Db, actor: LoggedIn, equipment_id: PathId) -> EquipmentOut:
    return EquipmentOut.model_validate(service.get_equipment(db, actor, equipment_id))


@router.post("/equipment/{equipment_id}/condition", response_model=EquipmentOut)
def set_condition(db: Db, actor: LoggedIn, equipment_id: PathId, body: ConditionIn) -> EquipmentOut:
    out = EquipmentOut.model_validate(
        service.set_condition(db, actor, equipment_id, body.condition)
    )
    db.commit()
    return out


@router.get("/dispatch-offers", response_model=list[OfferOut])
def my_offers(db: Db, actor: LoggedIn) -> list[OfferOut]:
    """The caller's own pending offers."""
    return [OfferOut.model_validate(o) for o in service.responder_offers(db, actor)]


@router.post("/dispatch-offers/{offer_id}/accept", response_model=OfferOut)
def accept_offer(db: Db, actor: LoggedIn, offer_id: PathId) -> OfferOut:
    """The responder accepts their own offer."""
    out = OfferOut.model_validate(service.answer(db, actor, offer_id, accept=True))
    db.commit()
    return out


@router.post("/dispatch-offers/{offer_id}/decline", response_model=OfferOut)
def decline_offer(db: Db, actor: LoggedIn, offer_id: PathId) -> OfferOut:
    """The responder declines their own offer; the slot is offered to the next best."""
    out = OfferOut.model_validate(service.answer(db, actor, offer_id, accept=False))
    db.commit()
    return out
