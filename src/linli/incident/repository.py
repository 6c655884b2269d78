"""Every query of the incident domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from linli.incident.models import (
    DispatchOffer,
    Equipment,
    EvacuationNeed,
    Incident,
    IncidentAlarm,
    IncidentBroadcast,
    IncidentEvent,
    IncidentHelpAnswer,
    Responder,
    SitePoint,
)


def get(db: Session, incident_id: int) -> Incident | None:
    return db.get(Incident, incident_id)


def incidents(db: Session, where: ColumnElement[bool], *, open_only: bool) -> list[Incident]:
    query = select(Incident).where(where)
    if open_only:
        query = query.where(Incident.status != "closed")
    return list(db.scalars(query.order_by(Incident.severity.desc(), Incident.created_at)))


def open_with_key(db: Session, dedup_key: str, since: dt.datetime) -> Incident | None:
    """The newest open incident of a dedup key touched at or after ``since``."""
    query = (
        select(Incident)
        .where(
            Incident.dedup_key == dedup_key,
            Incident.status != "closed",
            Incident.updated_at >= since,
        )
        .order_by(Incident.updated_at.desc(), Incident.id.desc())
        .limit(1)
    )
    return db.scalars(query).first()


def timeline(db: Session, incident_id: int) -> list[IncidentEvent]:
    query = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
    return list(db.scalars(query.order_by(IncidentEvent.at, IncidentEvent.id)))


def alarm_ids(db: Session, incident_id: int) -> list[int]:
    query = select(IncidentAlarm.alarm_id).where(IncidentAlarm.incident_id == incident_id)
    return list(db.scalars(query.order_by(IncidentAlarm.alarm_id)))


def linked_alarms(db: Session, alarm_ids: Iterable[int]) -> set[int]:
    ids = list(alarm_ids)
    if not ids:
        return set()
    return set(db.scalars(select(IncidentAlarm.alarm_id).where(IncidentAlarm.alarm_id.in_(ids))))


def linked_answers(db: Session, response_ids: Iterable[int]) -> set[int]:
    ids = list(response_ids)
    if not ids:
        return set()
    query = select(IncidentHelpAnswer.response_id).where(IncidentHelpAnswer.response_id.in_(ids))
    return set(db.scalars(query))


def get_responder(db: Session, responder_id: int) -> Responder | None:
    return db.get(Responder, responder_id)


def responders(db: Session, where: ColumnElement[bool]) -> list[Responder]:
    return list(db.scalars(select(Responder).where(where).order_by(Responder.id)))


def responders_under(db: Session, community_path: str) -> list[Responder]:
    """Responders registered anywhere in a community."""
    query = select(Responder).where(
        Responder.place_path.startswith(community_path, autoescape=True)
    )
    return list(db.scalars(query.order_by(Responder.id)))


def responder_of(db: Session, account_id: int, place_id: int) -> Responder | None:
    query = select(Responder).where(
        Responder.account_id == account_id, Responder.place_id == place_id
    )
    return db.scalars(query).first()


def get_equipment(db: Session, equipment_id: int) -> Equipment | None:
    return db.get(Equipment, equipment_id)


def equipment(db: Session, where: ColumnElement[bool]) -> list[Equipment]:
    return list(db.scalars(select(Equipment).where(where).order_by(Equipment.id)))


def aeds_under(db: Session, community_path: str) -> list[Equipment]:
    """Ready AEDs with a site-plan node kept anywhere in a community."""
    query = select(Equipment).where(
        Equipment.kind == "aed",
        Equipment.condition == "ready",
        Equipment.node.is_not(None),
        Equipment.place_path.startswith(community_path, autoescape=True),
    )
    return list(db.scalars(query.order_by(Equipment.id)))


def get_offer(db: Session, offer_id: int) -> DispatchOffer | None:
    return db.get(DispatchOffer, offer_id)


def offers_of(db: Session, incident_id: int) -> list[DispatchOffer]:
    query = select(DispatchOffer).where(DispatchOffer.incident_id == incident_id)
    return list(db.scalars(query.order_by(DispatchOffer.offered_at, DispatchOffer.id)))


def pending_before(db: Session, cutoff: dt.datetime) -> list[DispatchOffer]:
    """Offers still unanswered that were sent at or before ``cutoff``."""
    query = select(DispatchOffer).where(
        DispatchOffer.status == "offered", DispatchOffer.offered_at <= cutoff
    )
    return list(db.scalars(query.order_by(DispatchOffer.offered_at, DispatchOffer.id)))


def responders_of_account(db: Session, account_id: int) -> list[Responder]:
    query = select(Responder).where(Responder.account_id == account_id)
    return list(db.scalars(query.order_by(Responder.id)))


def offers_of_responder(db: Session, responder_id: int) -> list[DispatchOffer]:
    query = select(DispatchOffer).where(DispatchOffer.responder_id == responder_id)
    return list(db.scalars(query.order_by(DispatchOffer.offered_at, DispatchOffer.id)))


def site_nodes(db: Session, place_ids: Iterable[int]) -> dict[int, str]:
    """Place id → its point on the site plan, for those of ``place_ids`` that have one."""
    ids = list(place_ids)
    if not ids:
        return {}
    query = select(SitePoint.place_id, SitePoint.node).where(SitePoint.place_id.in_(ids))
    return {row[0]: row[1] for row in db.execute(query)}


# --- reads for the live board and the incident page -------------------------------------------


def offers_of_incidents(db: Session, incident_ids: Iterable[int]) -> list[DispatchOffer]:
    """Every offer of these incidents, oldest first."""
    ids = list(incident_ids)
    if not ids:
        return []
    query = select(DispatchOffer).where(DispatchOffer.incident_id.in_(ids))
    return list(db.scalars(query.order_by(DispatchOffer.offered_at, DispatchOffer.id)))


def broadcasts_of(db: Session, incident_ids: Iterable[int]) -> list[IncidentBroadcast]:
    """The emergency broadcasts sent because of these incidents, oldest first."""
    ids = list(incident_ids)
    if not ids:
        return []
    query = select(IncidentBroadcast).where(IncidentBroadcast.incident_id.in_(ids))
    return list(db.scalars(query.order_by(IncidentBroadcast.id)))


def site_points_under(db: Session, paths: Iterable[str]) -> list[SitePoint]:
    """Where the places at or under these paths stand on the site plan."""
    prefixes = sorted(set(paths))
    if not prefixes:
        return []
    query = select(SitePoint).where(
        or_(*(SitePoint.place_path.startswith(p, autoescape=True) for p in prefixes))
    )
    return list(db.scalars(query.order_by(SitePoint.place_path)))


# --- site points, warnings and evacuation needs (incident.warnings) ---------------------------


def site_point(db: Session, place_id: int) -> SitePoint | None:
    return db.scalars(select(SitePoint).where(SitePoint.place_id == place_id)).first()


def evacuation_need(db: Session, resident_id: int) -> EvacuationNeed | None:
    query = select(EvacuationNeed).where(EvacuationNeed.resident_id == resident_id)
    return db.scalars(query).first()


def evacuation_needs_of(db: Session, resident_ids: Iterable[int]) -> list[EvacuationNeed]:
    ids = list(resident_ids)
    if not ids:
        return []
    query = select(EvacuationNeed).where(EvacuationNeed.resident_id.in_(ids))
    return list(db.scalars(query.order_by(EvacuationNeed.resident_id)))


# --- shifts and the responder's phone page (incident.shifts, incident.responder_pages) --------


def responders_with_shift(db: Session) -> list[Responder]:
    """Responders given a daily shift (both times set)."""
    query = select(Responder).where(
        Responder.shift_start.is_not(None), Responder.shift_end.is_not(None)
    )
    return list(db.scalars(query.order_by(Responder.id)))


def live_offers_of_account(db: Session, account_id: int) -> list[DispatchOffer]:
    """The pending and accepted offers of an account's responders on incidents still open."""
    query = (
        select(DispatchOffer)
        .join(Responder, Responder.id == DispatchOffer.responder_id)
        .join(Incident, Incident.id == DispatchOffer.incident_id)
        .where(
            Responder.account_id == account_id,
            DispatchOffer.status.in_(("offered", "accepted")),
            Incident.status != "closed",
        )
    )
    return list(db.scalars(query.order_by(DispatchOffer.offered_at, DispatchOffer.id)))
