"""The emergency basis (PIPL art. 13(4)): named roles only, time-boxed, audited, shown (S5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from linli.core.errors import PermissionDenied
from linli.core.time import utc_now
from linli.place import service as place_service
from linli.sharing import service as sharing_service
from linli.sharing.models import Disclosure, DisclosureResident, Recipient
from linli.sharing.schemas import RecipientCreate
from tests.conftest import World, bearer
from tests.sharing.conftest import actor_of, fire_facts

INVOKE = "sharing.emergency.invoke"


def _body(world: World, **changes: object) -> dict[str, object]:
    return {
        "place_id": world.places["c1"],
        "name": "120 急救中心",
        "kind": "medical",
        "purpose": "Getting residents who asked for help out of a fire",
        "legal_basis": "vital_interest",
        "allowed_fields": ["headline", "contact_rooms"],
        "incident_types": ["fire", "help_request"],
        "min_severity": 1,
    } | changes


def _invocations(db: Session) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == INVOKE)))


def _recipients(db: Session) -> list[Recipient]:
    db.expire_all()
    return list(db.scalars(select(Recipient)))


def _aware(value: dt.datetime) -> dt.datetime:
    assert value.utcoffset() == dt.timedelta(0)
    return value


def _facts(db: Session, world: World, incident_id: int) -> sharing_service.IncidentFacts:
    """A fire in alice's building where alice asked for help."""
    place = place_service.get(db, world.places["c1-b1"])
    return fire_facts(
        world,
        incident_id=incident_id,
        place_id=place.id,
        place_path=place.path,
        title="1号楼起火",
        room="1-101",
    )


