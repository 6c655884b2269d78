"""Logging in, failing to and logging out each leave one structured audit row (A22)."""

from __future__ import annotations

import datetime as dt

import orjson
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from tests.conftest import PASSWORD, World, csrf_of

# Monday 16 November 2026, 10:00 in Shanghai.
NOW = dt.datetime(2026, 11, 16, 2, 0, tzinfo=dt.UTC)
WHERE = "203.0.113.7"


def _last_id(db: Session) -> int:
    return int(db.scalar(select(func.max(AuditEvent.id))) or 0)


def _since(db: Session, last: int) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id)))


def _post_login(client: TestClient, password: str) -> int:
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": "alice", "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return int(r.status_code)


def test_login_logout_and_failure_each_write_one_audit_row(
    app: FastAPI, db: Session, world: World
) -> None:
    alice = world.accounts["alice"]
    with (
        time_machine.travel(NOW, tick=False),
        TestClient(app, raise_server_exceptions=False, client=(WHERE, 50123)) as client,
    ):
        # A wrong password: one failure row, naming the account tried but no account id.
        last = _last_id(db)
        assert _post_login(client, "not-the-password") == 401
        [failed] = _since(db, last)
        assert (failed.action, failed.outcome) == ("auth.login_failed", "denied")
        assert failed.actor_account_id is None
        assert failed.actor_username == "alice"
        assert (failed.subject_type, failed.subject_id) == ("account", "alice")
        assert failed.ip == WHERE
        assert failed.at == NOW
        assert failed.at.utcoffset() == dt.timedelta(0)
        assert orjson.loads(failed.detail) == {"reason": "bad_credentials"}
        assert "not-the-password" not in failed.detail

        # The right password: one login row, with who, when (UTC) and from where.
        last = _last_id(db)
        assert _post_login(client, PASSWORD) == 303
        [login] = _since(db, last)
        assert (login.action, login.outcome) == ("auth.login", "ok")
        assert (login.actor_account_id, login.actor_username) == (alice, "alice")
        assert (login.subject_type, login.subject_id) == ("account", str(alice))
        assert login.subject_resident_id == world.residents["alice"]
        assert login.ip == WHERE
        assert login.at == NOW
        assert login.at.utcoffset() == dt.timedelta(0)
        assert PASSWORD not in login.detail
        # The chain holds the rows in order.
        assert login.prev_hash == failed.hash

        # Logging out: one row for the session that ended.
        token = csrf_of(client.get("/me").text)
        last = _last_id(db)
        r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303
        [logout] = _since(db, last)
        assert (logout.action, logout.outcome) == ("auth.logout", "ok")
        assert (logout.actor_account_id, logout.actor_username) == (alice, "alice")
        assert logout.subject_type == "session"
        assert logout.ip == WHERE
        assert logout.at == NOW
        # Logged out for real: a second logout records nothing more.
        assert client.get("/api/v1/me").status_code == 401
        last = _last_id(db)
        r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert _since(db, last) == []
