"""The registry's JSON API, the recipients' CAP feeds and the disclosure log, over HTTP."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from linli.core.crypto import sha256_hex
from linli.core.time import utc_now
from linli.sharing import service as sharing_service
from linli.sharing.models import Disclosure, Recipient
from tests.conftest import World, bearer, login
from tests.sharing.conftest import account_with_role, actor_of, fire_facts, open_incident, recipient
from tests.standards.cap.test_cap import validate_cap

ATOM = "http://www.w3.org/2005/Atom"
BODY = {
    "name": "幸福派出所",
    "kind": "police",
    "purpose": "Public safety response to fires and gas leaks",
    "legal_basis": "legal_duty",
    "allowed_fields": ["headline", "area"],
    "incident_types": ["fire", "gas_leak"],
    "min_severity": 3,
    "retention_days": 30,
}


def _token(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_administrator_registers_a_recipient_and_sees_its_secrets_once(
    client: TestClient, db: Session, world: World
) -> None:
    body = {**BODY, "place_id": world.places["c1"], "webhook_url": "https://police.example/cap"}
    r = client.post("/api/v1/sharing/recipients", json=body, headers=bearer(world, "admin1"))
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    made = r.json()
    assert made["signing_key"]
    assert made["feed_token"]
    assert made["allowed_fields"] == ["headline", "area"]
    stored = db.get(Recipient, made["id"])
    assert stored is not None
    # The token is kept only as its digest; the key encrypted.
    assert stored.feed_token_digest == sha256_hex(made["feed_token"])
    raw = db.execute(
        text("SELECT signing_key FROM share_recipients WHERE id = :id"), {"id": made["id"]}
    ).scalar_one()
    assert made["signing_key"] not in raw
    assert stored.signing_key == made["signing_key"]
    again = client.get(f"/api/v1/sharing/recipients/{made['id']}", headers=bearer(world, "admin1"))
    assert again.status_code == 200
    assert "signing_key" not in again.json()
    assert made["feed_token"] not in again.text
    listed = client.get("/api/v1/sharing/recipients", headers=bearer(world, "admin1")).json()
    assert [x["id"] for x in listed["items"]] == [made["id"]]
    assert made["feed_token"] not in str(listed)


def test_fields_outside_the_catalogue_and_personal_data_without_a_basis_are_refused(
    client: TestClient, db: Session, world: World
) -> None:
    admin = bearer(world, "admin1")
    base = {**BODY, "place_id": world.places["c1"]}
    for fields in (["camera_images"], ["headline", "face_photo"], ["video"]):
        r = client.post(
            "/api/v1/sharing/recipients", json={**base, "allowed_fields": fields}, headers=admin
        )
        assert r.status_code == 422, fields
        assert r.headers["content-type"].startswith("application/problem+json")
        assert fields[-1] in r.json()["detail"]
    personal = {**base, "allowed_fields": ["contact_names"], "legal_basis": "public_interest"}
    r = client.post("/api/v1/sharing/recipients", json=personal, headers=admin)
    assert r.status_code == 422
    r = client.post(
        "/api/v1/sharing/recipients", json={**base, "incident_types": ["parking"]}, headers=admin
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/sharing/recipients", json={**base, "webhook_url": "ftp://x"}, headers=admin
    )
    assert r.status_code == 422
    assert db.scalars(select(Recipient)).first() is None
    # With an emergency basis the same contact field is accepted.
    ok = {**personal, "legal_basis": "vital_interest"}
    assert client.post("/api/v1/sharing/recipients", json=ok, headers=admin).status_code == 201


def test_only_administrators_of_the_place_keep_the_registry(
    client: TestClient, db: Session, world: World
) -> None:
    admin2 = account_with_role(db, world, "admin2", "community_admin", "c2")
    body = {**BODY, "place_id": world.places["c1"]}
    for outsider in ("staff1", "grid1", "auditor1", "alice", "staff2"):
        r = client.post("/api/v1/sharing/recipients", json=body, headers=bearer(world, outsider))
        assert r.status_code == 403, outsider
    r = client.post("/api/v1/sharing/recipients", json=body, headers=admin2)
    assert r.status_code == 403
    # The district administrator holds c1 too.
    r = client.post("/api/v1/sharing/recipients", json=body, headers=bearer(world, "district"))
    assert r.status_code == 201
    rid = r.json()["id"]
    for headers in (admin2, *(bearer(world, u) for u in ("staff1", "auditor1", "alice"))):
        assert client.get(f"/api/v1/sharing/recipients/{rid}", headers=headers).status_code == 404
        r = client.patch(f"/api/v1/sharing/recipients/{rid}", json={"name": "x"}, headers=headers)
        assert r.status_code == 404
        r = client.post(f"/api/v1/sharing/recipients/{rid}/deactivate", headers=headers)
        assert r.status_code == 404
        listed = client.get("/api/v1/sharing/recipients", headers=headers)
        assert listed.json()["items"] == []
    db.expire_all()
    stored = db.get(Recipient, rid)
    assert stored is not None
    assert (stored.name, stored.active) == ("幸福派出所", True)


def test_changing_and_deactivating_a_recipient(
    client: TestClient, db: Session, world: World
) -> None:
    admin = bearer(world, "admin1")
    rid = recipient(db, world).id
    r = client.patch(
        f"/api/v1/sharing/recipients/{rid}",
        json={"allowed_fields": ["headline", "geo"], "webhook_url": "https://city.example/in"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["allowed_fields"] == ["headline", "geo"]
    assert r.json()["signing_key"]  # the new webhook's key, this once
    r = client.patch(f"/api/v1/sharing/recipients/{rid}", json={"name": "新名"}, headers=admin)
    assert r.json()["signing_key"] is None
    r = client.patch(
        f"/api/v1/sharing/recipients/{rid}", json={"allowed_fields": ["gps_trace"]}, headers=admin
    )
    assert r.status_code == 422
    r = client.post(f"/api/v1/sharing/recipients/{rid}/deactivate", headers=admin)
    assert r.status_code == 200
    assert r.json()["active"] is False


def test_the_feed_opens_only_with_the_recipients_token(
    client: TestClient, db: Session, world: World
) -> None:
    police = recipient(db, world, fields=["headline"], name="派出所")
    city = recipient(db, world, name="街道")
    assert police.feed_token
    assert city.feed_token
    open_incident(db, world)
    mine = db.scalars(select(Disclosure).where(Disclosure.recipient_id == police.id)).one()
    theirs = db.scalars(select(Disclosure).where(Disclosure.recipient_id == city.id)).one()
    feed = f"/sharing/feeds/{police.id}/alerts.atom"
    doc = f"/sharing/feeds/{police.id}/alerts/{mine.id}.xml"
    for headers in (
        {},
        _token("lsf_wrong"),
        {"Authorization": f"Basic {police.feed_token}"},
        bearer(world, "admin1"),  # an API key is not a feed token
    ):
        for url in (feed, doc):
            r = client.get(url, headers=headers)
            assert r.status_code == 401, (url, headers)
            assert "3号楼" not in r.text
    # A logged-in session is not a feed token either.
    login(client, "admin1")
    assert client.get(feed).status_code == 401
    client.cookies.clear()
    ok = client.get(feed, headers=_token(police.feed_token))
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/atom+xml")
    atom = ET.fromstring(ok.content)  # noqa: S314  # our own server's output
    links = [e.get("href") for e in atom.iter(f"{{{ATOM}}}link") if e.get("rel") == "alternate"]
    assert links == [f"http://testserver{doc}"]
    r = client.get(doc, headers=_token(police.feed_token))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/cap+xml")
    assert r.content == mine.payload.encode("utf-8")
    validate_cap(r.content)
    # Another recipient's message, or my token on another recipient's feed: not found.
    other = f"/sharing/feeds/{police.id}/alerts/{theirs.id}.xml"
    assert client.get(other, headers=_token(police.feed_token)).status_code == 404
    cross = f"/sharing/feeds/{city.id}/alerts/{theirs.id}.xml"
    assert client.get(cross, headers=_token(police.feed_token)).status_code == 404
    assert client.get(cross, headers=_token(city.feed_token)).status_code == 200
    # Past the retention period the message is gone from the feed (the log keeps it).
    row = db.get(Disclosure, mine.id)
    assert row is not None
    row.created_at = utc_now() - dt.timedelta(days=31)
    db.commit()
    assert client.get(doc, headers=_token(police.feed_token)).status_code == 404
    r = client.get(feed, headers=_token(police.feed_token))
    assert ET.fromstring(r.content).findall(f"{{{ATOM}}}entry") == []  # noqa: S314
    # A deactivated recipient's token opens nothing.
    sharing_service.deactivate_recipient(db, actor_of(db, world, "admin1"), city.id)
    db.commit()
    assert client.get(cross, headers=_token(city.feed_token)).status_code == 401


def test_residents_see_what_was_shared_about_their_home_and_them(
    client: TestClient, db: Session, world: World
) -> None:
    recipient(db, world, place="district", admin="district", fields=["headline"], name="区应急")
    open_incident(db, world, place="c1-b1", title="c1 起火")
    open_incident(db, world, place="c2-b1", title="c2 起火", staff="staff2")
    # A message with alice's own details about a place in c2.
    facts = fire_facts(
        world,
        incident_id=999,
        place_id=world.places["c2-compound"],
        place_path=_path(db, world, "c2-compound"),
        title="c2 求助",
        room="101",
    )
    recipient(db, world, place="district", admin="district", fields=["contact_rooms"], name="急救")
    sharing_service.share_incident(db, facts, msg_type="Alert")
    db.commit()

    def titles(who: str) -> set[str]:
        r = client.get("/api/v1/me/disclosures", headers=bearer(world, who))
        assert r.status_code == 200
        return {f"{d['recipient_name']}:{d['headline']}" for d in r.json()["items"]}

    # Alice: her building's incident, and the message that carried her room.
    assert titles("alice") == {"区应急:c1 起火", "急救:"}
    assert titles("bob") == {"区应急:c1 起火"}
    assert titles("carol") == {"区应急:c2 起火", "区应急:c2 求助", "急救:"}
    item = client.get("/api/v1/me/disclosures", headers=bearer(world, "bob")).json()["items"][0]
    assert item["about"] in ("Fire", "火灾")
    assert item["legal_basis"] == "vital_interest"
    assert "headline" in item["fields"]


def _path(db: Session, world: World, key: str) -> str:
    from linli.place import service as place_service

    return place_service.get(db, world.places[key]).path


def test_the_disclosure_log_is_for_administrators_auditors_and_the_police_liaison(
    client: TestClient, db: Session, world: World
) -> None:
    liaison = account_with_role(db, world, "liaison1", "police_liaison", "c1")
    admin2 = account_with_role(db, world, "admin2", "community_admin", "c2")
    recipient(db, world)
    open_incident(db, world)
    for headers in (liaison, *(bearer(world, u) for u in ("admin1", "auditor1", "district"))):
        r = client.get("/api/v1/sharing/disclosures", headers=headers)
        assert r.status_code == 200, headers
        assert r.json()["total"] == 1
    assert client.get("/api/v1/sharing/disclosures", headers=admin2).json()["total"] == 0
    for refused in ("staff1", "grid1", "alice", "pm1"):
        r = client.get("/api/v1/sharing/disclosures", headers=bearer(world, refused))
        assert r.status_code == 403, refused


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_feed_routes_are_not_in_the_public_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/sharing/recipients" in paths
    assert all(not p.startswith("/api/v1/sharing/feeds") for p in paths)
