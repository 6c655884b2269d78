"""Incident service: alarm bursts fold into one incident, lifecycle and timeline, dispatch."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.incident import service, tasks
from linli.incident.models import DispatchOffer, IncidentAlarm, Responder
from linli.incident.schemas import EquipmentCreate, IncidentCreate, IncidentUpdate
from linli.notice import service as notice_service
from linli.notice.schemas import BroadcastCreate
from tests.conftest import World
from tests.incident.conftest import (
    START,
    actor_of,
    alarm_rule,
    raise_alarm,
    register,
    responder_account,
)

SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _open(db: Session, world: World, kind: str, node: str, severity: int = 3) -> int:
    staff = actor_of(db, world, "staff1")
    data = IncidentCreate(
        place_id=world.places["c1-b1"], type=kind, title=kind, severity=severity, node=node
    )
    return service.create(db, staff, data, now=START).id


def _offers(db: Session, incident_id: int) -> list[DispatchOffer]:
    query = select(DispatchOffer).where(DispatchOffer.incident_id == incident_id)
    return list(db.scalars(query.order_by(DispatchOffer.id)))


def _status(db: Session, responder_id: int) -> str:
    responder = db.get(Responder, responder_id)
    assert responder is not None
    return responder.status


def test_alarm_types_follow_the_rule_template_and_property() -> None:
    assert service.incident_type_for("water_level", "water_level") == "flooding"
    assert service.incident_type_for("pipe_pressure", "pressure") == "pipe_burst"
    assert service.incident_type_for("smoke", "smoke") == "fire"
    assert service.incident_type_for("", "co") == "gas_leak"
    assert service.incident_type_for("gas_leak", "") == "gas_leak"
    assert service.incident_type_for("fall_detect", "fall") == "fall"
    assert service.incident_type_for("combination", "noise") == "other"


def test_a_burst_of_forty_critical_alarms_makes_one_incident(
    app: FastAPI, db: Session, world: World, clock: time_machine.Traveller
) -> None:
    rule = alarm_rule(db, world, "water_level", "water_level")
    ids = [raise_alarm(db, world, rule, "c1-b1" if i % 2 else "c1-b1u1") for i in range(40)]
    raise_alarm(db, world, rule, "c1-b1", severity="major")  # not critical: no incident
    other = raise_alarm(db, world, rule, "c2-b1")  # another community: its own incident
    db.commit()

    opened = tasks.run_once(app.state.sessionmaker, now=START)
    assert opened == (2, 0)
    links = db.scalars(select(IncidentAlarm).order_by(IncidentAlarm.alarm_id)).all()
    by_incident: dict[int, list[int]] = {}
    for link in links:
        by_incident.setdefault(link.incident_id, []).append(link.alarm_id)
    assert sorted(len(v) for v in by_incident.values()) == [1, 40]
    burst = next(k for k, v in by_incident.items() if len(v) == 40)
    assert sorted(by_incident[burst]) == sorted(ids)
    assert [k for k, v in by_incident.items() if v == [other]]
    detail = service.get(db, actor_of(db, world, "staff1"), burst)
    assert detail.type == "flooding"
    assert detail.status == "reported"
    assert detail.source == "alarm"
    assert [e.kind for e in detail.timeline].count("alarm") == 40

    # A later alarm of the same burst joins; nothing is linked twice.
    clock.move_to(START + dt.timedelta(minutes=10))
    late = raise_alarm(db, world, rule, "c1-b1")
    assert service.from_alarms(db, START + dt.timedelta(minutes=10)) == []
    assert late in service.get(db, actor_of(db, world, "staff1"), burst).alarm_ids
    assert len(db.scalars(select(IncidentAlarm)).all()) == 42
    # After the window a new alarm of the same kind opens a new incident.
    clock.move_to(START + dt.timedelta(minutes=50))
    raise_alarm(db, world, rule, "c1-b1")
    assert len(service.from_alarms(db, START + dt.timedelta(minutes=50))) == 1


@SQLITE
def test_need_help_answers_of_one_check_in_share_an_incident(
    db: Session, world: World, clock: time_machine.Traveller
) -> None:
    staff = actor_of(db, world, "staff1")
    broadcast = notice_service.start_broadcast(
        db, staff, BroadcastCreate(place_id=world.places["c1"], headline="暴雨积水")
    )
    for name in ("alice", "bob"):
        notice_service.answer(db, actor_of(db, world, name), broadcast.id, "need_help", "被困")
    opened = service.from_help_answers(db, START)
    assert len(opened) == 1
    detail = service.get(db, staff, opened[0].id)
    assert detail.type == "help_request"
    assert detail.source == "checkin"
    assert [e.kind for e in detail.timeline].count("help_request") == 2
    assert service.from_help_answers(db, START) == []


@SQLITE
def test_lifecycle_checks_and_timeline(db: Session, world: World) -> None:
    staff = actor_of(db, world, "staff1")
    incident_id = _open(db, world, "fire", "building:building-1")
    with pytest.raises(PermissionDenied):
        service.create(
            db,
            actor_of(db, world, "alice"),
            IncidentCreate(place_id=world.places["c1-b1"], type="fire", title="x"),
        )
    with pytest.raises(NotFound):
        service.get(db, actor_of(db, world, "staff2"), incident_id)
    with pytest.raises(ValidationFailed):
        _open(db, world, "volcano", "building:building-1")

    later = START + dt.timedelta(minutes=5)
    service.advance(db, staff, incident_id, "on_scene", "到场", now=later)
    with pytest.raises(Conflict) as bad:
        service.advance(db, staff, incident_id, "dispatched")
    assert bad.value.status_code == 409
    service.update(
        db,
        staff,
        incident_id,
        IncidentUpdate(commander_account_id=world.accounts["admin1"]),
        now=later,
    )
    with pytest.raises(ValidationFailed):
        service.update(
            db, staff, incident_id, IncidentUpdate(commander_account_id=world.accounts["alice"])
        )
    service.advance(db, staff, incident_id, "contained", now=later)
    with pytest.raises(ValidationFailed):
        service.close(db, staff, incident_id, "   ")
    service.close(db, staff, incident_id, "起火原因：电动车充电。", now=later)
    with pytest.raises(Conflict):
        service.advance(db, staff, incident_id, "contained")
    with pytest.raises(Conflict):
        service.close(db, staff, incident_id, "again")

    detail = service.get(db, staff, incident_id)
    assert detail.status == "closed"
    assert detail.closed_at == later
    assert detail.commander_account_id == world.accounts["admin1"]
    assert detail.after_action == "起火原因：电动车充电。"
    kinds = [e.kind for e in detail.timeline]
    assert kinds == ["reported", "status", "commander", "status", "status", "after_action"]
    assert [e.data.get("to") for e in detail.timeline if e.kind == "status"] == [
        "on_scene",
        "contained",
        "closed",
    ]


def test_dispatch_respects_skills_availability_and_community(db: Session, world: World) -> None:
    staff = actor_of(db, world, "staff1")
    near = register(db, world, "aid1", ["first_aid"], "building:building-2")
    far = register(db, world, "aid2", ["first_aid"], "building:building-12")
    off = register(db, world, "aid3", ["first_aid"], "building:building-1", on_shift=False)
    busy = register(db, world, "aid4", ["first_aid"], "building:building-1")
    plumber = register(db, world, "plumb1", ["plumbing"], "building:building-1")
    elsewhere = register(db, world, "aid5", ["first_aid"], "building:building-1", community="c2")
    service.set_responder_status(
        db,
        staff,
        busy,
        service.ResponderStatusIn(status="on_scene"),
    )
    service.add_equipment(
        db,
        staff,
        EquipmentCreate(
            place_id=world.places["c1"], kind="aed", name="AED", node="duty_room:duty-room"
        ),
    )
    incident_id = _open(db, world, "cardiac", "building:building-1", severity=4)

    plan = service.recommend(db, staff, incident_id)
    assert {a.responder_id for a in plan.assignments} == {near, far}
    assert plan.aed_node == "duty_room:duty-room"
    assert plan.unfilled == []
    with pytest.raises(PermissionDenied):
        service.recommend(db, actor_of(db, world, "aid1"), incident_id)

    sent = service.dispatch(db, staff, incident_id, now=START)
    assert {o.responder_id for o in sent} == {near, far}
    assert {o.skill for o in sent} == {"first_aid"}
    assert _status(db, near) == _status(db, far) == "dispatched"
    assert _status(db, off) == "off_duty"
    assert _status(db, plumber) == "available"
    assert _status(db, elsewhere) == "available"
    assert _status(db, busy) == "on_scene"
    detail = service.get(db, staff, incident_id)
    assert detail.status == "dispatched"
    assert [e.kind for e in detail.timeline].count("offered") == 2
    # Dispatching again sends no one: both slots are held.
    assert service.dispatch(db, staff, incident_id, now=START) == []


@SQLITE
def test_a_decline_re_dispatches_and_never_re_offers_the_decliner(
    db: Session, world: World
) -> None:
    p1 = register(db, world, "plumber1", ["plumbing"], "building:building-1")
    p2 = register(db, world, "plumber2", ["plumbing"], "building:building-2")
    p3 = register(db, world, "plumber3", ["plumbing"], "building:building-12")
    incident_id = _open(db, world, "pipe_burst", "building:building-1")
    sent = service.dispatch(db, actor_of(db, world, "staff1"), incident_id, now=START)
    assert {o.responder_id for o in sent} == {p1, p2}
    first = next(o for o in sent if o.responder_id == p1)

    at = START + dt.timedelta(minutes=1)
    service.answer(db, actor_of(db, world, "plumber1"), first.id, accept=False, now=at)
    assert _status(db, p1) == "available"
    offers = _offers(db, incident_id)
    assert [(o.responder_id, o.status) for o in offers] == [
        (p1, "declined"),
        (p2, "offered"),
        (p3, "offered"),
    ]
    second = next(o for o in offers if o.responder_id == p2)
    service.answer(db, actor_of(db, world, "plumber2"), second.id, accept=True, now=at)
    third = next(o for o in offers if o.responder_id == p3)
    service.answer(db, actor_of(db, world, "plumber3"), third.id, accept=False, now=at)
    # Only p1 is free, and p1 declined this incident: the slot stays open.
    assert [o.status for o in _offers(db, incident_id)] == ["declined", "accepted", "declined"]
    kinds = [e.kind for e in service.get(db, actor_of(db, world, "staff1"), incident_id).timeline]
    assert kinds.count("declined") == 2
    assert kinds.count("accepted") == 1
    assert kinds[-1] == "unfilled"

    with pytest.raises(Conflict):
        service.answer(db, actor_of(db, world, "plumber2"), second.id, accept=True, now=at)


def test_a_timeout_re_dispatches_the_slot(db: Session, world: World) -> None:
    quick = register(db, world, "aider1", ["first_aid"], "building:building-1")
    spare = register(db, world, "aider2", ["first_aid"], "building:building-12")
    incident_id = _open(db, world, "fall", "building:building-1")
    (offer,) = service.dispatch(db, actor_of(db, world, "staff1"), incident_id, now=START)
    assert offer.responder_id == quick

    assert service.expire_offers(db, START + dt.timedelta(minutes=2, seconds=59), 3) == 0
    assert service.expire_offers(db, START + dt.timedelta(minutes=3), 3) == 1
    offers = _offers(db, incident_id)
    assert [(o.responder_id, o.status) for o in offers] == [
        (quick, "timed_out"),
        (spare, "offered"),
    ]
    assert _status(db, quick) == "available"
    assert _status(db, spare) == "dispatched"
    kinds = [e.kind for e in service.get(db, actor_of(db, world, "staff1"), incident_id).timeline]
    assert "timed_out" in kinds
    assert kinds[-1] == "offered"

    # The spare times out too: the first is not asked again, the slot stays open.
    assert service.expire_offers(db, START + dt.timedelta(minutes=6), 3) == 1
    assert [o.status for o in _offers(db, incident_id)] == ["timed_out", "timed_out"]


@SQLITE
def test_a_responder_answers_only_their_own_offer(db: Session, world: World) -> None:
    register(db, world, "mine", ["first_aid"], "building:building-1")
    responder_account(db, world, "stranger")
    incident_id = _open(db, world, "fall", "building:building-1")
    (offer,) = service.dispatch(db, actor_of(db, world, "staff1"), incident_id, now=START)
    for name in ("stranger", "staff1", "alice"):
        with pytest.raises(NotFound):
            service.answer(db, actor_of(db, world, name), offer.id, accept=True)
    assert service.answer(db, actor_of(db, world, "mine"), offer.id, accept=True).status == (
        "accepted"
    )
    staff = actor_of(db, world, "staff1")
    service.advance(db, staff, incident_id, "on_scene")
    assert _status(db, offer.responder_id) == "on_scene"
    # Closing releases the held offer and frees the responder.
    service.close(db, staff, incident_id, "已处理")
    assert _offers(db, incident_id)[0].status == "released"
    assert _status(db, offer.responder_id) == "available"