def test_emergency_basis_is_named_roles_only_time_boxed_audited_and_shown(
    client: TestClient, db: Session, world: World, make_client: Callable[..., TestClient]
) -> None:
    url = "/api/v1/sharing/recipients"
    # Staff, grid workers, auditors and residents cannot invoke it: refused, nothing stored.
    for outsider in ("staff1", "grid1", "auditor1", "pm1", "alice"):
        r = client.post(url, json=_body(world), headers=bearer(world, outsider))
        assert r.status_code == 403, outsider
    with pytest.raises(PermissionDenied):
        sharing_service.create_recipient(
            db, actor_of(db, world, "staff1"), RecipientCreate.model_validate(_body(world))
        )
    db.rollback()
    assert _recipients(db) == []
    assert _invocations(db) == []

    # More than 168 hours is refused, even to an administrator.
    admin = bearer(world, "admin1")
    for hours in (169, 24 * 30, 0):
        r = client.post(url, json=_body(world, emergency_hours=hours), headers=admin)
        assert r.status_code == 422, hours
    assert _recipients(db) == []
    assert _invocations(db) == []

    # An administrator invokes it: 72 hours unless told otherwise, and one audit row.
    before = utc_now()
    r = client.post(url, json=_body(world), headers=admin)
    after = utc_now()
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    stored = db.get(Recipient, rid)
    assert stored is not None
    expires = _aware(stored.basis_expires_at or before)
    assert before + dt.timedelta(hours=72) <= expires <= after + dt.timedelta(hours=72)
    assert stored.basis_invoked_by == "community_admin"
    [event] = _invocations(db)
    assert event.actor_account_id == world.accounts["admin1"]
    assert event.actor_username == "admin1"
    assert (event.subject_type, event.subject_id) == ("share_recipient", str(rid))
    assert event.place_id == world.places["c1"]
    assert event.reason == "PIPL art. 13(4)"
    detail = orjson.loads(event.detail)
    assert detail["role"] == "community_admin"
    assert dt.datetime.fromisoformat(detail["expires_at"]) == expires
    assert before <= _aware(event.at) <= after

    # The district administrator may too, for at most 168 hours; the role is named.
    r = client.post(
        url,
        json=_body(world, name="区应急", emergency_hours=168),
        headers=bearer(world, "district"),
    )
    assert r.status_code == 201, r.text
    by_district = db.get(Recipient, r.json()["id"])
    assert by_district is not None
    span = _aware(by_district.basis_expires_at or before) - _aware(by_district.created_at)
    assert span == dt.timedelta(hours=168)
    assert by_district.basis_invoked_by == "district_admin"
    assert [e.actor_username for e in _invocations(db)] == ["admin1", "district"]

    # Switching an existing entry to the emergency basis invokes it as well (and is logged).
    r = client.post(url, json=_body(world, name="派出所", legal_basis="legal_duty"), headers=admin)
    assert r.status_code == 201
    police = r.json()["id"]
    assert len(_invocations(db)) == 2
    patch = {"legal_basis": "vital_interest", "emergency_hours": 24}
    r = client.patch(f"{url}/{police}", json=patch, headers=bearer(world, "staff1"))
    assert r.status_code == 404
    r = client.patch(f"{url}/{police}", json={**patch, "emergency_hours": 169}, headers=admin)
    assert r.status_code == 422
    unchanged = db.get(Recipient, police)
    assert unchanged is not None
    assert (unchanged.legal_basis, unchanged.basis_expires_at) == ("legal_duty", None)
    r = client.patch(f"{url}/{police}", json=patch, headers=admin)
    assert r.status_code == 200, r.text
    db.expire_all()
    switched = db.get(Recipient, police)
    assert switched is not None
    assert switched.basis_expires_at is not None
    assert _aware(switched.basis_expires_at) - _aware(switched.updated_at) == dt.timedelta(hours=24)
    assert [e.subject_id for e in _invocations(db)] == [str(rid), str(by_district.id), str(police)]
    for other in (by_district.id, police):
        sharing_service.deactivate_recipient(db, actor_of(db, world, "district"), other)
    db.commit()

    # Within the window the rooms of those who asked for help may go out...
    inside = sharing_service.share_incident(
        db, _facts(db, world, 901), msg_type="Alert", now=expires - dt.timedelta(minutes=1)
    )
    # ...once it has ended, the same recipient gets the alert without anyone's details.
    lapsed = sharing_service.share_incident(
        db, _facts(db, world, 902), msg_type="Alert", now=expires
    )
    db.commit()
    assert len(inside) == len(lapsed) == 1
    first, second = db.get(Disclosure, inside[0]), db.get(Disclosure, lapsed[0])
    assert first is not None
    assert second is not None
    assert "contact_rooms" in first.fields
    assert "1-101" in first.payload
    assert "contact_rooms" not in second.fields
    assert "1-101" not in second.payload
    assert "王小丽" not in second.payload
    concerned = select(DisclosureResident.disclosure_id).where(
        DisclosureResident.resident_id == world.residents["alice"]
    )
    assert list(db.scalars(concerned)) == [first.id]
    assert sharing_service.basis_in_force(stored, expires - dt.timedelta(seconds=1)) == (
        "vital_interest"
    )
    assert sharing_service.basis_in_force(stored, expires) == "vital_interest_lapsed"

    # The resident sees both messages afterwards, with the basis and until when it held.
    r = client.get("/api/v1/me/disclosures", headers=bearer(world, "alice"))
    assert r.status_code == 200
    items = {d["id"]: d for d in r.json()["items"]}
    assert set(items) == {first.id, second.id}
    for item in items.values():
        assert item["legal_basis"] == "vital_interest"
        assert dt.datetime.fromisoformat(item["emergency_until"]) == expires
    assert "contact_rooms" in items[first.id]["fields"]
    assert "contact_rooms" not in items[second.id]["fields"]
    # The page says it too, in the resident's language.
    page = make_client("alice").get("/me/disclosures")
    assert page.status_code == 200
    assert page.text.count("紧急情况依据有效至") == 2, page.text
    # Carol lives in the other community: neither message concerns her.
    r = client.get("/api/v1/me/disclosures", headers=bearer(world, "carol"))
    assert r.json()["items"] == []
