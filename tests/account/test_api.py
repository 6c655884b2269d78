"""Accounts, grants, sessions and API keys over HTTP, with what each leaves in the database."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.models import Account, ApiKey, AuthSession, RoleGrant
from linli.app import create_app
from linli.audit.models import AuditEvent
from linli.config import Settings
from linli.core.crypto import sha256_hex
from linli.resident.models import Resident
from tests.conftest import PASSWORD, World, bearer, csrf_of, login

NEW_PASSWORD = "Lantern-Harbour-77"


def session_token(client: TestClient) -> str:
    token = client.cookies.get("linli_session")
    assert isinstance(token, str)
    assert token
    return token


def csrf(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_of(client.get("/").text)}


def denied_events(db: Session, username: str) -> list[AuditEvent]:
    db.expire_all()
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.action == "permission.denied", AuditEvent.actor_username == username)
        .order_by(AuditEvent.id)
    )
    return list(db.scalars(stmt))


def test_community_admin_creates_an_account_and_grants_a_role_in_own_community(
    client: TestClient, world: World, db: Session
) -> None:
    admin = bearer(world, "admin1")
    r = client.post(
        "/api/v1/accounts",
        json={"username": "Helper1", "display_name": "社区帮手", "password": NEW_PASSWORD},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["username"] == "helper1"
    assert "password" not in r.text
    assert "hash" not in r.text
    account = db.get(Account, created["id"])
    assert account is not None
    assert account.password_hash is not None
    assert account.password_hash.startswith("$argon2id$")
    assert NEW_PASSWORD not in account.password_hash
    r = client.post(
        f"/api/v1/accounts/{created['id']}/grants",
        json={"role": "grid_worker", "place_id": world.places["c1-compound"]},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    grant = db.scalars(select(RoleGrant).where(RoleGrant.account_id == created["id"])).one()
    assert (grant.role, grant.place_id) == ("grid_worker", world.places["c1-compound"])
    assert grant.granted_by_account_id == world.accounts["admin1"]
    actions = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.actor_username == "admin1")
        .order_by(AuditEvent.id)
    ).all()
    assert actions[-2:] == ["account.created", "role.granted"]
    # The new grid worker works in c1 only.
    helper = TestClient(client.app, raise_server_exceptions=False)
    with helper:
        login(helper, "helper1", NEW_PASSWORD)
        names = helper.get("/api/v1/residents").json()["items"]
        assert {n["id"] for n in names} == {
            world.residents["alice"],
            world.residents["alan"],
            world.residents["bob"],
        }
    listed = {a["username"] for a in client.get("/api/v1/accounts", headers=admin).json()}
    assert {"helper1", "staff1", "alice"} <= listed
    assert not listed & {"staff2", "carol"}


def test_community_admin_cannot_grant_in_another_community_or_above_own_level(
    client: TestClient, world: World, db: Session
) -> None:
    admin = bearer(world, "admin1")
    target = world.accounts["bob"]
    attempts = (
        ("community_staff", world.places["c2"]),
        ("auditor", world.places["c2-b1u1"]),
        ("district_admin", world.places["c1"]),
        ("district_admin", world.places["district"]),
        ("community_admin", world.places["c1"]),
    )
    for role, place_id in attempts:
        r = client.post(
            f"/api/v1/accounts/{target}/grants",
            json={"role": role, "place_id": place_id},
            headers=admin,
        )
        assert r.status_code == 403, (role, place_id, r.text)
        assert r.json()["type"].endswith("/permission_denied")
    assert db.scalars(select(RoleGrant.role).where(RoleGrant.account_id == target)).all() == [
        "resident"
    ]
    denied = denied_events(db, "admin1")
    assert [(e.place_id, e.outcome) for e in denied] == [(p, "denied") for _r, p in attempts]
    assert all(e.subject_id == str(target) for e in denied)
    assert '"district_admin"' in denied[2].detail
    # Unknown roles are refused by the schema.
    r = client.post(
        f"/api/v1/accounts/{target}/grants",
        json={"role": "superuser", "place_id": world.places["c1"]},
        headers=admin,
    )
    assert r.status_code == 422


def test_non_administrators_cannot_create_accounts_or_grant(
    client: TestClient, world: World, db: Session
) -> None:
    before = db.scalar(select(func.count()).select_from(Account))
    for who in ("staff1", "alice", "auditor1", "pm1"):
        r = client.post(
            "/api/v1/accounts",
            json={"username": f"x-{who}", "display_name": "X", "password": NEW_PASSWORD},
            headers=bearer(world, who),
        )
        assert r.status_code == 403, who
        r = client.post(
            f"/api/v1/accounts/{world.accounts[who]}/grants",
            json={"role": "community_admin", "place_id": world.places["c1"]},
            headers=bearer(world, who),
        )
        assert r.status_code == 403, who
        assert client.get("/api/v1/accounts", headers=bearer(world, who)).status_code == 403
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Account)) == before
    assert len(denied_events(db, "alice")) == 1


def test_community_admin_cannot_link_an_account_to_a_resident_elsewhere(
    client: TestClient, world: World, db: Session
) -> None:
    r = client.post(
        "/api/v1/residents",
        json={"household_id": world.households["h3"], "name": "周二娃", "relation": "family"},
        headers=bearer(world, "staff2"),
    )
    assert r.status_code == 201
    c2_resident = r.json()["id"]
    r = client.post(
        "/api/v1/accounts",
        json={
            "username": "takeover",
            "display_name": "Takeover",
            "password": NEW_PASSWORD,
            "resident_id": c2_resident,
        },
        headers=bearer(world, "admin1"),
    )
    assert r.status_code == 403, r.text
    assert db.scalar(select(func.count()).where(Account.username == "takeover")) == 0
    [denied] = denied_events(db, "admin1")
    assert denied.subject_resident_id == c2_resident
    # The district admin, whose places include c2, may.
    r = client.post(
        "/api/v1/accounts",
        json={
            "username": "zhou",
            "display_name": "Zhou",
            "password": NEW_PASSWORD,
            "resident_id": c2_resident,
        },
        headers=bearer(world, "district"),
    )
    assert r.status_code == 201, r.text


def test_account_input_is_checked(client: TestClient, world: World) -> None:
    admin = bearer(world, "admin1")
    cases = (
        ({"username": "staff1", "display_name": "Dup", "password": NEW_PASSWORD}, 409),
        ({"username": "weakling", "display_name": "W", "password": "1234567890"}, 422),
        ({"username": "shorty", "display_name": "S", "password": "abc"}, 422),
        ({"username": "withname", "display_name": "Withname", "password": "withname-2026!"}, 422),
        ({"username": "bad name", "display_name": "B", "password": NEW_PASSWORD}, 422),
        ({"username": "nul", "display_name": "A\x00B", "password": NEW_PASSWORD}, 422),
        (
            {
                "username": "linked",
                "display_name": "L",
                "password": NEW_PASSWORD,
                "resident_id": world.residents["alice"],
            },
            409,
        ),
    )
    for body, status in cases:
        r = client.post("/api/v1/accounts", json=body, headers=admin)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_logout_everywhere_ends_every_session(
    make_client: Callable[..., TestClient], world: World, db: Session
) -> None:
    first = make_client("alice")
    second = make_client("alice")
    old_token = session_token(first)
    assert first.get("/api/v1/me").status_code == 200
    assert len(second.get("/api/v1/me/sessions").json()) == 2
    r = second.post("/api/v1/me/logout-everywhere", headers=csrf(second))
    assert r.status_code == 204
    assert first.get("/api/v1/me").status_code == 401
    assert second.get("/api/v1/me").status_code == 401
    replay = make_client()
    replay.cookies.set("linli_session", old_token)
    assert replay.get("/api/v1/me").status_code == 401
    db.expire_all()
    sessions = db.scalars(
        select(AuthSession).where(AuthSession.account_id == world.accounts["alice"])
    ).all()
    assert len(sessions) == 2
    assert all(s.revoked_at is not None for s in sessions)
    assert db.scalar(select(func.count()).where(AuditEvent.action == "auth.logout_everywhere")) == 1
    # Other accounts keep their sessions.
    bob = make_client("bob")
    assert bob.get("/api/v1/me").status_code == 200


def test_disabled_account_cannot_log_in_and_its_sessions_die(
    make_client: Callable[..., TestClient],
    client: TestClient,
    world: World,
    db: Session,
) -> None:
    alice = make_client("alice")
    assert alice.get("/api/v1/me").status_code == 200
    admin = account_service.build_actor(
        db, account_service.get_account(db, world.accounts["admin1"]), via="cli"
    )
    account_service.set_active(db, admin, world.accounts["alice"], active=False)
    db.commit()
    assert alice.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=bearer(world, "alice")).status_code == 401
    fresh = make_client()
    page = fresh.get("/login")
    r = fresh.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 401
    assert "linli_session" not in fresh.cookies
    db.expire_all()
    sessions = db.scalars(
        select(AuthSession).where(AuthSession.account_id == world.accounts["alice"])
    ).all()
    assert sessions
    assert all(s.revoked_at is not None for s in sessions)
    failed = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).one()
    assert '"disabled"' in failed.detail
    assert db.scalar(select(func.count()).where(AuditEvent.action == "account.disabled")) == 1
    # Re-enabled, the account logs in again; the old sessions stay dead.
    account_service.set_active(db, admin, world.accounts["alice"], active=True)
    db.commit()
    assert alice.get("/api/v1/me").status_code == 401
    assert make_client("alice").get("/api/v1/me").status_code == 200


def test_staff_of_another_community_cannot_disable_an_account(world: World, db: Session) -> None:
    from linli.core.errors import PermissionDenied

    staff2 = account_service.build_actor(
        db, account_service.get_account(db, world.accounts["staff2"]), via="cli"
    )
    try:
        account_service.set_active(db, staff2, world.accounts["alice"], active=False)
    except PermissionDenied:
        pass
    else:
        raise AssertionError("staff of c2 disabled an account of c1")
    db.rollback()
    account = db.get(Account, world.accounts["alice"])
    assert account is not None
    assert account.is_active


def test_api_key_is_shown_once_stored_as_digest_and_revocable(
    client: TestClient, world: World, db: Session
) -> None:
    alice = bearer(world, "alice")
    r = client.post("/api/v1/me/api-keys", json={"name": "家里的平板"}, headers=alice)
    assert r.status_code == 201, r.text
    created = r.json()
    plain = created["key"]
    assert plain.startswith("lk_")
    stored = db.get(ApiKey, created["id"])
    assert stored is not None
    assert plain.split("_", 2)[2] not in stored.secret_hash
    assert stored.secret_hash == sha256_hex(plain.split("_", 2)[2])
    key = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/me", headers=key).json()["username"] == "alice"
    listing = client.get("/api/v1/me/api-keys", headers=alice)
    assert plain not in listing.text
    assert "key" not in listing.json()[0]
    # Another resident cannot revoke it; the key keeps working.
    r = client.delete(f"/api/v1/me/api-keys/{created['id']}", headers=bearer(world, "bob"))
    assert r.status_code in (403, 404)
    assert client.get("/api/v1/me", headers=key).status_code == 200
    r = client.delete(f"/api/v1/me/api-keys/{created['id']}", headers=alice)
    assert r.status_code == 204
    r = client.get("/api/v1/me", headers=key)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    db.expire_all()
    stored = db.get(ApiKey, created["id"])
    assert stored is not None
    assert stored.revoked_at is not None
    assert stored.revoked_at.tzinfo is not None
    assert db.scalar(select(func.count()).where(AuditEvent.action == "apikey.revoked")) == 1
    # A key with the right prefix and a wrong secret does not work either.
    prefix = plain.split("_", 2)[1]
    forged = {"Authorization": f"Bearer lk_{prefix}_{'A' * 43}"}
    assert client.get("/api/v1/me", headers=forged).status_code == 401


def test_login_issues_a_fresh_session_token(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    c = make_client()
    planted = {"Cookie": "linli_session=attacker-chosen-session-id"}
    assert c.get("/api/v1/me", headers=planted).status_code == 401
    page = c.get("/login", headers=planted)
    anon_csrf = page.cookies["linli_csrf"]
    r = c.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        headers={"Cookie": f"{planted['Cookie']}; linli_csrf={anon_csrf}"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    first = r.cookies["linli_session"]
    assert first != "attacker-chosen-session-id"
    assert len(first) >= 32  # at least 128 bits of randomness, URL-safe base64
    other = make_client("alice")
    second = session_token(other)
    assert second != first
    # Only digests of the tokens are stored.
    hashes = set(
        db.scalars(
            select(AuthSession.token_hash).where(AuthSession.account_id == world.accounts["alice"])
        )
    )
    assert hashes == {sha256_hex(first), sha256_hex(second)}


def test_secure_deployment_uses_host_prefixed_secure_cookie(settings: Settings) -> None:
    secure = settings.model_copy(update={"base_url": "https://linli.example"})
    app: FastAPI = create_app(secure)
    try:
        with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
            page = c.get("/login")
            assert "max-age=31536000" in page.headers["strict-transport-security"]
            r = c.post(
                "/login",
                data={"username": "bob", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
                follow_redirects=False,
            )
            assert r.status_code == 303, r.text
            cookie = next(
                v for k, v in r.headers.multi_items() if k == "set-cookie" and "session" in v
            )
            assert cookie.startswith("__Host-linli_session=")
            lowered = cookie.lower()
            assert "secure" in lowered
            assert "httponly" in lowered
            assert "path=/" in lowered
            assert "domain=" not in lowered
            assert c.get("/api/v1/me").json()["username"] == "bob"
    finally:
        app.state.engine.dispose()


def test_residents_of_the_world_are_untouched_by_account_tests(db: Session) -> None:
    assert db.scalar(select(func.count()).select_from(Resident)) == 4
