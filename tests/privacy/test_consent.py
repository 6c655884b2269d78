"""Consent per purpose (checklist rows P2-P8, P10, P11): records, separate sensitive consents,
guardians for children under 14, re-consent after a notice change, withdrawal that deletes the
purpose's data, core services without optional consents, and sensitive modules behind a PIIA."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.audit.models import AuditEvent
from linli.case import service as case_service
from linli.case.models import Case, CasePhoto
from linli.core.actor import Actor
from linli.core.time import utc_now
from linli.incident import warnings
from linli.incident.models import EvacuationNeed
from linli.privacy import consent, purposes
from linli.privacy.consent_models import Consent
from linli.resident import service as resident_service
from linli.resident.schemas import ResidentCreate
from tests.case.conftest import category_id
from tests.conftest import World, bearer
from tests.poll.helpers import make_poll, option_ids


def actor(db: Session, world: World, username: str) -> Actor:
    return account_service.build_actor(
        db, account_service.get_account(db, world.accounts[username]), via="web"
    )


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


def add_child(db: Session, world: World, household: str = "h1") -> int:
    child = resident_service.create_resident(
        db,
        None,
        ResidentCreate(
            household_id=world.households[household],
            name="王小宝",
            relation="family",
            date_of_birth=dt.date(utc_now().year - 8, 1, 1),
        ),
    )
    db.commit()
    return child.id


def actions(db: Session, resident_id: int) -> list[str]:
    stmt = select(AuditEvent.action).where(
        AuditEvent.subject_resident_id == resident_id, AuditEvent.action.startswith("consent.")
    )
    return list(db.scalars(stmt.order_by(AuditEvent.id)))


def light(db: Session) -> int:
    """The street-light category, committed so that requests can write meanwhile."""
    cid = category_id(db, "light")
    db.commit()
    return cid


def test_consent_is_a_record_per_purpose_and_withdrawal_deletes_the_data(
    client: TestClient, db: Session, world: World
) -> None:
    """P2, P4, P7: a stored record per purpose; withdrawing deletes that purpose's data."""
    alice = bearer(world, "alice")
    rid = world.residents["alice"]
    states = client.get("/api/v1/me/consents", headers=alice).json()
    assert {s["purpose"] for s in states} == {p.id for p in purposes.optional()}
    assert {s["state"] for s in states} == {"not_given", "unavailable"}  # nothing pre-given
    case = client.post(
        "/api/v1/cases",
        json={
            "category_id": light(db),
            "place_id": world.places["c1-b1"],
            "description": "楼道灯坏了",
        },
        headers=alice,
    )
    assert case.status_code == 201, case.text
    cid = case.json()["id"]
    # No consent to images: the photo is refused with a problem naming the purpose.
    refused = client.post(f"/api/v1/cases/{cid}/photos", content=png(), headers=alice)
    assert refused.status_code == 403
    assert (
        refused.json()["detail"]["purpose"] == "images"
        if isinstance(refused.json().get("detail"), dict)
        else "images" in refused.text
    )
    given = client.post("/api/v1/me/consents", json={"purpose": "images"}, headers=alice)
    assert given.status_code == 201, given.text
    body = given.json()
    assert (body["resident_id"], body["purpose"], body["channel"]) == (rid, "images", "api")
    assert body["notice_version"] == purposes.NOTICE_VERSION
    assert body["actor_account_id"] == world.accounts["alice"]
    assert body["withdrawn_at"] is None
    # Images do not cover precise location: a separate sensitive purpose (P7).
    assert not consent.has_live_consent(db, rid, "precise_location")
    with_pos = client.post(
        "/api/v1/cases",
        json={
            "category_id": light(db),
            "place_id": world.places["c1-b1"],
            "description": "路灯坏了",
            "lat": 31.2,
            "lon": 121.4,
        },
        headers=alice,
    )
    assert with_pos.status_code == 403
    assert "precise_location" in with_pos.text
    assert (
        client.post(f"/api/v1/cases/{cid}/photos", content=png(), headers=alice).status_code == 201
    )
    assert db.scalars(select(CasePhoto).where(CasePhoto.case_id == cid)).all()
    out = client.post("/api/v1/me/consents/images/withdraw", headers=alice)
    assert out.status_code == 200
    assert out.json()["removed"] == 1
    db.expire_all()
    assert db.scalars(select(CasePhoto).where(CasePhoto.case_id == cid)).all() == []
    assert (
        client.post(f"/api/v1/cases/{cid}/photos", content=png(), headers=alice).status_code == 403
    )
    record = db.scalars(select(Consent).where(Consent.resident_id == rid)).one()
    assert record.withdrawn_at is not None
    assert record.withdrawn_channel == "api"
    assert actions(db, rid) == ["consent.given", "consent.withdrawn"]
    again = client.post("/api/v1/me/consents/images/withdraw", headers=alice)
    assert again.status_code == 409
    assert client.get("/api/v1/me/consents/images/withdraw", headers=alice).status_code == 405
    assert client.get("/api/v1/me/consents").status_code == 401
    core = client.post("/api/v1/me/consents", json={"purpose": "voting"}, headers=alice)
    assert core.status_code == 409


