"""Pages of data sharing in both languages and in elder mode: the registry, the log, residents."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.crypto import sha256_hex
from linli.sharing.models import Recipient
from tests.conftest import World, csrf_of
from tests.sharing.conftest import open_incident, recipient

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
TOKEN = re.compile(r'<code class="token">([^<]+)</code>')


def _client(make_client: object, who: str, lang: str = "en", elder: bool = False) -> TestClient:
    client: TestClient = make_client(who)  # type: ignore[operator]  # the fixture's factory
    client.cookies.set("linli_lang", lang)
    if elder:
        client.cookies.set("linli_elder", "1")
    return client


def test_an_administrator_adds_a_recipient_with_the_form(
    make_client: object, db: Session, world: World
) -> None:
    admin = _client(make_client, "admin1")
    page = admin.get("/console/sharing/new")
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_of(page.text),
        "place_id": str(world.places["c1"]),
        "name": "幸福派出所",
        "kind": "police",
        "purpose": "Public safety",
        "legal_basis": "vital_interest",
        "allowed_fields": ["headline", "contact_rooms"],
        "incident_types": ["fire"],
        "min_severity": "3",
        "webhook_url": "https://police.example/cap",
        "retention_days": "30",
    }
    issued = admin.post("/console/sharing", data=form)
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    assert "only time" in issued.text
    feed_token, signing_key = TOKEN.findall(issued.text)
    stored = db.scalars(select(Recipient)).one()
    assert stored.feed_token_digest == sha256_hex(feed_token)
    assert stored.signing_key == signing_key
    assert stored.allowed_fields == ["headline", "contact_rooms"]
    listed = admin.get("/console/sharing")
    assert "幸福派出所" in listed.text
    assert feed_token not in listed.text
    assert signing_key not in listed.text
    # Refused with a message on the form: contact details on a public-interest basis.
    form["legal_basis"] = "public_interest"
    form["csrf_token"] = csrf_of(listed.text)
    refused = admin.post("/console/sharing", data=form)
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert len(db.scalars(select(Recipient)).all()) == 1
    # Change it, then deactivate it.
    edit = admin.get(f"/console/sharing/{stored.id}")
    assert edit.status_code == 200
    changed = admin.post(
        f"/console/sharing/{stored.id}",
        data={
            **form,
            "legal_basis": "vital_interest",
            "name": "新名",
            "csrf_token": csrf_of(edit.text),
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    db.expire_all()
    assert db.get(Recipient, stored.id).name == "新名"  # type: ignore[union-attr]
    listed = admin.get("/console/sharing")
    gone = admin.post(
        f"/console/sharing/{stored.id}/deactivate",
        data={"csrf_token": csrf_of(listed.text)},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    db.expire_all()
    assert db.get(Recipient, stored.id).active is False  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("lang", "elder"), [("en", False), ("zh_Hans_CN", False), ("zh_Hans_CN", True)]
)
def test_pages_in_both_languages_and_elder_mode(
    make_client: object, db: Session, world: World, lang: str, elder: bool
) -> None:
    recipient(db, world, fields=["headline", "contact_rooms"], name="派出所")
    open_incident(db, world, title="1号楼起火")
    admin = _client(make_client, "admin1", lang, elder)
    for path in ("/console/sharing", "/console/sharing/new", "/console/sharing/disclosures"):
        r = admin.get(path)
        assert r.status_code == 200, (path, r.text)
        assert ('class="elder' in r.text) == elder
    log = admin.get("/console/sharing/disclosures").text
    assert "1号楼起火" in log
    alice = _client(make_client, "alice", lang, elder)
    mine = alice.get("/me/disclosures")
    assert mine.status_code == 200
    assert "派出所" in mine.text
    assert "1号楼起火" in mine.text
    if lang == "en":
        assert "Information shared outside Linli" in mine.text
        assert "Title of the incident" in mine.text
    else:
        assert "Information shared outside Linli" not in mine.text
    assert 'href="/me/disclosures"' in mine.text  # the resident finds it in the menu
    carol = _client(make_client, "carol", lang, elder)
    assert "1号楼起火" not in carol.get("/me/disclosures").text


def test_the_registry_pages_are_for_administrators_only(
    make_client: object, db: Session, world: World
) -> None:
    rid = recipient(db, world).id
    for who in ("staff1", "auditor1", "alice"):
        c = _client(make_client, who)
        assert c.get("/console/sharing").status_code == 403, who
        assert c.get(f"/console/sharing/{rid}").status_code in (403, 404), who
    district = _client(make_client, "district")
    assert district.get(f"/console/sharing/{rid}").status_code == 200
    auditor = _client(make_client, "auditor1")
    assert auditor.get("/console/sharing/disclosures").status_code == 200
    assert _client(make_client, "staff1").get("/console/sharing/disclosures").status_code == 403
    anonymous = _client(make_client, "alice")
    anonymous.cookies.clear()
    r = anonymous.get("/me/disclosures", follow_redirects=False)
    assert r.status_code in (302, 303, 401)
