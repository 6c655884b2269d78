"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when configured) holding a
small two-community world, an app and HTTP clients logged in as its people."""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.app import create_app
from linli.config import Settings
from linli.core import ratelimit
from linli.core.crypto import configure_field_cipher
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.core.migrate import upgrade
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate
from linli.resident import service as resident_service
from linli.resident.schemas import HouseholdCreate, ResidentCreate

TEST_SECRET = "test-secret-key-for-the-linli-suite-0123456789"
PASSWORD = "Neighbour-Pass-2026"
POSTGRES_URL = os.environ.get("LINLI_TEST_POSTGRES_URL", "")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

BACKENDS = ["sqlite", "postgres"]


def _settings(url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        data_dir=data_dir,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]  # pydantic coerces str to SecretStr
        base_url="http://testserver",
        log_format="text",
        background_jobs=False,
        # The suite logs in and reports a lot from one address: tests of the limits themselves
        # (tests/core/test_ratelimit.py) put the real numbers back.
        rate_limits=dict.fromkeys(ratelimit.DEFAULTS, "10000"),
        # Staff log in with a password only here; tests/account/test_mfa.py turns it on.
        mfa_required_for_staff=False,
    )


@dataclass
class World:
    """Ids and credentials of the seeded test community (same in every backend)."""

    places: dict[str, int] = field(default_factory=dict)
    households: dict[str, int] = field(default_factory=dict)
    residents: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict)
    password: str = PASSWORD


def _seed_world(session: Session) -> World:
    """City › district › street › two communities, each with one compound, building, unit."""
    w = World()

    def place(key: str, parent: str | None, kind: str, name: str) -> None:
        data = PlaceCreate(
            parent_id=w.places[parent] if parent else None,
            kind=kind,  # type: ignore[arg-type]  # literal checked by pydantic
            name=name,
            code=f"t-{key}",
        )
        w.places[key] = place_service.create(session, None, data).id

    place("city", None, "city", "测试市")
    place("district", "city", "district", "测试区")
    place("street", "district", "street_office", "测试街道")
    for c in ("c1", "c2"):
        place(c, "street", "community", f"{c}社区")
        place(f"{c}-compound", c, "compound", f"{c}小区")
        place(f"{c}-b1", f"{c}-compound", "building", "1号楼")
        place(f"{c}-b1u1", f"{c}-b1", "unit", "1单元")
    rooms = {"h1": ("c1", "101"), "h2": ("c1", "102"), "h3": ("c2", "201")}
    for key, (c, room) in rooms.items():
        hh = resident_service.create_household(
            session, None, HouseholdCreate(place_id=w.places[f"{c}-b1u1"], room=room, floor=1)
        )
        w.households[key] = hh.id
    people = {
        "alice": ("h1", "王小丽", "13812345678", "110101199003071234"),
        "alan": ("h1", "王大明", "13812340000", None),
        "bob": ("h2", "李四海", "13987654321", None),
        "carol": ("h3", "张三芳", "15011112222", None),
    }
    for key, (hh, name, phone, id_number) in people.items():
        fixed_id = _valid_id(id_number) if id_number else None
        r = resident_service.create_resident(
            session,
            None,
            ResidentCreate(
                household_id=w.households[hh],
                name=name,
                phone=phone,
                id_number=fixed_id,
                relation="owner",
            ),
        )
        w.residents[key] = r.id
    accounts = {
        "alice": ("resident", "c1", "alice"),
        "bob": ("resident", "c1", "bob"),
        "carol": ("resident", "c2", "carol"),
        "staff1": ("community_staff", "c1", None),
        "grid1": ("grid_worker", "c1", None),
        "admin1": ("community_admin", "c1", None),
        "auditor1": ("auditor", "c1", None),
        "staff2": ("community_staff", "c2", None),
        "district": ("district_admin", "district", None),
        "pm1": ("property_manager", "c1", None),
    }
    for username, (role, where, resident) in accounts.items():
        acc = account_service.create_account(
            session,
            None,
            AccountCreate(
                username=username,
                display_name=username.title(),
                password=PASSWORD,
                resident_id=w.residents[resident] if resident else None,
            ),
        )
        account_service.grant_role(
            session, None, account_id=acc.id, role=role, place_id=w.places[where]
        )
        w.accounts[username] = acc.id
    for username, account_id in w.accounts.items():
        actor = account_service.build_actor(
            session, account_service.get_account(session, account_id), via="cli"
        )
        _k, plain = account_service.create_api_key(
            session, actor, account_id=account_id, name="tests"
        )
        w.api_keys[username] = plain
    return w


def _valid_id(base17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * wgt for c, wgt in zip(base17[:17], weights, strict=True))
    return base17[:17] + "10X98765432"[total % 11]


@dataclass
class Template:
    backend: str
    url: str
    world: World


def _build_template(url: str, data_dir: Path) -> World:
    settings = _settings(url, data_dir)
    configure_field_cipher(settings.field_key())
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        world = _seed_world(session)
    engine.dispose()
    return world


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    base = tmp_path_factory.mktemp("tpl")
    url = f"sqlite:///{base / 'template.db'}"
    world = _build_template(url, base)
    return Template("sqlite", url, world)


@pytest.fixture(scope="session")
def postgres_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    if not POSTGRES_URL:
        pytest.skip("LINLI_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"linli_tpl_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    world = _build_template(url, tmp_path_factory.mktemp("pgtpl"))
    yield Template("postgres", url, world)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_counter = itertools.count()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Template]:
    """A fresh copy of the template database for one test (SQLite file copy / PG TEMPLATE)."""
    if request.param == "sqlite":
        tpl: Template = request.getfixturevalue("sqlite_template")
        src = make_url(tpl.url).database
        assert src is not None
        target = tmp_path / "linli.db"
        shutil.copyfile(src, target)
        yield Template("sqlite", f"sqlite:///{target}", tpl.world)
        return
    tpl = request.getfixturevalue("postgres_template")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    template_name = make_url(tpl.url).database
    name = f"linli_t_{os.getpid()}_{next(_counter)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    url = make_url(tpl.url).set(database=name).render_as_string(hide_password=False)
    try:
        yield Template("postgres", url, tpl.world)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings(database: Template, tmp_path: Path) -> Settings:
    return _settings(database.url, tmp_path)


@pytest.fixture
def world(database: Template) -> World:
    return database.world


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    """A session on the test database for asserting what was stored."""
    session: Session = app.state.sessionmaker()
    yield session
    session.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Log ``client`` in through the login form (CSRF token included)."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def make_client(app: FastAPI) -> Iterator[object]:
    """Factory of independent clients (own cookie jars), optionally logged in."""
    made: list[TestClient] = []

    def factory(username: str | None = None) -> TestClient:
        c = TestClient(app, raise_server_exceptions=False)
        c.__enter__()
        made.append(c)
        if username:
            login(c, username)
        return c

    yield factory
    for c in made:
        c.__exit__(None, None, None)


def bearer(world: World, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.api_keys[username]}"}


@pytest.fixture(scope="module")
def site_settings() -> dict[str, Any]:
    """Settings the browser tests' server (tests/web/test_browser.py ``site``) runs with besides
    the usual ones; a module overrides this fixture to change them."""
    return {}
