"""No default accounts (checklist row A7): a freshly migrated database holds no account, the
usual default logins are refused on the login page and the API, starting the app creates none,
and the first administrator is made at the server's console by `linli user create`."""

from __future__ import annotations

import base64
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from linli.account import service as account_service
from linli.account.models import Account, ApiKey, RoleGrant
from linli.app import create_app
from linli.audit.models import AuditEvent
from linli.cli import app as cli_app
from linli.config import Settings
from linli.core import ratelimit
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate
from linli.web.deps import MFA_ENROL_PATH
from tests.conftest import BACKENDS, POSTGRES_URL, TEST_SECRET, csrf_of

# Pairs that scanners and people try first on a new installation.
DEFAULT_LOGINS = [
    ("admin", "admin"),
    ("admin", "password"),
    ("admin", "123456"),
    ("admin", "admin123"),
    ("admin", "changeme"),
    ("administrator", "administrator"),
    ("root", "root"),
    ("root", "toor"),
    ("linli", "linli"),
    ("linli", "linli123"),
    ("demo", "demo"),
    ("test", "test"),
    ("guest", "guest"),
    ("user", "user"),
]
ADMIN_PASSWORD = "Lamplighter-Quay-2026"

_databases = itertools.count()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database that does not exist yet (SQLite) or is empty (PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh' / 'linli.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("LINLI_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"linli_fresh_{os.getpid()}_{next(_databases)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def console(empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The operator's shell on the server: production settings from the environment only."""
    for name in list(os.environ):
        if name.startswith("LINLI_") and not name.startswith("LINLI_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LINLI_DATABASE_URL", empty_url)
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LINLI_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("COLUMNS", "200")
    return Settings()


def linli(*args: str, stdin: str | None = None) -> Result:
    """Run `linli ...` as the operator would at the server's console."""
    return CliRunner().invoke(cli_app, list(args), input=stdin)


def migrated(settings: Settings) -> Settings:
    """`linli db upgrade` on the empty database, as the first step of an installation."""
    result = linli("db", "upgrade")
    assert result.exit_code == 0, result.output
    return settings


def counts(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.effective_database_url)
    try:
        with Session(engine) as db:
            return {
                model.__tablename__: int(db.scalar(select(func.count()).select_from(model)) or 0)
                for model in (Account, RoleGrant, ApiKey)
            }
    finally:
        engine.dispose()


def served(settings: Settings) -> Settings:
    """What `linli serve` runs, without periodic jobs; the limits stay out of the way so that
    every refusal below is about the credentials, not about throttling."""
    return settings.model_copy(
        update={
            "base_url": "http://testserver",
            "log_format": "text",
            "background_jobs": False,
            "login_max_failures": 1000,
            "rate_limits": dict.fromkeys(ratelimit.DEFAULTS, "10000"),
        }
    )


def page_login(client: TestClient, username: str, password: str) -> int:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return int(response.status_code)


def test_a_fresh_database_has_no_accounts_and_defaults_do_not_log_in(console: Settings) -> None:
    settings = migrated(console)
    assert not settings.demo_mode
    assert counts(settings) == {"accounts": 0, "role_grants": 0, "api_keys": 0}

    app = create_app(served(settings))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/readyz").status_code == 200
            for username, password in DEFAULT_LOGINS:
                status = page_login(client, username, password)
                assert status == 401, (username, password, status)
                assert client.cookies.get("linli_session") is None
                assert client.get("/api/v1/me").status_code == 401
                # The API takes API keys only; a default pair is no key, however presented.
                basic = base64.b64encode(f"{username}:{password}".encode()).decode()
                for header in (
                    f"Basic {basic}",
                    f"Bearer {username}:{password}",
                    f"Bearer {password}",
                ):
                    answer = client.get("/api/v1/me", headers={"Authorization": header})
                    assert answer.status_code == 401, (header, answer.text)
            # Nor can anybody on the network make the first account.
            body = {"username": "admin", "display_name": "Admin", "password": ADMIN_PASSWORD}
            assert client.post("/api/v1/accounts", json=body).status_code == 401
            token = csrf_of(client.get("/login").text)
            form = client.post(
                "/console/accounts", data={**body, "csrf_token": token}, follow_redirects=False
            )
            assert form.status_code == 401, form.status_code
            anonymous = client.get("/console", follow_redirects=False)
            assert anonymous.status_code == 303
            assert anonymous.headers["location"].startswith("/login")
        with Session(app.state.engine) as db:
            reasons = db.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == "auth.login_failed")
            ).all()
    finally:
        app.state.engine.dispose()
    assert len(reasons) == len(DEFAULT_LOGINS)
    assert all(json.loads(detail) == {"reason": "bad_credentials"} for detail in reasons)
    # Starting and serving outside demo mode created nobody.
    assert counts(settings) == {"accounts": 0, "role_grants": 0, "api_keys": 0}


def street_office(settings: Settings) -> str:
    """The place tree down to the street office; returns the street office's code."""
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            parent: int | None = None
            for kind, name, code in (
                ("city", "上海市", "sh"),
                ("district", "静安区", "sh-ja"),
                ("street_office", "临汾路街道", "sh-ja-lf"),
            ):
                data = PlaceCreate.model_validate(
                    {"parent_id": parent, "kind": kind, "name": name, "code": code}
                )
                parent = place_service.create(db, None, data).id
    finally:
        engine.dispose()
    return "sh-ja-lf"


def create_admin(place: str, password: str) -> Result:
    return linli(
        "user",
        "create",
        "chen.jianhua",
        "--name",
        "陈建华",
        "--role",
        "district_admin",
        "--place",
        place,
        "--password-stdin",
        stdin=password + "\n",
    )


def test_the_first_administrator_is_created_at_the_console(console: Settings) -> None:
    settings = migrated(console)
    # Nothing to attach an administrator to yet: refused in one line, nothing created.
    refused = create_admin("sh-ja-lf", ADMIN_PASSWORD)
    assert refused.exit_code == 1
    assert "no place with code sh-ja-lf" in refused.stderr
    place = street_office(settings)
    # A default-looking password cannot be given to the first administrator either.
    for weak, said in (
        ("admin", "at least 10"),
        ("1234567890", "too common"),
        ("chen.jianhua-2026", "must not contain"),
    ):
        result = create_admin(place, weak)
        assert result.exit_code == 1, result.output
        assert said in result.stderr
    assert counts(settings)["accounts"] == 0

    made = create_admin(place, ADMIN_PASSWORD)
    assert made.exit_code == 0, made.output
    assert "created chen.jianhua: district_admin on 临汾路街道 (sh-ja-lf)" in made.stdout
    assert ADMIN_PASSWORD not in made.output  # the operator's password is never echoed
    assert counts(settings) == {"accounts": 1, "role_grants": 1, "api_keys": 0}
    engine = make_engine(settings.effective_database_url)
    try:
        with Session(engine) as db:
            account = account_service.by_username(db, "chen.jianhua")
            assert account is not None
            assert account.password_hash is not None
            assert account.password_hash.startswith("$argon2id$")  # stored as a hash only
            grants = account_service.grants_of(db, account.id)
            assert [g.role for g in grants] == ["district_admin"]
            # Made by `system` (no account acted), on the record like any other change.
            made_by = db.execute(
                select(AuditEvent.action, AuditEvent.actor_account_id)
                .where(AuditEvent.action.in_(["account.created", "role.granted"]))
                .order_by(AuditEvent.id)
            ).all()
            assert [tuple(row) for row in made_by] == [
                ("account.created", None),
                ("role.granted", None),
            ]
    finally:
        engine.dispose()

    app = create_app(served(settings))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            token = csrf_of(client.get("/login").text)
            response = client.post(
                "/login",
                data={"username": "chen.jianhua", "password": ADMIN_PASSWORD, "csrf_token": token},
                follow_redirects=False,
            )
            # The password from the console is one factor: administration waits for the second.
            assert response.status_code == 303
            assert response.headers["location"] == MFA_ENROL_PATH
            assert client.get("/console/accounts").status_code == 403
    finally:
        app.state.engine.dispose()
