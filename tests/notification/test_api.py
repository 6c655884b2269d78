"""The notification API: own inbox and preferences, endpoints by place, the outbox for staff.
Every route is refused to the anonymous, the wrong role and the other community."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from linli.notification.models import Notification
from tests.conftest import PASSWORD, World, bearer
from tests.notification.conftest import add_endpoint, alarm, set_email

ENDPOINT = {
    "channel": "webhook",
    "name": "Duty room",
    "url": "https://hooks.example.org/linli?token=abc123secret",
    "secret": "whsec-abcdefghijklmnop",
    "min_severity": "major",
}


def _endpoint(world: World, place: str = "c1", **extra: Any) -> dict[str, Any]:
    return {**ENDPOINT, "place_id": world.places[place], **extra}


def test_anonymous_gets_401_everywhere(client: TestClient) -> None:
    for method, path in (
        ("GET", "/api/v1/notifications"),
        ("POST", "/api/v1/notifications/1/read"),
        ("POST", "/api/v1/notifications/read-all"),
        ("GET", "/api/v1/notification-preferences"),
        ("PUT", "/api/v1/notification-preferences"),
        ("GET", "/api/v1/notification-endpoints"),
        ("POST", "/api/v1/notification-endpoints"),
        ("PATCH", "/api/v1/notification-endpoints/1"),
        ("DELETE", "/api/v1/notification-endpoints/1"),
        ("GET", "/api/v1/notification-outbox"),
        ("POST", "/api/v1/notification-outbox/1/retry"),
    ):
        r = client.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)
        assert r.status_code == 401, (method, path, r.status_code)


def test_a_person_reads_only_their_own_inbox(client: TestClient, db: Session, world: World) -> None:
    alarm(db, world, "alarm:1:raised", to=("alice", "bob"))
    alarm(db, world, "alarm:2:raised", to=("alice",), subject="Water leak")
    db.commit()
    alice, bob = bearer(world, "alice"), bearer(world, "bob")
    page = client.get("/api/v1/notifications?size=1", headers=alice).json()
    assert page["total"] == 2
    assert page["size"] == 1
    assert page["items"][0]["subject"] == "Water leak"
    assert client.get("/api/v1/notifications?unread=true", headers=bob).json()["total"] == 1
    alices = db.scalars(
        select(Notification.id).where(
            Notification.account_id == world.accounts["alice"], Notification.channel == "inapp"
        )
    ).all()
    # Bob cannot mark Alice's message, nor learn that it exists.
    r = client.post(f"/api/v1/notifications/{alices[0]}/read", headers=bob)
    assert r.status_code == 404
    r = client.post(f"/api/v1/notifications/{alices[0]}/read", headers=alice)
    assert r.status_code == 200
    assert r.json()["read_at"] is not None
    r = client.post("/api/v1/notifications/read-all", headers=alice)
    assert r.json() == {"marked": 1, "unread": 0}
    assert client.get("/api/v1/notifications?unread=true", headers=bob).json()["total"] == 1
    assert client.get("/api/v1/notifications?size=500", headers=alice).status_code == 422


def test_preferences_round_trip_and_validation(
    client: TestClient, db: Session, world: World
) -> None:
    alice = bearer(world, "alice")
    assert client.get("/api/v1/notification-preferences", headers=alice).json() == {
        "email": None,
        "email_enabled": True,
        "quiet_start": "",
        "quiet_end": "",
        "min_severity": "warning",
        "daily_cap": 20,
    }
    body = {
        "email": "alice@example.org",
        "current_password": PASSWORD,
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "min_severity": "major",
        "daily_cap": 5,
    }
    r = client.put("/api/v1/notification-preferences", json=body, headers=alice)
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "alice@example.org"
    assert r.json()["daily_cap"] == 5
    # Bob's stay his own.
    assert (
        client.get("/api/v1/notification-preferences", headers=bearer(world, "bob")).json()["email"]
        is None
    )
    for bad in (
        {"email": "not-an-address"},
        {"quiet_start": "25:00", "quiet_end": "07:00"},
        {"quiet_start": "22:00"},
        {"min_severity": "extreme"},
        {"daily_cap": -1},
        {"unknown": 1},
    ):
        r = client.put("/api/v1/notification-preferences", json=bad, headers=alice)
        assert r.status_code == 422, bad
    # The address change is audited without the address.
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "account.email_changed"))
    [event] = list(events)
    assert event.fields == "email"
    assert "alice@" not in event.detail
    r = client.put(
        "/api/v1/notification-preferences",
        json={"email": "", "current_password": PASSWORD},
        headers=alice,
    )
    assert r.json()["email"] is None


def test_endpoints_belong_to_places_and_hide_their_secrets(
    client: TestClient, db: Session, world: World
) -> None:
    admin1 = bearer(world, "admin1")
    r = client.post("/api/v1/notification-endpoints", json=_endpoint(world), headers=admin1)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["url_hint"] == "https://hooks.example.org/…"
    assert created["has_secret"] is True
    assert created["secret_hint"] == "••••••op"
    for leak in ("abc123secret", "whsec-", "token="):
        assert leak not in r.text
    endpoint_id = created["id"]
    # At rest: encrypted address and secret.
    row = db.execute(
        text("SELECT url, secret FROM notification_endpoints WHERE id = :id"), {"id": endpoint_id}
    ).one()
    assert "abc123secret" not in row.url
    assert "whsec" not in (row.secret or "")
    sms = _endpoint(
        world, channel="sms", url="https://sms.example.org/send", recipients=["13812345678"]
    )
    r = client.post("/api/v1/notification-endpoints", json=sms, headers=admin1)
    assert r.status_code == 201, r.text
    assert r.json()["recipients_hint"] == ["138****5678"]
    assert "13812345678" not in r.text
    # c1 staff see them (masked); c2 staff and residents do not.
    listed = client.get("/api/v1/notification-endpoints", headers=bearer(world, "staff1"))
    assert {e["id"] for e in listed.json()} >= {endpoint_id}
    assert (
        client.get("/api/v1/notification-endpoints", headers=bearer(world, "staff2")).json() == []
    )
    assert (
        client.get("/api/v1/notification-endpoints", headers=bearer(world, "alice")).status_code
        == 403
    )
    # Wrong role, other community: refused, nothing changed.
    r = client.post(
        "/api/v1/notification-endpoints", json=_endpoint(world), headers=bearer(world, "staff1")
    )
    assert r.status_code == 403
    r = client.post("/api/v1/notification-endpoints", json=_endpoint(world, "c2"), headers=admin1)
    assert r.status_code == 403
    for who, code in (("staff2", 404), ("staff1", 403), ("alice", 404)):
        r = client.patch(
            f"/api/v1/notification-endpoints/{endpoint_id}",
            json={"enabled": False},
            headers=bearer(world, who),
        )
        assert r.status_code == code, (who, r.status_code)
        r = client.delete(
            f"/api/v1/notification-endpoints/{endpoint_id}", headers=bearer(world, who)
        )
        assert r.status_code == code, (who, r.status_code)
    # The district administrator manages c1's endpoints too.
    r = client.patch(
        f"/api/v1/notification-endpoints/{endpoint_id}",
        json={"enabled": False, "secret": "short"},
        headers=bearer(world, "district"),
    )
    assert r.status_code == 422  # a webhook's secret must stay long enough
    r = client.patch(
        f"/api/v1/notification-endpoints/{endpoint_id}",
        json={"enabled": False},
        headers=bearer(world, "district"),
    )
    assert r.status_code == 200
    assert r.json()["enabled"] is False
    r = client.delete(f"/api/v1/notification-endpoints/{endpoint_id}", headers=admin1)
    assert r.status_code == 204
    # Invalid bodies.
    for bad in (
        _endpoint(world, secret=None),
        _endpoint(world, url="ftp://x.example.org/"),
        _endpoint(world, channel="pager"),
        _endpoint(world, channel="sms", recipients=["12ab"]),
    ):
        r = client.post("/api/v1/notification-endpoints", json=bad, headers=admin1)
        assert r.status_code == 422, bad


def test_outbox_is_scoped_and_dead_letters_can_be_retried(
    client: TestClient, db: Session, world: World
) -> None:
    set_email(db, world, "alice", "alice@example.org")
    endpoint = add_endpoint(db, world, "c1", "http://127.0.0.1:9/hook")
    add_endpoint(db, world, "c2", "http://127.0.0.1:9/other")
    alarm(db, world, "alarm:5:raised")
    db.commit()
    for row in db.scalars(select(Notification).where(Notification.channel != "inapp")):
        row.status, row.attempts, row.last_error = "dead", 12, "HTTP 503 from the receiver"
    db.commit()
    hook = db.scalars(select(Notification).where(Notification.endpoint_id == endpoint)).one()
    email = db.scalars(select(Notification).where(Notification.channel == "email")).one()
    staff1 = bearer(world, "staff1")
    page = client.get("/api/v1/notification-outbox?status=dead", headers=staff1).json()
    # Only the endpoint's message is listed; the person's e-mail appears as a count.
    assert [i["id"] for i in page["items"]] == [hook.id]
    assert page["items"][0]["last_error"] == "HTTP 503 from the receiver"
    assert {(c["channel"], c["status"], c["count"]) for c in page["counts"]} == {
        ("email", "dead", 1),
        ("webhook", "dead", 1),
    }
    assert "alice@" not in str(page)
    staff2 = client.get("/api/v1/notification-outbox", headers=bearer(world, "staff2")).json()
    assert staff2["items"] == []
    assert staff2["counts"] == []
    assert (
        client.get("/api/v1/notification-outbox", headers=bearer(world, "alice")).status_code == 403
    )
    assert client.get("/api/v1/notification-outbox?status=nope", headers=staff1).status_code == 422
    # Retry: c1 admin only; not another community's, not a person's message.
    assert (
        client.post(f"/api/v1/notification-outbox/{hook.id}/retry", headers=staff1).status_code
        == 403
    )
    for who in ("staff2", "alice"):
        r = client.post(f"/api/v1/notification-outbox/{hook.id}/retry", headers=bearer(world, who))
        assert r.status_code == 404, who
    r = client.post(
        f"/api/v1/notification-outbox/{email.id}/retry", headers=bearer(world, "admin1")
    )
    assert r.status_code == 404
    r = client.post(f"/api/v1/notification-outbox/{hook.id}/retry", headers=bearer(world, "admin1"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending"
    assert r.json()["attempts"] == 0
    r = client.post(f"/api/v1/notification-outbox/{hook.id}/retry", headers=bearer(world, "admin1"))
    assert r.status_code == 409
    db.expire_all()
    assert db.get(Notification, hook.id).last_error == ""  # type: ignore[union-attr]
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "notification.retried")).one()
    assert audit.subject_id == str(hook.id)
