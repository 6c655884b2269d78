"""Login, sessions, CSRF and throttling over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from tests.conftest import PASSWORD, World, csrf_of, login


def test_login_sets_a_new_http_only_session_cookie(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    before = dict(client.cookies)
    response = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/me"
    cookie = response.headers["set-cookie"]
    assert "linli_session=" in cookie
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "linli_session" not in before
    assert client.get("/api/v1/me").json()["username"] == "alice"


def test_form_post_without_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "linli_session" not in client.cookies
    logins = db.scalar(select(func.count()).where(AuditEvent.action == "auth.login"))
    assert logins == 0


def test_sixth_failed_login_is_refused_with_429(client: TestClient, db: Session) -> None:
    token = csrf_of(client.get("/login").text)
    codes = []
    for _attempt in range(6):
        r = client.post(
            "/login",
            data={"username": "bob", "password": "wrong-password!", "csrf_token": token},
            follow_redirects=False,
        )
        codes.append(r.status_code)
    assert codes == [401] * 5 + [429]
    # Even the right password is refused while throttled.
    r = client.post(
        "/login",
        data={"username": "bob", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    throttled = db.scalar(select(func.count()).where(AuditEvent.action == "auth.login_throttled"))
    assert throttled == 2
    # Another account is not affected.
    login(client, "alice")


def test_api_key_authenticates_without_csrf(client: TestClient, world: World) -> None:
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {world.api_keys['staff1']}"})
    assert r.status_code == 200
    assert r.json()["username"] == "staff1"
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer lk_nope_nope"})
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_logging_in_again_ends_the_previous_session(client: TestClient) -> None:
    login(client, "alice")
    old = client.cookies.get("linli_session")
    login(client, "alice")
    new = client.cookies.get("linli_session")
    assert old
    assert new
    assert old != new
    client.cookies.set("linli_session", old)
    assert client.get("/api/v1/me").status_code == 401
