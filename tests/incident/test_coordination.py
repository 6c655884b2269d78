"""Sensor incidents get their point on the site plan and their responders at once; open
incidents of a community are planned together; the demo's simulated responders walk."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.errors import PermissionDenied
from linli.incident import demo, paths, service, tasks
from linli.incident.models import DispatchOffer, Incident, Responder, SitePoint
from linli.incident.schemas import IncidentCreate
from linli.place import service as place_service
from linli.simulate.signals import BURST_GAUGE, FaultRates, Simulator
from tests.conftest import World, bearer
from tests.incident.conftest import START, actor_of, alarm_rule, raise_alarm, register

SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _point(db: Session, world: World, place: str, node: str) -> None:
    pid = world.places[place]
    path = place_service.get(db, pid).path
    db.add(SitePoint(place_id=pid, place_path=path, node=node))
    db.flush()


def _offers(db: Session, incident_id: int) -> list[DispatchOffer]:
    query = select(DispatchOffer).where(DispatchOffer.incident_id == incident_id)
    return list(db.scalars(query.order_by(DispatchOffer.id)))


def test_a_sensor_incident_is_placed_and_dispatched_in_the_same_round(
    app: FastAPI, db: Session, world: World, clock: time_machine.Traveller
) -> None:
    # The compound stands at a junction; the unit under building 1 has no point of its own.
    _point(db, world, "c1-b1", "building:building-2")
    near = register(db, world, "plumber1", ["plumbing"], "building:building-3")
    far = register(db, world, "plumber2", ["plumbing"], "j-4-5")
    farther = register(db, world, "plumber3", ["plumbing"], "gate:east-gate")
    medic = register(db, world, "medic1", ["first_aid"], "building:building-2")
    rule = alarm_rule(db, world, "pipe_burst", "pressure")
    for _ in range(5):
        raise_alarm(db, world, rule, "c1-b1u1")
    db.commit()

    assert tasks.run_once(app.state.sessionmaker, now=START) == (1, 0)
    db.expire_all()
    incident = db.scalars(select(Incident)).one()
    assert incident.type == "pipe_burst"
    assert incident.node == "building:building-2"  # the nearest point above the unit
    assert incident.status == "dispatched"
    offers = _offers(db, incident.id)
    site = service._demo_site()
    chosen = sorted(o.responder_id for o in offers)
    # Two plumbing slots, the two plumbers with the shortest travel; never the medic.
    times = {
        rid: paths.travel_time(site.graph, node, "building:building-2")
        for rid, node in (
            (near, "building:building-3"),
            (far, "j-4-5"),
            (farther, "gate:east-gate"),
        )
    }
    expected = sorted(sorted(times, key=lambda r: times[r])[:2])
    assert chosen == expected
    assert medic not in chosen
    for offer in offers:
        assert offer.skill == "plumbing"
        assert offer.travel_s == pytest.approx(times[offer.responder_id])


@SQLITE
def test_open_incidents_of_a_community_are_planned_together(db: Session, world: World) -> None:
    staff = actor_of(db, world, "staff1")
    a = register(db, world, "medic1", ["first_aid"], "building:building-1")
    b = register(db, world, "medic2", ["first_aid"], "building:building-6")
    fall = service.create(
        db,
        staff,
        IncidentCreate(
            place_id=world.places["c1-b1"],
            type="fall",
            title="fall",
            severity=2,
            node="building:building-1",
        ),
        now=START,
    )
    cardiac = service.create(
        db,
        staff,
        IncidentCreate(
            place_id=world.places["c1-b1"],
            type="cardiac",
            title="cardiac",
            severity=4,
            node="building:building-12",
        ),
        now=START,
    )
    # One by one, the fall (opened first) would take the medic next door; planned together,
    # both first aiders go to the cardiac arrest, which is more severe.
    sent = service.dispatch_open(db, staff, world.places["c1"], now=START)
    assert {(o.incident_id, o.responder_id) for o in sent} == {(cardiac.id, a), (cardiac.id, b)}
    assert _offers(db, fall.id) == []
    # Staff of another community may not plan c1's incidents.
    with pytest.raises(PermissionDenied):
        service.dispatch_open(db, actor_of(db, world, "staff2"), world.places["c1"], now=START)


@SQLITE
def test_simulated_responders_accept_walk_and_arrive(db: Session, world: World) -> None:
    staff = actor_of(db, world, "staff1")
    incident = service.create(
        db,
        staff,
        IncidentCreate(
            place_id=world.places["c1-b1"],
            type="fall",
            title="fall",
            node="building:building-1",
        ),
        now=START,
    )
    rid = register(db, world, "volunteer.c1.zheng", ["first_aid"], "building:building-5")
    offer = service.dispatch(db, staff, incident.id, now=START)[0]
    assert offer.responder_id == rid

    assert demo.step(db, START + dt.timedelta(seconds=5)) == 0  # not yet: they read first
    assert demo.step(db, START + dt.timedelta(seconds=25)) == 1
    assert offer.status == "accepted"
    route = paths.route(service._demo_site().graph, "building:building-5", "building:building-1")
    responder = db.get(Responder, rid)
    assert responder is not None
    walked = [responder.node]
    # Too soon after accepting: nobody walks a 40 m path in 2 seconds.
    demo.step(db, START + dt.timedelta(seconds=27))
    assert responder.node == route[0]
    for i in range(len(route) + 2):
        demo.step(db, START + dt.timedelta(seconds=30 + 60 * (i + 1)))
        if walked[-1] != responder.node:
            walked.append(responder.node)
    assert walked == route  # one junction per step along the fastest route
    assert responder.status == "on_scene"
    assert incident.status == "on_scene"
    kinds = [e.kind for e in service.get(db, staff, incident.id).timeline]
    assert "arrived" in kinds
    # Someone who is not a simulated responder is never moved by the demo.
    human = register(db, world, "medic9", ["first_aid"], "building:building-2")
    other = service.create(
        db,
        staff,
        IncidentCreate(
            place_id=world.places["c1-b1"], type="fall", title="x", node="building:building-3"
        ),
        now=START,
    )
    service.dispatch(db, staff, other.id, now=START)
    demo.step(db, START + dt.timedelta(minutes=2))
    assert _offers(db, other.id)[0].responder_id == human
    assert _offers(db, other.id)[0].status == "offered"


def test_the_simulated_burst_drops_only_the_first_gauge_during_the_live_run() -> None:
    devices = [(BURST_GAUGE, "pipe_pressure"), ("demo-c1-PP02", "pipe_pressure")]
    quiet = FaultRates(stuck=0, gap=0, spike=0, malformed=0)
    sim = Simulator(devices, faults=quiet)

    def pressure(uid: str, t: float) -> float:
        message = sim.next_message(uid, int(t * 1000), sim_s=t)
        assert message is not None
        import orjson

        return float(orjson.loads(message.body)["values"]["pressure"])

    t0 = 1_780_000_000.0
    # Before the live run (the backfilled past) there is no burst.
    assert pressure(BURST_GAUGE, t0 + 600) > 230
    sim.live_start = t0
    before = pressure(BURST_GAUGE, t0 + 60)
    during = pressure(BURST_GAUGE, t0 + quiet.burst_after_s + 60)
    other = pressure("demo-c1-PP02", t0 + quiet.burst_after_s + 60)
    after = pressure(BURST_GAUGE, t0 + quiet.burst_after_s + quiet.burst_s + 60)
    assert before - during > 80
    assert other > 230
    assert after > 230


@SQLITE
def test_dispatch_all_over_http(client: TestClient, db: Session, world: World) -> None:
    register(db, world, "medic1", ["first_aid"], "building:building-1")
    db.commit()
    staff = bearer(world, "staff1")
    body = {
        "place_id": world.places["c1-b1"],
        "type": "fall",
        "title": "fall",
        "node": "building:building-2",
    }
    incident = client.post("/api/v1/incidents", json=body, headers=staff).json()
    r = client.post(
        "/api/v1/incident-dispatches", json={"place_id": world.places["c1"]}, headers=staff
    )
    assert r.status_code == 200, r.text
    assert [o["incident_id"] for o in r.json()] == [incident["id"]]
    # Nothing left to plan: a second call sends nobody.
    again = client.post(
        "/api/v1/incident-dispatches", json={"place_id": world.places["c1"]}, headers=staff
    )
    assert again.json() == []
    refused = client.post(
        "/api/v1/incident-dispatches",
        json={"place_id": world.places["c1"]},
        headers=bearer(world, "staff2"),
    )
    assert refused.status_code == 403
    bad = client.post("/api/v1/incident-dispatches", json={"place_id": 0}, headers=staff)
    assert bad.status_code == 422


@SQLITE
def test_a_problem_report_becomes_an_incident_once(
    client: TestClient, db: Session, world: World
) -> None:
    from tests.case.conftest import file_case

    _point(db, world, "c1-b1", "building:building-1")
    db.commit()
    case = file_case(db, world, text="地下室水管爆了，水一直在涨", place="c1-b1u1")
    staff = bearer(world, "staff1")
    url = f"/api/v1/incidents/from-case/{case.id}"
    body = {"type": "pipe_burst", "severity": 3}
    # The reporter and another community's staff see the (public) report but do not run
    # incidents there.
    assert client.post(url, json=body, headers=bearer(world, "alice")).status_code == 403
    assert client.post(url, json=body, headers=bearer(world, "staff2")).status_code == 403
    bad = client.post(url, json={"type": "volcano"}, headers=staff)
    assert bad.status_code == 422
    r = client.post(url, json=body, headers=staff)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["source"] == "report"
    assert made["type"] == "pipe_burst"
    assert made["node"] == "building:building-1"  # the unit's building's point
    assert "水管爆了" in made["description"]
    again = client.post(url, json=body, headers=staff)
    assert again.status_code == 409
    # The report's handlers see where it went.
    detail = client.get(f"/api/v1/cases/{case.id}", headers=staff).json()
    assert any(f"#{made['id']}" in (e.get("text") or "") for e in detail["timeline"])
    events = client.get(f"/api/v1/incidents/{made['id']}", headers=staff).json()["timeline"]
    assert events[0]["data"]["case_id"] == case.id


@SQLITE
def test_a_shift_given_over_the_api_applies_at_once(
    client: TestClient, db: Session, world: World, clock: time_machine.Traveller
) -> None:
    from tests.incident.conftest import responder_account

    account_id = responder_account(db, world, "nightguard")
    db.commit()
    staff = bearer(world, "staff1")
    body = {
        "account_id": account_id,
        "place_id": world.places["c1"],
        "display_name": "Night guard",
        "skills": ["security"],
        "node": "gate:south-gate",
        "shift_start": "20:00",
        "shift_end": "08:00",
    }
    r = client.post("/api/v1/responders", json=body, headers=staff)
    assert r.status_code == 201, r.text
    made = r.json()
    # 10:00 in Shanghai: outside a 20:00–08:00 shift.
    assert (made["shift_start"], made["shift_end"]) == ("20:00", "08:00")
    assert made["status"] == "off_duty"
    assert made["on_shift"] is False
    day = client.post(
        f"/api/v1/responders/{made['id']}/status",
        json={"shift_start": "08:00", "shift_end": "20:00"},
        headers=staff,
    )
    assert day.status_code == 200, day.text
    assert (day.json()["status"], day.json()["on_shift"]) == ("available", True)
    half = client.post(
        f"/api/v1/responders/{made['id']}/status", json={"shift_start": "08:00"}, headers=staff
    )
    assert half.status_code == 422


@SQLITE
def test_staff_open_an_incident_from_the_report_page(
    client: TestClient, db: Session, world: World
) -> None:
    from tests.case.conftest import file_case
    from tests.conftest import csrf_of, login

    case = file_case(db, world, text="3号楼楼道冒烟，有焦味", place="c1-b1")
    login(client, "staff1")
    console = client.get(f"/console/cases/{case.id}")
    assert f'href="/console/incidents/from-case/{case.id}"' in console.text
    form = client.get(f"/console/incidents/from-case/{case.id}")
    assert form.status_code == 200
    assert "楼道冒烟" in form.text
    token = csrf_of(form.text)
    url = f"/console/incidents/from-case/{case.id}"
    bad = client.post(url, data={"type": "", "severity": "3", "csrf_token": token})
    assert bad.status_code == 422
    assert db.scalars(select(Incident)).all() == []
    ok = client.post(
        url,
        data={"type": "fire", "severity": "4", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text
    db.expire_all()
    [made] = db.scalars(select(Incident)).all()
    assert ok.headers["location"] == f"/console/incidents/{made.id}?done=created"
    assert (made.type, made.severity, made.source) == ("fire", 4, "report")
    again = client.post(url, data={"type": "fire", "severity": "4", "csrf_token": token})
    assert again.status_code == 409
    # A resident cannot reach the form.
    other = TestClient(client.app)
    login(other, "alice")
    assert other.get(url).status_code == 403