def test_declining_every_optional_purpose_leaves_core_services_working(
    client: TestClient, db: Session, world: World
) -> None:
    """P3: no optional consent at all; reporting, notices and voting still work."""
    bob = bearer(world, "bob")
    states = client.get("/api/v1/me/consents", headers=bob).json()
    assert all(s["state"] != "given" for s in states)
    r = client.post(
        "/api/v1/cases",
        json={
            "category_id": light(db),
            "place_id": world.places["c1-b1"],
            "description": "电梯异响",
        },
        headers=bob,
    )
    assert r.status_code == 201, r.text
    assert client.get("/api/v1/notices", headers=bob).status_code == 200
    poll = make_poll(db, world)
    vote = client.post(
        f"/api/v1/polls/{poll.id}/vote", json={"option_id": option_ids(db, poll.id)[0]}, headers=bob
    )
    assert vote.status_code in (200, 201), vote.text
    assert db.scalars(select(Consent)).all() == []


def test_a_notice_change_for_a_purpose_needs_consent_again(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P5: after a notice bump that changes a purpose, old consents stop counting."""
    rid = world.residents["alice"]
    consent.give(db, actor(db, world, "alice"), "precise_location")
    consent.give(db, actor(db, world, "alice"), "images")
    assert consent.has_live_consent(db, rid, "precise_location")
    changed = dataclasses.replace(purposes.get("precise_location"), changed_in=2)
    monkeypatch.setattr(purposes, "NOTICE_VERSION", 2)
    monkeypatch.setitem(purposes.PURPOSES, "precise_location", changed)
    assert not consent.has_live_consent(db, rid, "precise_location")
    assert consent.has_live_consent(db, rid, "images")  # unchanged purpose still covered
    with pytest.raises(consent.ConsentOutdated) as err:
        consent.require(db, rid, "precise_location")
    assert err.value.status_code == 409
    states = {s.purpose.id: s.state for s in consent.states(db, rid)}
    assert states["precise_location"] == "outdated"
    again = consent.give(db, actor(db, world, "alice"), "precise_location")
    assert again.notice_version == 2
    consent.require(db, rid, "precise_location")


def test_a_child_under_14_needs_a_guardian(db: Session, world: World) -> None:
    """P8: the age gate from the date of birth; household adult or linked guardian decides."""
    child = add_child(db, world)
    assert consent.is_child(db, child)
    with pytest.raises(consent.PermissionDenied):
        consent.give(db, actor(db, world, "bob"), "images", resident_id=child)
    record = consent.give(db, actor(db, world, "alice"), "images", resident_id=child)
    assert record.guardian_resident_id == world.residents["alice"]
    assert record.guardian_account_id == world.accounts["alice"]
    assert [c.resident_id for c in consent.children_of(db, actor(db, world, "alice"))] == [child]
    # The child's own consent is refused (a child acting through assisted mode at the desk).
    staff = actor(db, world, "staff1")
    as_child = dataclasses.replace(staff, on_behalf_of_resident_id=child)
    with pytest.raises(consent.PermissionDenied, match="监护人"):  # "guardian"
        consent.give(db, as_child, "precise_location")
    # A guardian account linked by staff (bob, another household) may then decide.
    with pytest.raises(consent.PermissionDenied):
        consent.link_guardian(
            db,
            actor(db, world, "alice"),
            child_resident_id=child,
            guardian_account_id=world.accounts["bob"],
        )
    consent.link_guardian(
        db, staff, child_resident_id=child, guardian_account_id=world.accounts["bob"]
    )
    linked = consent.give(db, actor(db, world, "bob"), "precise_location", resident_id=child)
    assert linked.guardian_account_id == world.accounts["bob"]
    assert linked.guardian_resident_id is None
    consent.withdraw(db, actor(db, world, "bob"), "precise_location", resident_id=child)
    assert not consent.has_live_consent(db, child, "precise_location")
    assert actions(db, child) == [
        "consent.given",
        "consent.guardian_linked",
        "consent.given",
        "consent.withdrawn",
    ]
    # An adult decides for themself only.
    with pytest.raises(consent.PermissionDenied):
        consent.give(db, actor(db, world, "alice"), "images", resident_id=world.residents["alan"])


def test_evacuation_needs_need_consent_given_at_the_desk_and_go_on_withdrawal(
    db: Session, world: World
) -> None:
    """P7, P4: staff cannot record disability data without consent; assisted consent is a
    proxy record; withdrawal deletes the register entry."""
    rid = world.residents["alan"]
    staff = actor(db, world, "staff1")
    with pytest.raises(consent.ConsentRequired):
        warnings.set_needs(db, staff, rid, warnings.NeedsIn(needs=["mobility"]))
    desk = dataclasses.replace(staff, on_behalf_of_resident_id=rid)
    record = consent.give(db, desk, "evacuation_needs")
    assert (record.channel, record.actor_account_id) == ("assisted", world.accounts["staff1"])
    warnings.set_needs(db, staff, rid, warnings.NeedsIn(needs=["mobility"]))
    db.commit()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "consent.given")).one()
    assert event.on_behalf_of_resident_id == rid
    assert event.actor_username == "staff1"
    assert consent.withdraw(db, desk, "evacuation_needs") == 1
    assert db.scalars(select(EvacuationNeed).where(EvacuationNeed.resident_id == rid)).all() == []


def test_positions_are_forgotten_when_location_consent_is_withdrawn(
    db: Session, world: World
) -> None:
    alice = actor(db, world, "alice")
    consent.give(db, alice, "precise_location")
    from linli.case.schemas import CaseCreate

    case = case_service.report(
        db,
        alice,
        CaseCreate(
            category_id=category_id(db, "light"),
            place_id=world.places["c1-b1"],
            description="井盖松动",
            lat=31.2,
            lon=121.4,
        ),
    )
    assert case.lat == 31.2
    assert consent.withdraw(db, alice, "precise_location") == 1
    stored = db.get(Case, case.id)
    assert stored is not None
    assert stored.lat is None
    assert stored.lon is None


def test_health_monitoring_is_off_until_a_piia_is_recorded(
    client: TestClient, db: Session, world: World
) -> None:
    """P10, P11: off by default per community and per resident; no switch-on without a PIIA."""
    alice, admin = bearer(world, "alice"), bearer(world, "admin1")
    c1 = world.places["c1"]
    states = {
        s["purpose"]: s["state"] for s in client.get("/api/v1/me/consents", headers=alice).json()
    }
    assert states["health_monitoring"] == "unavailable"
    assert (
        client.post(
            "/api/v1/me/consents", json={"purpose": "health_monitoring"}, headers=alice
        ).status_code
        == 409
    )
    mods = client.get(f"/api/v1/privacy/communities/{c1}/modules", headers=admin).json()
    assert mods == [{"module": "health_monitoring", "enabled": False, "assessment_id": None}]
    url = f"/api/v1/privacy/communities/{c1}/modules/health_monitoring"
    refused = client.put(url, json={"enabled": True}, headers=admin)
    assert refused.status_code == 409
    assert "影响评估" in refused.text  # "impact assessment"
    piia = {
        "community_id": c1,
        "module": "health_monitoring",
        "reference": "PIIA-2026-01",
        "assessed_on": "2026-11-30",
        "summary": "Wearable readings: necessity, safeguards.",
    }
    assert (
        client.post(
            "/api/v1/privacy/assessments", json=piia, headers=bearer(world, "staff1")
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/privacy/assessments",
            json={**piia, "community_id": world.places["c2"]},
            headers=admin,
        ).status_code
        == 403
    )
    made = client.post("/api/v1/privacy/assessments", json=piia, headers=admin)
    assert made.status_code == 201, made.text
    on = client.put(url, json={"enabled": True, "assessment_id": made.json()["id"]}, headers=admin)
    assert on.status_code == 200
    assert on.json()["enabled"] is True
    # Still off for the resident until they consent (P11 per resident).
    assert not consent.has_live_consent(db, world.residents["alice"], "health_monitoring")
    assert (
        client.post(
            "/api/v1/me/consents", json={"purpose": "health_monitoring"}, headers=alice
        ).status_code
        == 201
    )
    db.expire_all()
    assert consent.has_live_consent(db, world.residents["alice"], "health_monitoring")
    # Switching the module off stops the processing again.
    client.put(url, json={"enabled": False}, headers=admin)
    db.expire_all()
    assert not consent.has_live_consent(db, world.residents["alice"], "health_monitoring")
    acts = set(
        db.scalars(select(AuditEvent.action).where(AuditEvent.action.startswith("privacy.")))
    )
    assert acts == {
        "privacy.assessment_recorded",
        "privacy.module_enabled",
        "privacy.module_disabled",
    }
