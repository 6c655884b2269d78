"""Assisted mode through the services, on a real login session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.models import AuthSession
from linli.audit.models import AuditEvent
from linli.config import Settings
from linli.core.actor import Actor
from linli.core.crypto import sha256_hex
from linli.core.errors import PermissionDenied, ValidationFailed
from linli.resident import service as resident_service
from linli.resident.schemas import ResidentUpdate
from tests.conftest import PASSWORD, World, csrf_of


def open_session(db: Session, settings: Settings, username: str) -> tuple[Actor, AuthSession]:
    result = account_service.login(
        db, settings, username=username, password=PASSWORD, ip="127.0.0.1", user_agent="pytest"
    )
    db.commit()
    actor = account_service.build_actor(db, result.account, via="web", session=result.session)
    return actor, result.session


def reload_actor(db: Session, session: AuthSession) -> Actor:
    account = account_service.get_account(db, session.account_id)
    return account_service.build_actor(db, account, via="web", session=session)


def test_staff_assist_a_present_resident_and_every_action_is_recorded_as_such(
    db: Session, settings: Settings, world: World
) -> None:
    alice = world.residents["alice"]
    staff, session = open_session(db, settings, "staff1")
    with pytest.raises(PermissionDenied):
        resident_service.my_household(db, staff)  # staff1 is no resident
    account_service.start_assist(
        db, staff, session, resident_id=alice, present=True, reason="老人来窗口请求帮助"
    )
    db.commit()
    assisting = reload_actor(db, session)
    assert assisting.on_behalf_of_resident_id == alice
    assert assisting.effective_resident_id == alice
    household, people = resident_service.my_household(db, assisting)
    assert household is not None
    assert household.id == world.households["h1"]
    names = {p.id: p.name for p in people}
    assert names == {alice: "王小丽", world.residents["alan"]: "王**"}
    read = resident_service.update_me(db, assisting, ResidentUpdate(phone="13600009999"))
    db.commit()
    assert read.id == alice
    assert read.phone == "136****9999"
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.subject_resident_id == alice).order_by(AuditEvent.id)
    ).all()
    started = next(e for e in events if e.action == "assist.started")
    assert started.actor_account_id == world.accounts["staff1"]
    assert started.reason == "老人来窗口请求帮助"
    assert started.place_id is not None  # so the community's auditors see it
    updated = next(e for e in events if e.action == "resident.updated")
    assert updated.actor_account_id == world.accounts["staff1"]
    assert updated.actor_username == "staff1"
    assert updated.on_behalf_of_resident_id == alice
    assert "13600009999" not in updated.detail
    account_service.stop_assist(db, assisting, session)
    db.commit()
    after = reload_actor(db, session)
    assert after.on_behalf_of_resident_id is None
    with pytest.raises(PermissionDenied):
        resident_service.my_household(db, after)
    ended = db.scalars(select(AuditEvent).where(AuditEvent.action == "assist.ended")).one()
    assert ended.subject_resident_id == alice
    assert ended.actor_account_id == world.accounts["staff1"]


def test_staff_of_another_community_cannot_assist(
    db: Session, settings: Settings, world: World
) -> None:
    staff2, session = open_session(db, settings, "staff2")
    with pytest.raises(PermissionDenied):
        account_service.start_assist(
            db, staff2, session, resident_id=world.residents["alice"], present=True, reason="帮忙"
        )
    db.commit()  # as the request boundary does: the refusal's audit row is kept
    db.refresh(session)
    assert session.on_behalf_of_resident_id is None
    denied = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "permission.denied", AuditEvent.actor_username == "staff2"
        )
    ).one()
    assert denied.subject_resident_id == world.residents["alice"]
    assert denied.outcome == "denied"
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "assist.started")).all() == []


def test_property_manager_cannot_assist(db: Session, settings: Settings, world: World) -> None:
    pm, session = open_session(db, settings, "pm1")
    with pytest.raises(PermissionDenied):
        account_service.start_assist(
            db, pm, session, resident_id=world.residents["alice"], present=True, reason="代办"
        )
    db.rollback()
    assert reload_actor(db, session).on_behalf_of_resident_id is None


def test_assist_needs_the_resident_present_a_reason_and_own_session(
    db: Session, settings: Settings, world: World
) -> None:
    alice = world.residents["alice"]
    staff, session = open_session(db, settings, "staff1")
    with pytest.raises(ValidationFailed):
        account_service.start_assist(
            db, staff, session, resident_id=alice, present=False, reason="x帮"
        )
    with pytest.raises(ValidationFailed):
        account_service.start_assist(
            db, staff, session, resident_id=alice, present=True, reason="  "
        )
    _grid, other_session = open_session(db, settings, "grid1")
    with pytest.raises(PermissionDenied):
        account_service.start_assist(
            db, staff, other_session, resident_id=alice, present=True, reason="帮忙办理"
        )
    db.rollback()
    assert reload_actor(db, session).on_behalf_of_resident_id is None
    assert reload_actor(db, other_session).on_behalf_of_resident_id is None


def test_assisted_session_acts_for_the_resident_over_http(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    alice = world.residents["alice"]
    staff = make_client("staff1")
    token = staff.cookies["linli_session"]
    session = db.scalars(
        select(AuthSession).where(AuthSession.token_hash == sha256_hex(token))
    ).one()
    actor = reload_actor(db, session)
    new = account_service.start_assist(
        db, actor, session, resident_id=alice, present=True, reason="代填"
    )
    db.commit()
    # Assisted mode is a privilege change: the old token stops working (A10).
    assert staff.get("/api/v1/me").status_code == 401
    staff.cookies.set("linli_session", new)
    me = staff.get("/api/v1/me").json()
    assert me["username"] == "staff1"
    assert me["on_behalf_of_resident_id"] == alice
    csrf = {"X-CSRF-Token": csrf_of(staff.get("/").text)}
    r = staff.patch("/api/v1/me/resident", json={"phone": "13511112222"}, headers=csrf)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == alice
    updated = db.scalars(select(AuditEvent).where(AuditEvent.action == "resident.updated")).one()
    assert (updated.actor_username, updated.on_behalf_of_resident_id) == ("staff1", alice)
    # Alice sees the assisted change in her access log.
    alice_client = make_client("alice")
    log = alice_client.get("/api/v1/me/access-log").json()["items"]
    assert {"assist.started", "resident.updated"} <= {e["action"] for e in log}


def actor_of(db: Session, world: World, username: str) -> Actor:
    return account_service.build_actor(
        db, account_service.get_account(db, world.accounts[username]), via="cli"
    )


def test_assisted_mode_ends_when_the_right_to_assist_does(
    db: Session, settings: Settings, world: World
) -> None:
    staff, session = open_session(db, settings, "staff1")
    account_service.start_assist(
        db, staff, session, resident_id=world.residents["alice"], present=True, reason="代办手续"
    )
    db.commit()
    assert reload_actor(db, session).on_behalf_of_resident_id == world.residents["alice"]
    [grant] = account_service.grants_of(db, world.accounts["staff1"])
    account_service.revoke_grant(db, actor_of(db, world, "admin1"), grant.id)
    db.commit()
    after = reload_actor(db, session)
    assert after.on_behalf_of_resident_id is None
    with pytest.raises(PermissionDenied):
        resident_service.my_household(db, after)


def test_admin_cannot_take_over_an_account_by_granting_it_a_small_role(
    db: Session, settings: Settings, world: World
) -> None:
    admin1 = actor_of(db, world, "admin1")
    district = world.accounts["district"]
    # Granting a resident role in c1 to the district admin is allowed ...
    account_service.grant_role(
        db, admin1, account_id=district, role="resident", place_id=world.places["c1"]
    )
    db.commit()
    # ... but does not make admin1 the district admin's administrator.
    for attempt in (
        lambda: account_service.set_password(db, admin1, district, "Brand-New-Pass-99"),
        lambda: account_service.set_active(db, admin1, district, active=False),
        lambda: account_service.create_api_key(db, admin1, account_id=district, name="mine now"),
        lambda: account_service.set_password(
            db, admin1, world.accounts["staff2"], "Brand-New-Pass-99"
        ),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
        db.commit()  # keep the audit rows of the refusals, as the request boundary does
    account = account_service.get_account(db, district)
    assert account.is_active
    assert account_service.account_from_api_key(db, world.api_keys["district"]) is not None
    denied = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "permission.denied", AuditEvent.actor_username == "admin1"
        )
    ).all()
    assert len(denied) == 4
    # Within their own community the admin does manage accounts.
    account_service.set_password(db, admin1, world.accounts["alice"], "Brand-New-Pass-99")
    db.commit()
    ok = account_service.login(
        db, settings, username="alice", password="Brand-New-Pass-99", ip=None, user_agent=None
    )
    assert ok.account.id == world.accounts["alice"]


def test_revoking_a_grant_elsewhere_is_refused_and_recorded(db: Session, world: World) -> None:
    [grant] = account_service.grants_of(db, world.accounts["staff2"])
    with pytest.raises(PermissionDenied):
        account_service.revoke_grant(db, actor_of(db, world, "admin1"), grant.id)
    db.commit()
    assert [g.id for g in account_service.grants_of(db, world.accounts["staff2"])] == [grant.id]
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "permission.denied")).one()
    assert denied.place_id == world.places["c2"]
