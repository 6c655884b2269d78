"""Police and city linkage: an incident's facts handed to the sharing domain, which sends each
registered recipient a CAP 1.2 message with only the fields it is allowed (docs/sharing.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.errors import NotFound
from linli.incident import repository
from linli.incident.models import Incident, IncidentHelpAnswer
from linli.notice import service as notice_service
from linli.place import service as place_service
from linli.resident import service as resident_service
from linli.sharing import service as sharing_service

# How far before a help answer was linked it may have been given (the incident round's window).
ANSWER_LOOKBACK = dt.timedelta(hours=24)


def _position(db: Session, incident: Incident) -> tuple[str, float | None, float | None]:
    """The place's label and the incident's coordinates, or the nearest known above it."""
    place = place_service.get(db, incident.place_id)
    label = place_service.label(db, place, from_kind="community")
    if incident.lat is not None and incident.lon is not None:
        return label, incident.lat, incident.lon
    for candidate in reversed(place_service.ancestors(db, place)):
        if candidate.latitude is not None and candidate.longitude is not None:
            return label, candidate.latitude, candidate.longitude
    return label, None, None


def _contacts(db: Session, incident_id: int) -> tuple[int, tuple[tuple[int, str, str], ...]]:
    """(number of help answers, (resident id, name, room) of those who asked for help)."""
    links = list(
        db.execute(
            select(IncidentHelpAnswer.response_id, IncidentHelpAnswer.linked_at).where(
                IncidentHelpAnswer.incident_id == incident_id
            )
        )
    )
    if not links:
        return 0, ()
    wanted = {response_id for response_id, _at in links}
    since = min(at for _id, at in links) - ANSWER_LOOKBACK
    residents: list[int] = []
    for response, _broadcast in notice_service.help_answers_since(db, since):
        if response.id in wanted and response.resident_id not in residents:
            residents.append(response.resident_id)
    contacts: list[tuple[int, str, str]] = []
    for rid in residents:
        try:
            record = resident_service.get_record(db, rid)
            name = resident_service.display_name(db, rid, masked=False)
            room = ""
            if record.household_id is not None:
                household = resident_service.get_household_record(db, record.household_id)
                place = place_service.get(db, household.place_id)
                room = f"{place_service.label(db, place)} {household.room}".strip()
        except NotFound:
            continue
        contacts.append((rid, name, room))
    return len(links), tuple(contacts)


def facts_of(db: Session, incident: Incident) -> sharing_service.IncidentFacts:
    """What may be said about an incident, before the registry filters it per recipient."""
    area, lat, lon = _position(db, incident)
    accepted = sum(1 for o in repository.offers_of(db, incident.id) if o.status == "accepted")
    help_count, contacts = _contacts(db, incident.id)
    return sharing_service.IncidentFacts(
        incident_id=incident.id,
        place_id=incident.place_id,
        place_path=incident.place_path,
        type=incident.type,
        severity=incident.severity,
        status=incident.status,
        title=incident.title,
        description=incident.description,
        area=area,
        latitude=lat,
        longitude=lon,
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        responders=accepted,
        help_requests=help_count,
        contacts=contacts,
    )


def share(
    db: Session, incident: Incident, msg_type: Literal["Alert", "Update"], now: dt.datetime
) -> list[int]:
    """Tell the registered recipients about an incident; the disclosure ids made."""
    db.flush()
    # Most places have no recipient: then no names, counts or positions are read at all.
    if not sharing_service.has_recipients_for(db, incident.place_path):
        return []
    return sharing_service.share_incident(db, facts_of(db, incident), msg_type=msg_type, now=now)
