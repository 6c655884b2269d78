"""The application runs as a PostgreSQL role that reads and writes rows and changes nothing else;
the schema belongs to the role that runs the migrations (`linli db grant-app-role`)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from typer.testing import CliRunner, Result

from linli.app import create_app
from linli.case.models import Case
from linli.cli import app as cli_app
from linli.core.db import make_engine, session_scope
from tests.conftest import _seed_world, _settings, bearer, login

POSTGRES_URL = os.environ.get("LINLI_TEST_POSTGRES_URL", "")
INSUFFICIENT_PRIVILEGE = "42501"
RAISED_BY_TRIGGER = "P0001"  # the append-only triggers' RAISE EXCEPTION

# Schema changes, on a table nothing refers to. The owner makes each of them (rolled back), so a
# refusal of the application's role comes from its grants and not from the statement.
SCHEMA_CHANGES = (
    "CREATE TABLE probe (id integer)",
    "ALTER TABLE rate_limit_hits ADD COLUMN probe integer",
    "TRUNCATE rate_limit_hits",
    "DROP TABLE rate_limit_hits",
)
VERSION_CHANGE = "UPDATE alembic_version SET version_num = version_num"
# The owner's attempts reach the append-only triggers; the application's must not get that far.
AUDIT_CHANGES = ("UPDATE audit_events SET reason = 'changed'", "DELETE FROM audit_events")


@dataclass(frozen=True)
class Roles:
    """A fresh database owned by ``owner`` and a login role ``app`` that has nothing yet."""

    owner: str
    app: str
    owner_url: str
    app_url: str


@pytest.fixture
def roles() -> Iterator[Roles]:
    if not POSTGRES_URL:
        pytest.skip("LINLI_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    suffix = f"{os.getpid()}_{secrets.token_hex(4)}"
    owner, app, database = f"linli_owner_{suffix}", f"linli_app_{suffix}", f"linli_roles_{suffix}"
    owner_pw, app_pw = secrets.token_hex(16), secrets.token_hex(16)
    base = make_url(POSTGRES_URL).set(database=database)
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{owner_pw}'"))
            conn.execute(text(f"CREATE ROLE \"{app}\" LOGIN PASSWORD '{app_pw}'"))
            conn.execute(text(f'CREATE DATABASE "{database}" OWNER "{owner}"'))
            conn.execute(text(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC'))
        yield Roles(
            owner=owner,
            app=app,
            owner_url=base.set(username=owner, password=owner_pw).render_as_string(False),
            app_url=base.set(username=app, password=app_pw).render_as_string(False),
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{app}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
        admin.dispose()


def _linli(*args: str) -> Result:
    return CliRunner().invoke(cli_app, list(args))


def _sqlstate(engine: Engine, statement: str) -> str | None:
    """Run ``statement`` in a transaction that is rolled back; the SQLSTATE it failed with."""
    with engine.connect() as conn:
        try:
            conn.execute(text(statement))
        except DBAPIError as exc:
            return str(getattr(exc.orig, "sqlstate", "unknown"))
        finally:
            conn.rollback()
    return None


def test_app_runs_with_a_least_privilege_role(
    roles: Roles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("LINLI_") and not name.startswith("LINLI_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LINLI_DATABASE_URL", roles.app_url)
    monkeypatch.setenv("LINLI_MIGRATION_DATABASE_URL", roles.owner_url)
    app_engine, owner_engine = make_engine(roles.app_url), make_engine(roles.owner_url)
    try:
        # Until it is granted CONNECT the application's role cannot even connect, so the
        # migrations ran as the owner.
        upgraded = _linli("db", "upgrade")
        assert upgraded.exit_code == 0, upgraded.output
        with pytest.raises(OperationalError, match="permission denied for database"):
            app_engine.connect().close()

        # Neither the owner itself nor a superuser can be the application's role.
        superuser = make_url(POSTGRES_URL).username or "postgres"
        for wrong, why in ((roles.owner, "owns the schema"), (superuser, "is a superuser")):
            refused = _linli("db", "grant-app-role", wrong)
            assert refused.exit_code == 1
            assert why in refused.output
        granted = _linli("db", "grant-app-role", roles.app)
        assert granted.exit_code == 0, granted.output
        assert "audit_events" in granted.output
        # Idempotent: a second run changes nothing and still succeeds.
        assert _linli("db", "grant-app-role", roles.app).exit_code == 0

        # The application works as that role: seed, log in, report, read and work a case.
        application = create_app(_settings(roles.app_url, tmp_path))
        try:
            with session_scope(application.state.sessionmaker) as session:
                world = _seed_world(session)
            with TestClient(application, raise_server_exceptions=False) as client:
                alice, staff1 = bearer(world, "alice"), bearer(world, "staff1")
                categories = client.get("/api/v1/case-categories", headers=alice).json()
                light = next(c["id"] for c in categories if c["code"] == "light")
                reported = client.post(
                    "/api/v1/cases",
                    json={
                        "category_id": light,
                        "place_id": world.places["c1-b1"],
                        "description": "楼道灯坏了",
                    },
                    headers=alice,
                )
                assert reported.status_code == 201, reported.text
                case_id = reported.json()["id"]
                triaged = client.post(f"/api/v1/cases/{case_id}/triage", json={}, headers=staff1)
                assert triaged.status_code == 200, triaged.text
                login(client, "staff1")
                page = client.get(f"/cases/{case_id}")
                assert page.status_code == 200
                assert "楼道灯坏了" in page.text
            with application.state.sessionmaker() as db:
                case = db.scalars(select(Case).where(Case.id == case_id)).one()
                assert case.description == "楼道灯坏了"
                assert case.status != "submitted"
        finally:
            application.state.engine.dispose()
        verified = _linli("audit", "verify")  # as the application's role
        assert verified.exit_code == 0, verified.output
        assert "audit log ok" in verified.output

        with app_engine.connect() as conn:
            me = conn.execute(
                text(
                    "SELECT rolsuper, rolcreaterole, rolcreatedb, "
                    "has_schema_privilege(current_user, current_schema(), 'CREATE'), "
                    "(SELECT count(*) FROM pg_tables WHERE tableowner = current_user) "
                    "FROM pg_roles WHERE rolname = current_user"
                )
            ).one()
            audit_rows = conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
        assert tuple(me) == (False, False, False, False, 0)
        assert audit_rows > 0  # so that the owner's attempts below reach the triggers

        for statement in (*SCHEMA_CHANGES, VERSION_CHANGE, *AUDIT_CHANGES):
            assert _sqlstate(app_engine, statement) == INSUFFICIENT_PRIVILEGE, statement
        for statement in (*SCHEMA_CHANGES, VERSION_CHANGE):
            assert _sqlstate(owner_engine, statement) is None, statement
        for statement in AUDIT_CHANGES:
            assert _sqlstate(owner_engine, statement) == RAISED_BY_TRIGGER, statement
    finally:
        app_engine.dispose()
        owner_engine.dispose()
