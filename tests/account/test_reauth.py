"""Re-authentication (A13): changing the phone number, the notification e-mail address or the
recovery codes asks for the current password again; a miss changes nothing and is audited."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

import httpx
import pyotp
import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.models import Account, AuthSession, MfaRecoveryCode
from linli.audit.models import AuditEvent
from linli.core.crypto import sha256_hex
from linli.resident.models import Resident
from tests.account.test_service import reload_actor
from tests.conftest import PASSWORD, World, bearer, csrf_of

MakeClient = Callable[..., TestClient]
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
SECRET_RE = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')
CODE_RE = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")
ALICE_PHONE = "13812345678"


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _failed(db: Session, action: str = "auth.reauth_failed") -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).where(AuditEvent.action == action)) or 0)


def _phone(db: Session, world: World) -> str | None:
    db.expire_all()
    resident = db.get(Resident, world.residents["alice"])
    assert resident is not None
    return resident.phone


def _email(db: Session, world: World) -> str | None:
    db.expire_all()
    account = db.get(Account, world.accounts["alice"])
    assert account is not None
    return account.email


def _post(client: TestClient, page: str, url: str, data: dict[str, str]) -> httpx.Response:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_changing_phone_needs_the_current_password(
    make_client: MakeClient, client: TestClient, world: World, db: Session
) -> None:
    alice = make_client("alice")  # pages and problem details come in Chinese by default
    form = alice.get("/me/profile").text
    assert re.search(r'<input id="phone-password"[^>]*autocomplete="current-password"', form)
    # On the page: without the password, or with a wrong one, nothing changes.
    for password, shown in (
        ("", "更换手机号码需要输入您的密码。"),
        ("not-my-password", "密码不对。"),
    ):
        data = {"phone": "13900001111", "password": password}
        r = _post(alice, "/me/profile", "/me/profile/phone", data)
        assert r.status_code == 403
        assert shown in r.text
        assert re.search(r'id="phone-password-error" role="alert"', r.text)
        assert 'value="13900001111"' in r.text  # the typed number is kept
        assert _phone(db, world) == ALICE_PHONE
    assert _failed(db) == 2
    db.expire_all()
    assert not list(db.scalars(select(AuditEvent).where(AuditEvent.action == "resident.updated")))
    # The right password changes it.
    r = _post(
        alice, "/me/profile", "/me/profile/phone", {"phone": "13900001111", "password": PASSWORD}
    )
    assert r.status_code == 303
    assert _phone(db, world) == "13900001111"

    # Through the API an API key is not a fresh login: the body carries the password.
    key = bearer(world, "alice")
    for body in ({"phone": "13700001234"}, {"phone": "13700001234", "current_password": "x"}):
        r = client.patch("/api/v1/me/resident", json=body, headers=key)
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "密码" in r.json()["detail"]
        assert _phone(db, world) == "13900001111"
    assert _failed(db) == 4
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.reauth_failed")).first()
    assert event is not None
    assert event.outcome == "denied"
    assert PASSWORD not in event.detail
    assert "not-my-password" not in event.detail
    body = {"phone": "13700001234", "current_password": PASSWORD}
    r = client.patch("/api/v1/me/resident", json=body, headers=key)
    assert r.status_code == 200, r.text
    assert _phone(db, world) == "13700001234"
    # The same number again is no change and asks nothing.
    r = client.patch("/api/v1/me/resident", json={"phone": "13700001234"}, headers=key)
    assert r.status_code == 200, r.text


def test_the_desk_changes_the_phone_of_a_present_resident_without_her_password(
    make_client: MakeClient, world: World, db: Session
) -> None:
    staff = make_client("staff1")
    token = staff.cookies["linli_session"]
    session = db.scalars(
        select(AuthSession).where(AuthSession.token_hash == sha256_hex(token))
    ).one()
    new = account_service.start_assist(
        db,
        reload_actor(db, session),
        session,
        resident_id=world.residents["alice"],
        present=True,
        reason="代办换号",
    )
    db.commit()
    staff.cookies.set("linli_session", new)
    page = staff.get("/me/profile")
    assert page.status_code == 200
    assert 'name="phone"' in page.text
    assert 'name="password"' not in page.text  # the staff member's login stands for it
    r = _post(staff, "/me/profile", "/me/profile/phone", {"phone": "13900002222"})
    assert r.status_code == 303, r.text
    assert _phone(db, world) == "13900002222"
    assert _failed(db) == 0


def test_new_recovery_codes_need_the_current_password(
    clock: time_machine.Traveller, make_client: MakeClient, world: World, db: Session
) -> None:
    alice = make_client("alice")
    page = alice.get("/me/security/mfa")
    match = SECRET_RE.search(page.text)
    assert match
    done = alice.post(
        "/me/security/mfa",
        data={"code": pyotp.TOTP(match.group(1)).now(), "csrf_token": csrf_of(page.text)},
    )
    assert done.status_code == 200, done.text
    old = set(CODE_RE.findall(done.text))
    assert len(old) == 10
    db.expire_all()
    hashes = set(db.scalars(select(MfaRecoveryCode.code_hash)))
    failed = _failed(db, "auth.mfa_failed")
    for password in ("", "not-my-password"):
        r = _post(
            alice, "/me/security/mfa", "/me/security/mfa/recovery-codes", {"password": password}
        )
        assert r.status_code == 401
        assert 'id="renew-password-error"' in r.text
        assert not set(CODE_RE.findall(r.text))
        db.expire_all()
        assert set(db.scalars(select(MfaRecoveryCode.code_hash))) == hashes
    assert _failed(db, "auth.mfa_failed") == failed + 2
    r = _post(alice, "/me/security/mfa", "/me/security/mfa/recovery-codes", {"password": PASSWORD})
    assert r.status_code == 200, r.text
    new = set(CODE_RE.findall(r.text))
    assert len(new) == 10
    assert not new & old
    db.expire_all()
    assert not set(db.scalars(select(MfaRecoveryCode.code_hash))) & hashes


def test_changing_notification_email_needs_the_current_password(
    make_client: MakeClient, client: TestClient, world: World, db: Session
) -> None:
    alice = make_client("alice")
    form = {"email": "alice@example.org", "quiet_start": "22:00", "quiet_end": "07:00"}
    for password, shown in (
        ("", "更换电子邮箱地址需要输入您的密码。"),
        ("not-my-password", "密码不对。"),
    ):
        r = _post(
            alice,
            "/me/notifications",
            "/me/notifications/preferences",
            {**form, "password": password},
        )
        assert r.status_code == 403
        assert shown in r.text
        assert re.search(r'id="email-password-error" role="alert"', r.text)
        assert 'value="alice@example.org"' in r.text
        assert _email(db, world) is None
    assert _failed(db) == 2
    r = _post(
        alice, "/me/notifications", "/me/notifications/preferences", {**form, "password": PASSWORD}
    )
    assert r.status_code == 303
    assert _email(db, world) == "alice@example.org"
    # Other preferences change without the password while the address stays the same.
    r = _post(
        alice, "/me/notifications", "/me/notifications/preferences", {**form, "daily_cap": "4"}
    )
    assert r.status_code == 303
    assert alice.get("/api/v1/notification-preferences").json()["daily_cap"] == 4

    key = bearer(world, "alice")
    for body in ({"email": "a@example.org"}, {"email": "", "current_password": "x"}):
        r = client.put("/api/v1/notification-preferences", json=body, headers=key)
        assert r.status_code == 403
        assert "密码" in r.json()["detail"]
        assert _email(db, world) == "alice@example.org"
    assert _failed(db) == 4
    r = client.put("/api/v1/notification-preferences", json={"daily_cap": 7}, headers=key)
    assert r.status_code == 200, r.text
    body = {"email": "a@example.org", "current_password": PASSWORD}
    r = client.put("/api/v1/notification-preferences", json=body, headers=key)
    assert r.status_code == 200, r.text
    assert _email(db, world) == "a@example.org"
