"""Responder pages: the phone page (offers, answers, status, duty) and the two registers."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.incident import service
from linli.incident.models import DispatchOffer, Equipment, Responder
from linli.incident.schemas import EquipmentCreate, IncidentCreate
from tests.conftest import World, csrf_of
from tests.incident.conftest import actor_of, register, responder_account

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _client(make_client: object, who: str | None) -> TestClient:
    assert callable(make_client)
    client = make_client(who)
    assert isinstance(client, TestClient)
    client.cookies.set("linli_lang", "en")
    return client


def _post(
    client: TestClient, url: str, page: str, data: dict[str, object] | None = None
) -> httpx.Response:
    """Send a form from ``page`` (for its CSRF token), without following the redirect."""
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


def _incident(
    db: Session, world: World, kind: str = "fall", node: str = "building:building-1"
) -> int:
    staff = actor_of(db, world, "staff1")
    incident = service.create(
        db,
        staff,
        IncidentCreate(place_id=world.places["c1-b1"], type=kind, title=f"{kind} 事件", node=node),
    )
    return incident.id


def _offers(db: Session, incident_id: int) -> list[DispatchOffer]:
    db.expire_all()
    query = select(DispatchOffer).where(DispatchOffer.incident_id == incident_id)
    return list(db.scalars(query.order_by(DispatchOffer.id)))


def _dispatched_fall(db: Session, world: World) -> tuple[int, int, int]:
    """A fall with two first-aiders: the nearer (near) gets the offer, far waits."""
    near = register(db, world, "near", ["first_aid"], "building:building-2")
    far = register(db, world, "far", ["first_aid"], "building:building-12")
    incident_id = _incident(db, world)
    service.dispatch(db, actor_of(db, world, "staff1"), incident_id)
    db.commit()
    assert [o.responder_id for o in _offers(db, incident_id)] == [near]
    return incident_id, near, far


def test_anonymous_is_sent_to_login_and_residents_are_refused(
    make_client: object, db: Session, world: World
) -> None:
    anonymous = _client(make_client, None)
    for url in ("/me/responder", "/me/responder/live", "/console/responders", "/console/equipment"):
        r = anonymous.get(url, follow_redirects=False)
        assert r.status_code == 303, url
        assert r.headers["location"].startswith("/login")
    alice = _client(make_client, "alice")
    for url in ("/me/responder", "/me/responder/live", "/console/responders", "/console/equipment"):
        assert alice.get(url).status_code == 403, url
    for url in ("/me/responder/offers/1/accept", "/console/responders", "/console/equipment"):
        assert _post(alice, url, "/me").status_code in (403, 404), url


def test_a_responder_without_a_record_is_told_so(
    make_client: object, db: Session, world: World
) -> None:
    responder_account(db, world, "newbie")
    db.commit()
    page = _client(make_client, "newbie").get("/me/responder")
    assert page.status_code == 200
    assert "You are not on any community" in page.text
    assert "My dispatches" in page.text  # the navigation entry


def test_the_responder_sees_only_their_own_offers_and_accepts(
    make_client: object, db: Session, world: World
) -> None:
    incident_id, near, _far = _dispatched_fall(db, world)
    offer = _offers(db, incident_id)[0]
    near_client = _client(make_client, "near")
    page = near_client.get("/me/responder")
    assert page.status_code == 200
    assert "fall 事件" in page.text
    assert f'id="offer-{offer.id}"' in page.text
    assert "Needed for: First aid" in page.text
    assert 'class="route-map"' in page.text
    assert "Building 2" in page.text  # the route's named steps
    assert "Building 1" in page.text
    assert "Nearest AED" not in page.text  # not a cardiac event
    far_client = _client(make_client, "far")
    assert f'id="offer-{offer.id}"' not in far_client.get("/me/responder").text
    # Someone else's offer does not exist for them; a resident's neither.
    r = _post(far_client, f"/me/responder/offers/{offer.id}/accept", "/me/responder")
    assert r.status_code == 404
    assert _offers(db, incident_id)[0].status == "offered"

    r = _post(near_client, f"/me/responder/offers/{offer.id}/accept", "/me/responder")
    assert r.status_code == 303
    assert r.headers["location"] == "/me/responder?done=accepted"
    assert _offers(db, incident_id)[0].status == "accepted"
    page = near_client.get("/me/responder?done=accepted")
    assert "Accepted: you are on your way." in page.text
    assert 'value="on_scene"' in page.text
    # Answering twice is refused with the page and a message.
    r = _post(near_client, f"/me/responder/offers/{offer.id}/decline", "/me/responder")
    assert r.status_code == 409
    assert "already been answered" in r.text

    r = _post(near_client, f"/me/responder/{near}/status", "/me/responder", {"status": "on_scene"})
    assert r.headers["location"] == "/me/responder?done=on_scene"
    db.expire_all()
    responder = db.get(Responder, near)
    assert responder is not None
    assert responder.status == "on_scene"
    # Another responder cannot set this one's status from their phone.
    r = _post(far_client, f"/me/responder/{near}/status", "/me/responder", {"status": "off_duty"})
    assert r.status_code == 404
    r = _post(near_client, f"/me/responder/{near}/status", "/me/responder", {"status": "nap"})
    assert r.status_code == 422
    r = _post(near_client, f"/me/responder/{near}/status", "/me/responder", {"status": "available"})
    db.expire_all()
    assert db.get(Responder, near).status == "available"  # type: ignore[union-attr]
    assert f'id="offer-{offer.id}"' not in near_client.get("/me/responder").text


def test_a_decline_on_the_phone_goes_to_the_next_best(
    make_client: object, db: Session, world: World
) -> None:
    incident_id, near, far = _dispatched_fall(db, world)
    offer = _offers(db, incident_id)[0]
    near_client = _client(make_client, "near")
    r = _post(near_client, f"/me/responder/offers/{offer.id}/decline", "/me/responder")
    assert r.headers["location"] == "/me/responder?done=declined"
    offers = _offers(db, incident_id)
    assert [(o.responder_id, o.status) for o in offers] == [(near, "declined"), (far, "offered")]
    # The new offer appears on the far responder's live fragment, with its signature.
    live = _client(make_client, "far").get("/me/responder/live")
    assert live.status_code == 200
    assert f'id="offer-{offers[1].id}"' in live.text
    assert live.headers["x-responder-signature"].startswith(f"o{offers[1].id}:offered")
    assert "<html" not in live.text


def test_a_cardiac_offer_shows_the_nearest_ready_aed(
    make_client: object, db: Session, world: World
) -> None:
    staff = actor_of(db, world, "staff1")
    for name, node, condition in (
        ("东门AED", "gate:east-gate", "ready"),
        ("9号楼AED", "building:building-9", "out_of_service"),
        ("值班室AED", "duty_room:duty-room", "ready"),
    ):
        service.add_equipment(
            db,
            staff,
            EquipmentCreate(
                place_id=world.places["c1"], kind="aed", name=name, node=node, condition=condition
            ),
        )
    register(db, world, "medic", ["first_aid"], "building:building-10")
    incident_id = _incident(db, world, "cardiac", "building:building-9")
    service.dispatch(db, staff, incident_id)
    db.commit()
    page = _client(make_client, "medic").get("/me/responder")
    assert "Nearest AED: 东门AED" in page.text  # building 9's own is out of service
    assert "East gate" in page.text
    assert 'class="map-aed"' in page.text
    assert 'class="map-aed-route"' in page.text


def test_going_off_and_on_duty_from_the_phone(
    make_client: object, db: Session, world: World
) -> None:
    medic = register(db, world, "medic", ["first_aid"], "building:building-2")
    db.commit()
    c = _client(make_client, "medic")
    assert "Go off duty" in c.get("/me/responder").text
    _post(c, f"/me/responder/{medic}/status", "/me/responder", {"status": "off_duty"})
    db.expire_all()
    responder = db.get(Responder, medic)
    assert responder is not None
    assert (responder.status, responder.on_shift) == ("off_duty", False)
    assert "Go on duty" in c.get("/me/responder").text
    _post(c, f"/me/responder/{medic}/status", "/me/responder", {"status": "available"})
    db.expire_all()
    responder = db.get(Responder, medic)
    assert responder is not None
    assert (responder.status, responder.on_shift) == ("available", True)


def _add_form(world: World, account_id: int, **extra: object) -> dict[str, object]:
    return {
        "account_id": str(account_id),
        "place_id": str(world.places["c1"]),
        "display_name": "志愿者小李",
        "kind": "volunteer",
        "skills": ["first_aid", "plumbing"],
        "node": "building:building-3",
        "shift_start": "20:00",
        "shift_end": "08:00",
        **extra,
    }


def test_the_responder_register(make_client: object, db: Session, world: World) -> None:
    account_id = responder_account(db, world, "xiaoli")
    db.commit()
    staff = _client(make_client, "staff1")
    page = staff.get("/console/responders")
    assert page.status_code == 200
    assert 'id="add-responder"' in page.text
    assert f'<option value="{account_id}">' in page.text
    # A district admin is offered the responders of every community below them.
    district = _client(make_client, "district").get("/console/responders")
    assert f'<option value="{account_id}">' in district.text

    for bad, field in (
        ({"display_name": ""}, "display_name"),
        ({"shift_start": "25:00"}, "shift_start"),
        ({"shift_end": ""}, ""),
        ({"skills": ["first_aid", "juggling"]}, "skills"),
        ({"node": "nowhere"}, "node"),
        ({"place_id": "abc"}, "place_id"),
    ):
        r = _post(
            staff, "/console/responders", "/console/responders", _add_form(world, account_id, **bad)
        )
        assert r.status_code == 422, bad
        assert 'role="alert"' in r.text
        if field:
            assert f'id="f-{field}-error"' in r.text or f'id="g-{field}-error"' in r.text, bad
    # Another community's staff may not add to c1's register.
    r = _post(
        _client(make_client, "staff2"),
        "/console/responders",
        "/console/responders",
        _add_form(world, account_id),
    )
    assert r.status_code == 403
    assert db.scalars(select(Responder)).all() == []

    r = _post(staff, "/console/responders", "/console/responders", _add_form(world, account_id))
    assert r.status_code == 303
    db.expire_all()
    stored = db.scalars(select(Responder)).one()
    assert (stored.display_name, stored.kind, stored.skills) == (
        "志愿者小李",
        "volunteer",
        ["first_aid", "plumbing"],
    )
    assert (stored.shift_start, stored.shift_end, stored.node) == (
        "20:00",
        "08:00",
        "building:building-3",
    )
    r = _post(staff, "/console/responders", "/console/responders", _add_form(world, account_id))
    assert r.status_code == 409
    assert "already a responder" in r.text

    # Change status, position and shift; a bad change comes back with 422 on that row.
    url = f"/console/responders/{stored.id}"
    change = {"status": "off_duty", "node": "gate:east-gate", "shift_start": "", "shift_end": ""}
    r = _post(staff, url, "/console/responders", change)
    assert r.status_code == 303
    db.expire_all()
    stored = db.get(Responder, stored.id)  # type: ignore[assignment]
    assert (stored.status, stored.node, stored.shift_start) == ("off_duty", "gate:east-gate", None)
    r = _post(staff, url, "/console/responders", {**change, "shift_start": "07:00"})
    assert r.status_code == 422
    assert f"r{stored.id}-status" in r.text
    r = _post(_client(make_client, "staff2"), url, "/console/responders", change)
    assert r.status_code == 404

    # The responder reads the register but changes nothing there.
    li = _client(make_client, "xiaoli")
    page = li.get("/console/responders")
    assert page.status_code == 200
    assert "志愿者小李" in page.text
    assert 'id="add-responder"' not in page.text
    assert f'action="/console/responders/{stored.id}"' not in page.text
    assert _post(li, url, "/console/responders", change).status_code == 403
    r = _post(li, "/console/responders", "/console/responders", _add_form(world, account_id))
    assert r.status_code == 403


def test_the_equipment_register(make_client: object, db: Session, world: World) -> None:
    staff = _client(make_client, "staff1")
    form = {
        "kind": "aed",
        "name": "东门AED",
        "place_id": str(world.places["c1"]),
        "node": "gate:east-gate",
        "condition": "ready",
    }
    for bad in ({"name": ""}, {"kind": "rocket"}, {"node": "moon"}, {"place_id": ""}):
        r = _post(staff, "/console/equipment", "/console/equipment", {**form, **bad})
        assert r.status_code == 422, bad
    r = _post(_client(make_client, "staff2"), "/console/equipment", "/console/equipment", form)
    assert r.status_code == 403
    r = _post(staff, "/console/equipment", "/console/equipment", form)
    assert r.status_code == 303
    db.expire_all()
    item = db.scalars(select(Equipment)).one()
    assert (item.kind, item.name, item.node, item.condition) == (
        "aed",
        "东门AED",
        "gate:east-gate",
        "ready",
    )
    url = f"/console/equipment/{item.id}/condition"
    r = _post(staff, url, "/console/equipment", {"condition": "needs_service"})
    assert r.status_code == 303
    db.expire_all()
    assert db.get(Equipment, item.id).condition == "needs_service"  # type: ignore[union-attr]
    assert _post(staff, url, "/console/equipment", {"condition": "broken"}).status_code == 422
    # A responder of the community sees it, changes nothing; another community sees nothing.
    responder_account(db, world, "xiaoli")
    db.commit()
    li = _client(make_client, "xiaoli")
    page = li.get("/console/equipment")
    assert "东门AED" in page.text
    assert 'id="add-equipment"' not in page.text
    r = _post(li, url, "/console/equipment", {"condition": "ready"})
    assert r.status_code == 403
    assert "东门AED" not in _client(make_client, "staff2").get("/console/equipment").text
