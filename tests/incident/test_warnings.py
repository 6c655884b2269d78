"""Warning residents from an incident: site points, broadcasts by building or radius, answers,
the evacuation-needs register and the door-to-door list with its audit trail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.audit.models import AuditEvent
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import gettext as _
from linli.incident import service, warnings
from linli.incident.models import IncidentBroadcast, IncidentEvent
from linli.incident.schemas import IncidentCreate
from linli.incident.warnings import NeedsIn, WarnIn
from linli.notice import service as notice_service
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate
from linli.privacy import consent
from linli.resident import service as resident_service
from linli.resident.schemas import HouseholdCreate, ResidentCreate
from tests.conftest import PASSWORD, World, bearer
from tests.incident.conftest import actor_of, api_key, responder_account

SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
TODAY = dt.date(2026, 12, 4)


@dataclass
class Site:
    """Three buildings of c1 on the demo site plan and who lives in them."""

    b1: int
    b2: int
    b3: int
    # b2: 赵 is 76 and lives alone (derived); 钱 is 86 but lives with 钱二 (not flagged).
    zhao: int
    qian: int
    qian2: int
    # b3: 孙 is on the register (disability).
    sun: int


def _building(db: Session, world: World, key: str, name: str) -> int:
    data = PlaceCreate(parent_id=world.places["c1-compound"], kind="building", name=name, code=key)
    return place_service.create(db, None, data).id


def _resident(db: Session, household: int, name: str, born: int | None = None) -> int:
    data = ResidentCreate(
        household_id=household,
        name=name,
        relation="owner",
        date_of_birth=dt.date(born, 5, 1) if born else None,
    )
    return resident_service.create_resident(db, None, data).id


def _site(db: Session, world: World) -> Site:
    staff = actor_of(db, world, "staff1")
    b2 = _building(db, world, "t-c1-b2", "2号楼")
    b3 = _building(db, world, "t-c1-b3", "3号楼")
    h201 = resident_service.create_household(db, None, HouseholdCreate(place_id=b2, room="201"))
    h202 = resident_service.create_household(db, None, HouseholdCreate(place_id=b2, room="202"))
    h301 = resident_service.create_household(db, None, HouseholdCreate(place_id=b3, room="301"))
    site = Site(
        b1=world.places["c1-b1"],
        b2=b2,
        b3=b3,
        zhao=_resident(db, h201.id, "赵大爷", 1950),
        qian=_resident(db, h202.id, "钱奶奶", 1940),
        qian2=_resident(db, h202.id, "钱二", 1975),
        sun=_resident(db, h301.id, "孙先生", 1980),
    )
    # building-1 and building-2 are 40 m apart; building-6 is 56.6 m from building-1.
    warnings.set_site_point(db, staff, site.b1, "building:building-1")
    warnings.set_site_point(db, staff, b2, "building:building-2")
    warnings.set_site_point(db, staff, b3, "building:building-6")
    # Everyone here consented to the evacuation-needs register (a sensitive purpose, P7).
    residents = [*world.residents.values(), site.zhao, site.qian, site.qian2, site.sun]
    for rid in residents:
        consent.seed(db, rid, "evacuation_needs")
    warnings.set_needs(db, staff, site.sun, NeedsIn(needs=["disability"], note="轮椅"))
    db.commit()
    return site


def _incident(db: Session, world: World, place: str = "c1-b1", node: str | None = None) -> int:
    staff = actor_of(db, world, "staff1")
    data = IncidentCreate(place_id=world.places[place], type="fire", title="1号楼起火", node=node)
    incident = service.create(db, staff, data)
    db.commit()
    return incident.id


def _asked(db: Session, world: World, broadcast_ids: list[int]) -> set[int]:
    staff = actor_of(db, world, "staff1")
    found: set[int] = set()
    for bid in broadcast_ids:
        board = notice_service.board(db, staff, bid)
        found |= {r.resident_id for r in [*board.to_visit, *board.safe]}
    return found


def _audits(db: Session, action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db.scalars(query))


def _account(db: Session, world: World, username: str, role: str, place: str) -> None:
    account = account_service.create_account(
        db, None, AccountCreate(username=username, display_name=username, password=PASSWORD)
    )
    account_service.grant_role(
        db, None, account_id=account.id, role=role, place_id=world.places[place]
    )
    world.accounts[username] = account.id


# --- site points ------------------------------------------------------------------------------


def test_site_points_nearest_ancestor_and_radius(db: Session, world: World) -> None:
    site = _site(db, world)
    c1 = place_service.get(db, world.places["c1"]).path
    assert warnings.site_points_under(db, c1) == {
        site.b1: "building:building-1",
        site.b2: "building:building-2",
        site.b3: "building:building-6",
    }
    # A unit has no point of its own: its building's.
    assert warnings.node_of_place(db, world.places["c1-b1u1"]) == "building:building-1"
    assert warnings.node_of_place(db, world.places["c1-compound"]) is None
    assert warnings.places_within(db, c1, "building:building-1", 45) == [site.b1, site.b2]
    assert warnings.places_within(db, c1, "building:building-1", 60) == [
        site.b1,
        site.b2,
        site.b3,
    ]
    assert warnings.places_within(db, c1, "j-0-0", 20) == []
    # A compound's centre counts for its places, never as a building in a radius.
    staff = actor_of(db, world, "staff1")
    warnings.set_site_point(db, staff, world.places["c1-compound"], "j-1-1")
    assert warnings.node_of_place(db, world.places["c1-compound"]) == "j-1-1"
    assert site.b1 in warnings.places_within(db, c1, "j-1-1", 30)
    assert world.places["c1-compound"] not in warnings.places_within(db, c1, "j-1-1", 300)
    # Moving a point replaces it.
    warnings.set_site_point(db, staff, site.b3, "building:building-12")
    assert warnings.site_points_under(db, c1)[site.b3] == "building:building-12"
    with pytest.raises(ValidationFailed):
        warnings.set_site_point(db, staff, site.b3, "nowhere")
    with pytest.raises(NotFound):
        warnings.set_site_point(db, actor_of(db, world, "staff2"), site.b1, "j-0-0")
    with pytest.raises(NotFound):
        warnings.set_site_point(db, actor_of(db, world, "alice"), site.b1, "j-0-0")
    responder_account(db, world, "medic")
    with pytest.raises(PermissionDenied):
        warnings.set_site_point(db, actor_of(db, world, "medic"), site.b1, "j-0-0")


# --- warnings ---------------------------------------------------------------------------------


def test_warn_by_buildings_reaches_exactly_their_residents(db: Session, world: World) -> None:
    site = _site(db, world)
    incident_id = _incident(db, world, node="building:building-1")
    staff = actor_of(db, world, "staff1")
    # The compound and a building under it: the building's residents are asked once.
    sent = warnings.warn(
        db,
        staff,
        incident_id,
        WarnIn(place_ids=[site.b2, site.b3, site.b2], headline="1号楼起火", instruction=""),
    )
    db.commit()
    assert len(sent) == 2
    assert _asked(db, world, sent) == {site.zhao, site.qian, site.qian2, site.sun}
    links = list(db.scalars(select(IncidentBroadcast).order_by(IncidentBroadcast.id)))
    assert [(link.incident_id, link.broadcast_id, link.target) for link in links] == [
        (incident_id, sent[0], "place"),
        (incident_id, sent[1], "place"),
    ]
    events = list(
        db.scalars(
            select(IncidentEvent).where(IncidentEvent.kind == "warned").order_by(IncidentEvent.id)
        )
    )
    assert len(events) == 1
    assert events[0].data["broadcast_ids"] == sent
    assert events[0].text == "1号楼起火"
    assert events[0].actor_account_id == world.accounts["staff1"]
    # The instruction comes from the incident's type when left empty.
    broadcast = notice_service.get_broadcast(db, staff, sent[0])
    assert "楼梯" in broadcast.instruction  # the default language is Chinese
    assert broadcast.cap_category == "Fire"
    # A compound with one of its buildings: one broadcast, to the compound.
    again = warnings.warn(
        db,
        staff,
        incident_id,
        WarnIn(place_ids=[site.b1, world.places["c1-compound"]], headline="扩大范围"),
    )
    assert len(again) == 1
    assert notice_service.get_broadcast(db, staff, again[0]).place_id == world.places["c1-compound"]


def test_warn_by_radius_and_answers_are_counted(db: Session, world: World) -> None:
    site = _site(db, world)
    incident_id = _incident(db, world, node="building:building-1")
    staff = actor_of(db, world, "staff1")
    sent = warnings.warn(db, staff, incident_id, WarnIn(radius_m=45, headline="火警"))
    db.commit()
    assert len(sent) == 2
    b1_people = {world.residents[k] for k in ("alice", "alan", "bob")}
    assert _asked(db, world, sent) == b1_people | {site.zhao, site.qian, site.qian2}
    links = list(db.scalars(select(IncidentBroadcast).order_by(IncidentBroadcast.id)))
    assert {(link.target, link.radius_m) for link in links} == {("radius", 45.0)}
    # bob answers for himself; staff record that 赵 needs help.
    b1_broadcast = next(
        b for b in sent if notice_service.get_broadcast(db, staff, b).place_id == site.b1
    )
    b2_broadcast = next(b for b in sent if b != b1_broadcast)
    notice_service.answer(db, actor_of(db, world, "bob"), b1_broadcast, "safe")
    notice_service.record_answer(db, staff, b2_broadcast, site.zhao, "need_help")
    db.commit()
    status = {w.place_id: w for w in warnings.warning_status(db, staff, incident_id)}
    assert (status[site.b1].safe, status[site.b1].need_help, status[site.b1].no_answer) == (1, 0, 2)
    assert (status[site.b2].safe, status[site.b2].need_help, status[site.b2].no_answer) == (0, 1, 2)
    assert status[site.b1].target == "radius"
    assert "2号楼" in status[site.b2].place_label
    # Responders of the place see the counts too (they do not run check-ins).
    responder_account(db, world, "medic")
    assert len(warnings.warning_status(db, actor_of(db, world, "medic"), incident_id)) == 2


def test_warnings_are_refused_clearly(db: Session, world: World) -> None:
    site = _site(db, world)
    incident_id = _incident(db, world, node="building:building-1")
    data = WarnIn(place_ids=[site.b1], headline="火警")
    for outsider in ("staff2", "alice", "pm1"):
        with pytest.raises(NotFound):
            warnings.warn(db, actor_of(db, world, outsider), incident_id, data)
    responder_account(db, world, "medic")
    with pytest.raises(PermissionDenied):
        warnings.warn(db, actor_of(db, world, "medic"), incident_id, data)
    staff = actor_of(db, world, "staff1")
    other = WarnIn(place_ids=[world.places["c2-b1"]], headline="火警")
    with pytest.raises(ValidationFailed) as invalid:
        warnings.warn(db, staff, incident_id, other)
    assert invalid.value.message == _("This place is outside the incident's community.")
    far = _incident(db, world, node="j-0-0")
    with pytest.raises(Conflict) as refused:
        warnings.warn(db, staff, far, WarnIn(radius_m=10, headline="火警"))
    assert refused.value.message == _("No building on the site plan stands within this radius.")
    nowhere = _incident(db, world, place="c1-compound")
    with pytest.raises(Conflict) as refused:
        warnings.warn(db, staff, nowhere, WarnIn(radius_m=100, headline="火警"))
    assert refused.value.message == _(
        "Set the incident's point on the site plan to warn by radius."
    )
    service.close(db, staff, incident_id, "扑灭")
    with pytest.raises(Conflict):
        warnings.warn(db, staff, incident_id, data)
    db.rollback()
    assert db.scalars(select(IncidentBroadcast)).first() is None
    with pytest.raises(ValidationError):
        WarnIn(headline="火警")
    with pytest.raises(ValidationError):
        WarnIn(place_ids=[site.b1], radius_m=50, headline="火警")


# --- the register and the door-to-door list ---------------------------------------------------


def test_door_to_door_lists_flagged_residents_by_answer(db: Session, world: World) -> None:
    site = _site(db, world)
    staff = actor_of(db, world, "staff1")
    bob = world.residents["bob"]
    warnings.set_needs(db, staff, bob, NeedsIn(needs=["mobility", "hearing"], note="拄拐"))
    incident_id = _incident(db, world, node="building:building-1")
    # Not warned yet: the incident's place (building 1) only, nobody asked.
    before = warnings.door_to_door(db, staff, incident_id, today=TODAY)
    assert not before.warned
    assert [(r.resident_id, r.answer) for r in before.rows] == [(bob, "not_asked")]
    sent = warnings.warn(db, staff, incident_id, WarnIn(radius_m=60, headline="火警"))
    by_place = {notice_service.get_broadcast(db, staff, b).place_id: b for b in sent}
    notice_service.answer(db, actor_of(db, world, "bob"), by_place[site.b1], "safe")
    notice_service.record_answer(db, staff, by_place[site.b3], site.sun, "need_help", "出不去")
    db.commit()
    found = warnings.door_to_door(db, staff, incident_id, today=TODAY)
    assert found.warned
    assert [(r.resident_id, r.answer) for r in found.rows] == [
        (site.sun, "need_help"),
        (site.zhao, "no_answer"),
        (bob, "safe"),
    ]
    sun, zhao, bob_row = found.rows
    assert (sun.needs, sun.note, sun.derived, sun.room) == (["disability"], "轮椅", False, "301")
    assert sun.answer_note == "出不去"
    assert "3号楼" in sun.address
    assert (zhao.needs, zhao.derived) == (["elderly_alone"], True)
    assert bob_row.needs == ["mobility", "hearing"]
    assert "李" in bob_row.name
    assert bob_row.name != "李四海"
    # Every view is audited with the incident and how many residents were shown.
    views = _audits(db, "evacuation.door_to_door")
    assert len(views) == 2
    assert orjson.loads(views[-1].detail) == {"incident_id": incident_id, "shown": 3}
    assert views[-1].subject_id == str(incident_id)
    assert views[-1].actor_account_id == world.accounts["staff1"]


def test_register_set_clear_and_view_are_audited(db: Session, world: World) -> None:
    site = _site(db, world)
    staff = actor_of(db, world, "grid1")
    alice = world.residents["alice"]
    warnings.set_needs(db, staff, alice, NeedsIn(needs=["sight", "other"], note="怕黑"))
    rows = {r.resident_id: r for r in warnings.evacuation_register(db, staff, today=TODAY)}
    assert set(rows) == {alice, site.zhao, site.sun}
    assert rows[alice].needs == ["sight", "other"]
    assert rows[site.zhao].derived
    # Clearing (an empty list does the same) takes the resident off; 赵 stays (derived).
    warnings.set_needs(db, staff, alice, NeedsIn(needs=[]))
    warnings.clear_needs(db, staff, site.sun)
    db.commit()
    rows = {r.resident_id: r for r in warnings.evacuation_register(db, staff, today=TODAY)}
    assert set(rows) == {site.zhao}
    assert [a.subject_resident_id for a in _audits(db, "evacuation.set")] == [site.sun, alice]
    assert [a.subject_resident_id for a in _audits(db, "evacuation.clear")] == [alice, site.sun]
    assert [orjson.loads(a.detail)["shown"] for a in _audits(db, "evacuation.view")] == [3, 1]
    assert all("怕黑" not in a.detail for a in db.scalars(select(AuditEvent)))
    for outsider in ("staff2", "pm1", "alice", "district"):
        actor = actor_of(db, world, outsider)
        with pytest.raises((NotFound, PermissionDenied)):
            warnings.set_needs(db, actor, site.zhao, NeedsIn(needs=["mobility"]))
    for outsider in ("pm1", "alice", "auditor1"):
        with pytest.raises(PermissionDenied):
            warnings.evacuation_register(db, actor_of(db, world, outsider))
    # Staff of c2 see only their own community's register.
    assert warnings.evacuation_register(db, actor_of(db, world, "staff2"), today=TODAY) == []


# --- over HTTP: who sees the door-to-door list ------------------------------------------------


@SQLITE
def test_door_to_door_only_for_those_who_visit(
    client: TestClient, db: Session, world: World
) -> None:
    _site(db, world)
    incident_id = _incident(db, world, node="building:building-1")
    responder_account(db, world, "medic")
    _account(db, world, "police1", "police_liaison", "c1")
    db.commit()
    url = f"/api/v1/incidents/{incident_id}/door-to-door"
    allowed = {
        "staff1": bearer(world, "staff1"),
        "admin1": bearer(world, "admin1"),
        "grid1": bearer(world, "grid1"),
        "medic": api_key(db, world, "medic"),
    }
    db.commit()
    for user, headers in allowed.items():
        r = client.get(url, headers=headers)
        assert r.status_code == 200, (user, r.text)
        assert [row["resident_id"] for row in r.json()["rows"]] == [], user
    warnings.set_needs(
        db, actor_of(db, world, "staff1"), world.residents["bob"], NeedsIn(needs=["mobility"])
    )
    db.commit()
    r = client.get(url, headers=allowed["medic"])
    assert [row["resident_id"] for row in r.json()["rows"]] == [world.residents["bob"]]
    refused = {"district": 403, "pm1": 404, "alice": 404, "auditor1": 404, "staff2": 404}
    police = api_key(db, world, "police1")
    db.commit()
    for user, code in refused.items():
        r = client.get(url, headers=bearer(world, user))
        assert r.status_code == code, (user, r.status_code)
        assert "李" not in r.text
    assert client.get(url, headers=police).status_code == 404
    views = [a for a in _audits(db, "evacuation.door_to_door") if a.outcome == "ok"]
    assert len(views) == len(allowed) + 1
    denied = [a for a in _audits(db, "evacuation.door_to_door") if a.outcome == "denied"]
    assert [a.actor_account_id for a in denied] == [world.accounts["district"]]


@SQLITE
def test_api_site_points_warnings_and_register(
    client: TestClient, db: Session, world: World
) -> None:
    site = _site(db, world)
    incident_id = _incident(db, world, node="building:building-1")
    staff = bearer(world, "staff1")
    r = client.put(
        f"/api/v1/site-points/{site.b3}", json={"node": "building:building-7"}, headers=staff
    )
    assert r.status_code == 200, r.text
    assert r.json()["node"] == "building:building-7"
    r = client.put(f"/api/v1/site-points/{site.b3}", json={"node": "x"}, headers=staff)
    assert r.status_code == 422
    r = client.put(
        f"/api/v1/site-points/{site.b3}", json={"node": "j-0-0"}, headers=bearer(world, "staff2")
    )
    assert r.status_code == 404
    r = client.get(f"/api/v1/site-points?place_id={world.places['c1']}", headers=staff)
    assert {p["place_id"]: p["node"] for p in r.json()}[site.b3] == "building:building-7"
    assert (
        client.get(
            f"/api/v1/site-points?place_id={world.places['c1']}", headers=bearer(world, "staff2")
        ).status_code
        == 404
    )
    url = f"/api/v1/incidents/{incident_id}/warnings"
    r = client.post(url, json={"radius_m": 45, "headline": "火警"}, headers=staff)
    assert r.status_code == 201, r.text
    assert sorted(w["place_id"] for w in r.json()) == sorted([site.b1, site.b2])
    assert all(w["no_answer"] == w["total"] for w in r.json())
    assert client.post(url, json={"headline": "火警"}, headers=staff).status_code == 422
    r = client.post(
        url, json={"place_ids": [site.b1], "headline": "火警"}, headers=bearer(world, "staff2")
    )
    assert r.status_code == 404
    assert len(client.get(url, headers=staff).json()) == 2
    assert client.get(url, headers=bearer(world, "alice")).status_code == 404
    need = f"/api/v1/evacuation-needs/{world.residents['alan']}"
    body = {"needs": ["mobility"], "note": "腿脚不便"}
    assert client.put(need, json=body, headers=bearer(world, "staff2")).status_code == 404
    assert client.put(need, json={"needs": ["flying"]}, headers=staff).status_code == 422
    assert client.put(need, json=body, headers=staff).status_code == 204
    rows = client.get("/api/v1/evacuation-needs", headers=staff).json()
    assert world.residents["alan"] in {r["resident_id"] for r in rows}
    assert client.get("/api/v1/evacuation-needs", headers=bearer(world, "pm1")).status_code == 403
    assert client.delete(need, headers=staff).status_code == 204
    rows = client.get("/api/v1/evacuation-needs", headers=staff).json()
    assert world.residents["alan"] not in {r["resident_id"] for r in rows}
