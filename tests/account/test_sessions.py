"""Session lifetime and login throttling against a moved clock (time-machine, no sleeping)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.account.models import AuthSession, LoginAttempt
from linli.config import Settings
from linli.core.crypto import sha256_hex
from tests.conftest import PASSWORD, World, csrf_of, login

START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def me_with_token(client: TestClient, token: str) -> int:
    """Present ``token`` explicitly: the client's own cookie jar may have expired it already."""
    r = client.get("/api/v1/me", headers={"Cookie": f"linli_session={token}"})
    return int(r.status_code)


def post_login(client: TestClient, username: str, password: str) -> int:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    return int(r.status_code)


def test_idle_session_expires_after_30_minutes(
    clock: time_machine.Traveller,
    make_client: Callable[..., TestClient],
    settings: Settings,
    db: Session,
) -> None:
    assert settings.session_idle_minutes == 30
    alice = make_client("alice")
    token = alice.cookies["linli_session"]
    bare = make_client()
    # Activity keeps the session alive well past 30 minutes in total.
    for _step in range(3):
        clock.shift(dt.timedelta(minutes=29))
        assert me_with_token(bare, token) == 200
    stored = db.scalars(
        select(AuthSession).where(AuthSession.token_hash == sha256_hex(token))
    ).one()
    assert stored.last_seen_at == START + dt.timedelta(minutes=87)
    assert stored.last_seen_at.tzinfo is not None
    clock.shift(dt.timedelta(minutes=30, seconds=1))
    assert me_with_token(bare, token) == 401
    assert alice.get("/api/v1/me").status_code == 401
    # Coming back does not revive it.
    clock.shift(dt.timedelta(seconds=1))
    assert me_with_token(bare, token) == 401


def test_session_ends_at_the_absolute_limit_despite_activity(
    clock: time_machine.Traveller,
    make_client: Callable[..., TestClient],
    settings: Settings,
) -> None:
    assert settings.session_absolute_hours == 12
    alice = make_client("alice")
    token = alice.cookies["linli_session"]
    bare = make_client()
    elapsed = dt.timedelta()
    limit = dt.timedelta(hours=12)
    step = dt.timedelta(minutes=25)
    while elapsed + step < limit:
        clock.shift(step)
        elapsed += step
        assert me_with_token(bare, token) == 200, elapsed
    clock.shift(limit - elapsed)
    assert me_with_token(bare, token) == 401
    # A fresh login works again.
    assert make_client("alice").get("/api/v1/me").status_code == 200


def test_login_throttle_window_resets_after_30_minutes(
    clock: time_machine.Traveller,
    make_client: Callable[..., TestClient],
    world: World,
    db: Session,
) -> None:
    c = make_client()
    codes = [post_login(c, "bob", "not-the-password") for _attempt in range(5)]
    assert codes == [401] * 5
    clock.shift(dt.timedelta(minutes=10))
    assert post_login(c, "bob", PASSWORD) == 429
    page = c.get("/login")
    r = c.post(
        "/login",
        data={"username": "bob", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 429
    # The first failure leaves the window 20 minutes from now.
    assert 19 * 60 <= int(r.headers["retry-after"]) <= 20 * 60
    clock.shift(dt.timedelta(minutes=19, seconds=59))
    assert post_login(c, "bob", PASSWORD) == 429
    clock.shift(dt.timedelta(seconds=2))
    assert post_login(c, "bob", PASSWORD) == 303
    attempts = db.scalars(
        select(LoginAttempt).where(LoginAttempt.username == "bob").order_by(LoginAttempt.id)
    ).all()
    assert [a.success for a in attempts] == [False] * 5 + [True]
    assert attempts[0].at == START
    assert all(a.at.tzinfo is not None for a in attempts)


def test_username_variants_share_one_throttle(
    make_client: Callable[..., TestClient], world: World
) -> None:
    c = make_client()
    variants = ["bob", "BOB", " bob ", "bob\x00", "Bob\u200b"]
    codes = [post_login(c, name, "not-the-password") for name in variants]
    assert codes == [401] * 5
    assert post_login(c, "bob", PASSWORD) == 429
    login(c, "alice")
