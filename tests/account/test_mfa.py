"""Two-step verification (A28, A13): staff enrol first, login asks for the code, recovery codes
work once, turning it off needs the password again, codes are rate limited and audited."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

import pyotp
import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from linli.account.models import MfaCredential, MfaRecoveryCode
from linli.app import create_app
from linli.audit.models import AuditEvent
from linli.config import Settings
from linli.core import ratelimit
from tests.conftest import PASSWORD, csrf_of, login

START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
SECRET_RE = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')
CODE_RE = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mfa_app(settings: Settings, db: Session) -> Iterator[FastAPI]:
    # After ``db`` (whose app configures the process-wide limits): this app's limits win.
    on = settings.model_copy(
        update={
            "mfa_required_for_staff": True,
            "rate_limits": dict.fromkeys(ratelimit.DEFAULTS, "10000"),
        }
    )
    application = create_app(on)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def new_client(mfa_app: FastAPI) -> Iterator[Callable[[], TestClient]]:
    made: list[TestClient] = []

    def factory() -> TestClient:
        c = TestClient(mfa_app, raise_server_exceptions=False)
        c.__enter__()
        made.append(c)
        return c

    yield factory
    for c in made:
        c.__exit__(None, None, None)


def password_step(c: TestClient, username: str) -> str:
    page = c.get("/login")
    r = c.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def code_step(c: TestClient, code: str) -> int:
    page = c.get("/login/mfa")
    r = c.post(
        "/login/mfa",
        data={"code": code, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    return int(r.status_code)


def enrol(c: TestClient, clock: time_machine.Traveller) -> tuple[str, list[str]]:
    page = c.get("/me/security/mfa")
    assert page.status_code == 200
    match = SECRET_RE.search(page.text)
    assert match, "the secret is shown as text"
    assert "<svg" in page.text
    assert "<script" not in page.text.split("<main", 1)[-1]
    secret = match.group(1)
    wrong = c.post("/me/security/mfa", data={"code": "000000", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 422
    done = c.post(
        "/me/security/mfa",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_of(page.text)},
    )
    assert done.status_code == 200, done.text
    codes = CODE_RE.findall(done.text)
    assert len(codes) == 10
    clock.shift(dt.timedelta(seconds=31))
    return secret, codes


def events(db: Session, action: str) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).where(AuditEvent.action == action)) or 0)


def test_staff_enrol_before_staff_work_and_log_in_with_a_code(
    clock: time_machine.Traveller, new_client: Callable[[], TestClient], db: Session
) -> None:
    c = new_client()
    # Password alone: sent to enrolment; staff pages and staff APIs are closed.
    assert password_step(c, "staff1") == "/me/security/mfa"
    assert c.get("/console").status_code == 403
    assert c.get("/api/v1/me").json()["username"] == "staff1"  # logged in, as no one special
    before = c.cookies["linli_session"]
    secret, codes = enrol(c, clock)
    assert c.cookies["linli_session"] != before  # a privilege change: new token (A10)
    assert c.get("/console").status_code == 200
    assert events(db, "auth.mfa_enrolled") == 1
    assert events(db, "auth.mfa_failed") == 1
    # The secret is stored encrypted, recovery codes as digests only.
    raw = db.execute(text("SELECT secret FROM mfa_credentials")).scalar_one()
    assert secret not in raw
    hashes = list(db.scalars(select(MfaRecoveryCode.code_hash)))
    assert len(hashes) == 10
    assert all(codes[0].replace("-", "") != h for h in hashes)

    # A new login asks for the code; until then the session grants nothing.
    d = new_client()
    assert password_step(d, "staff1").startswith("/login/mfa")
    pending = d.cookies["linli_session"]
    assert d.get("/api/v1/me").status_code == 401
    assert d.get("/console", follow_redirects=False).status_code in (303, 401)
    assert code_step(d, "123456") == 401
    assert code_step(d, pyotp.TOTP(secret).now()) == 303
    assert d.cookies["linli_session"] != pending
    assert d.get("/console").status_code == 200
    bare = new_client()
    assert bare.get("/api/v1/me", headers={"Cookie": f"linli_session={pending}"}).status_code == 401
    # The same code does not work twice.
    e = new_client()
    password_step(e, "staff1")
    assert code_step(e, pyotp.TOTP(secret).now()) == 401

    # A recovery code works once.
    assert code_step(e, codes[0]) == 303
    f = new_client()
    password_step(f, "staff1")
    assert code_step(f, codes[0]) == 401
    assert code_step(f, codes[1].upper()) == 303
    assert events(db, "auth.mfa_verified") == 3


def test_turning_off_needs_the_password_and_a_code(
    clock: time_machine.Traveller, new_client: Callable[[], TestClient], db: Session
) -> None:
    c = new_client()
    assert password_step(c, "alice") == "/me"  # residents are not asked to enrol
    secret, _codes = enrol(c, clock)
    page = c.get("/me/security/mfa")
    token = csrf_of(page.text)
    wrong_pw = c.post(
        "/me/security/mfa/disable",
        data={
            "password": "not-the-password",
            "code": pyotp.TOTP(secret).now(),
            "csrf_token": token,
        },
    )
    assert wrong_pw.status_code == 401
    wrong_code = c.post(
        "/me/security/mfa/disable",
        data={"password": PASSWORD, "code": "111111", "csrf_token": token},
    )
    assert wrong_code.status_code == 422
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(MfaCredential)) == 1
    ok = c.post(
        "/me/security/mfa/disable",
        data={"password": PASSWORD, "code": pyotp.TOTP(secret).now(), "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(MfaCredential)) == 0
    assert db.scalar(select(func.count()).select_from(MfaRecoveryCode)) == 0
    assert events(db, "auth.mfa_disabled") == 1
    assert events(db, "auth.mfa_failed") >= 3
    # Logging in is one step again.
    assert password_step(new_client(), "alice") == "/me"


def test_login_codes_are_rate_limited(
    clock: time_machine.Traveller,
    new_client: Callable[[], TestClient],
    db: Session,
    mfa_app: FastAPI,
) -> None:
    c = new_client()
    password_step(c, "bob")
    secret, _codes = enrol(c, clock)
    # The real limit (5 codes in 15 minutes), counted from a clean window.
    ratelimit.configure(mfa_app.state.settings.model_copy(update={"rate_limits": {}}))
    assert ratelimit.active(ratelimit.MFA_CODE_ACCOUNT).max_hits == 5
    clock.shift(dt.timedelta(minutes=16))
    d = new_client()
    password_step(d, "bob")
    statuses = [code_step(d, "000000") for _ in range(5)]
    assert statuses == [401] * 5
    # The sixth try is refused even with the right code.
    assert code_step(d, pyotp.TOTP(secret).now()) == 429
    assert events(db, "ratelimit.refused") == 1


def test_demo_mode_does_not_ask_staff_to_enrol(settings: Settings) -> None:
    assert settings.model_copy(update={"mfa_required_for_staff": True}).mfa_enforced
    demo = settings.model_copy(update={"mfa_required_for_staff": True, "demo_mode": True})
    assert not demo.mfa_enforced


def test_without_the_requirement_staff_work_with_a_password(
    make_client: Callable[..., TestClient],
) -> None:
    assert make_client("staff1").get("/console").status_code == 200
    assert login  # the shared helper logs in with one step when the requirement is off
