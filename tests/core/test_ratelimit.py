"""Rate limits: the shared sliding-window limiter on SQLite and PostgreSQL, and every declared
limit over HTTP with its real default (N allowed, N+1 refused with 429 and Retry-After, audited,
other keys unaffected, allowed again after the window)."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import time_machine
import xmltodict
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from linli.config import Settings
from linli.core import ratelimit
from linli.core.actor import Actor
from linli.core.ratelimit import Limit, RateLimited
from linli.core.ratelimit_models import RateLimitHit
from linli.core.time import UTC
from linli.web.ratelimit import key_for
from tests.case.conftest import category_id
from tests.conftest import PASSWORD, Template, World, _settings, bearer, csrf_of

T0 = dt.datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
THREE_A_MINUTE = Limit("test.three", 3, dt.timedelta(minutes=1))
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def settings(database: Template, tmp_path: Path) -> Settings:
    """The real default limits (the shared test settings make them generous)."""
    return _settings(database.url, tmp_path).model_copy(update={"rate_limits": {}})


def refused(db: Session, limit: Limit, key: str, now: dt.datetime) -> int:
    """The Retry-After of a refused hit (fails the test if the hit is allowed)."""
    with pytest.raises(RateLimited) as caught:
        ratelimit.hit(db, limit, key, now=now)
    assert caught.value.limit.name == limit.name
    assert caught.value.status_code == 429
    return caught.value.retry_after


# --- the limiter ------------------------------------------------------------------------------


def test_sliding_window_allows_n_refuses_the_next_and_frees_up_hit_by_hit(db: Session) -> None:
    for seconds in (0, 10, 20):
        ratelimit.hit(db, THREE_A_MINUTE, "account:1", now=T0 + dt.timedelta(seconds=seconds))
    assert refused(db, THREE_A_MINUTE, "account:1", T0 + dt.timedelta(seconds=30)) == 30
    usage = ratelimit.peek(db, THREE_A_MINUTE, "account:1", now=T0 + dt.timedelta(seconds=30))
    assert usage == ratelimit.Usage(used=3, remaining=0, retry_after=30)
    # Another key has its own window.
    ratelimit.hit(db, THREE_A_MINUTE, "account:2", now=T0 + dt.timedelta(seconds=30))
    # The oldest hit leaves the window at T0+60s: one more is allowed, then 10 s to wait.
    assert refused(db, THREE_A_MINUTE, "account:1", T0 + dt.timedelta(seconds=59.5)) == 1
    ratelimit.hit(db, THREE_A_MINUTE, "account:1", now=T0 + dt.timedelta(seconds=60))
    assert refused(db, THREE_A_MINUTE, "account:1", T0 + dt.timedelta(seconds=61)) == 9
    db.commit()
    # Refused attempts were not stored; rows that left the window were pruned on the way.
    stored = db.scalar(select(func.count()).select_from(RateLimitHit))
    assert stored == 3 + 1


def test_buckets_hold_a_keyed_digest_never_the_address(db: Session) -> None:
    ratelimit.hit(db, ratelimit.LOGIN_IP, "ip:203.0.113.7", now=T0)
    db.commit()
    (bucket,) = db.scalars(select(RateLimitHit.bucket))
    assert bucket.startswith("login.ip:")
    assert "203.0.113" not in bucket
    assert len(bucket) <= 200


def test_prune_deletes_only_hits_older_than_the_longest_window(db: Session) -> None:
    ratelimit.hit(db, THREE_A_MINUTE, "k", now=T0 - dt.timedelta(days=2))
    ratelimit.hit(db, THREE_A_MINUTE, "other", now=T0 - dt.timedelta(hours=2))
    db.commit()
    assert ratelimit.prune(db, now=T0) == 1
    db.commit()
    assert db.scalar(select(func.count()).select_from(RateLimitHit)) == 1


def test_concurrent_attempts_never_pass_beyond_the_limit(app: FastAPI, db: Session) -> None:
    """Eight sessions race for the last hit: exactly one gets it (PostgreSQL: advisory lock;
    SQLite: the INSERT takes the single write lock first)."""
    limit = Limit("test.race", 5, dt.timedelta(minutes=1))
    for _ in range(4):
        ratelimit.hit(db, limit, "account:7", now=T0)
    db.commit()
    start = threading.Barrier(8)
    passed: list[bool] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        with app.state.sessionmaker() as session:
            session.execute(select(1))  # connected before the race starts
            start.wait()
            try:
                ratelimit.hit(session, limit, "account:7", now=T0 + dt.timedelta(seconds=1))
                session.commit()
                passed.append(True)
            except RateLimited:
                session.rollback()
                passed.append(False)
            except BaseException as exc:  # reported below, not swallowed
                errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sorted(passed) == [False] * 7 + [True]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(RateLimitHit)) == 5


def test_a_second_attempt_on_the_same_key_waits_for_the_first(app: FastAPI, db: Session) -> None:
    """Deterministic form of the race: while one transaction holds the last hit, another on
    the same key cannot count (it would wait; here it times out), and afterwards is refused."""
    limit = Limit("test.wait", 2, dt.timedelta(minutes=1))
    later = T0 + dt.timedelta(seconds=1)
    ratelimit.hit(db, limit, "account:7", now=T0)
    db.commit()
    postgres = db.get_bind().dialect.name == "postgresql"
    with app.state.sessionmaker() as first, app.state.sessionmaker() as second:
        ratelimit.hit(first, limit, "account:7", now=later)  # the last hit, not yet committed
        if postgres:
            second.execute(text("SET LOCAL lock_timeout = '200ms'"))
        else:
            second.execute(text("PRAGMA busy_timeout = 200"))
        try:
            with pytest.raises(OperationalError):
                ratelimit.hit(second, limit, "account:7", now=later)
            second.rollback()
            if postgres:  # the lock is per key (SQLite has one lock for every write)
                ratelimit.hit(second, limit, "account:8", now=later)
                second.rollback()
            first.commit()
            with pytest.raises(RateLimited):
                ratelimit.hit(second, limit, "account:7", now=later)
        finally:
            second.rollback()
            if not postgres:
                second.execute(text("PRAGMA busy_timeout = 10000"))


# --- configuration ----------------------------------------------------------------------------


def test_overrides_parse_and_unknown_names_are_refused() -> None:
    assert ratelimit.parse_spec("login.ip", "40/2m") == Limit(
        "login.ip", 40, dt.timedelta(minutes=2), per="ip"
    )
    assert ratelimit.parse_spec("poll.vote.account", "50").window == dt.timedelta(minutes=1)
    assert not ratelimit.parse_spec("poll.vote.account", "off").enabled
    with pytest.raises(ValueError, match="unknown rate limit"):
        ratelimit.resolve({"login.ipp": "1/1m"})
    with pytest.raises(ValueError, match="not like"):
        ratelimit.parse_spec("login.ip", "fast")


def test_settings_read_overrides_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_RATE_LIMITS", '{"login.ip": "40/1m", "export.account": "off"}')
    settings = Settings()
    assert settings.rate_limits == {"login.ip": "40/1m", "export.account": "off"}
    active = ratelimit.resolve(settings.rate_limits)
    assert active["login.ip"].max_hits == 40
    assert not active["export.account"].enabled
    assert active["poll.vote.account"] == ratelimit.POLL_VOTE_ACCOUNT


@SQLITE_ONLY
def test_a_disabled_limit_counts_nothing(app: FastAPI, db: Session) -> None:
    ratelimit.configure(
        Settings(secret_key=app.state.settings.secret_key, rate_limits={"login.ip": "off"})
    )
    try:
        for _ in range(30):
            ratelimit.hit(db, ratelimit.LOGIN_IP, "ip:x", now=T0)
        assert db.scalar(select(func.count()).select_from(RateLimitHit)) == 0
    finally:
        ratelimit.configure(app.state.settings)


def test_keys_are_the_account_the_assisted_resident_or_the_address() -> None:
    resident = Actor(account_id=5, ip="198.51.100.4")
    assisting = Actor(account_id=6, ip="198.51.100.4", on_behalf_of_resident_id=9)
    anonymous = Actor(account_id=None, ip="198.51.100.4")
    vote = ratelimit.POLL_VOTE_ACCOUNT
    assert key_for(vote, resident) == "account:5"
    assert key_for(vote, assisting) == "account:6:for:9"
    assert key_for(vote, anonymous) == "ip:198.51.100.4"
    assert key_for(ratelimit.LOGIN_IP, resident) == "ip:198.51.100.4"


# --- every limit over HTTP, with its default --------------------------------------------------


@dataclass(frozen=True)
class Limited:
    """One limited route: how to call it as the first key and as an unaffected second key."""

    limit: Limit
    call: Callable[[TestClient, World, Session, bool], httpx.Response]


_names = itertools.count()


def _login(client: TestClient, _w: World, _db: Session, other: bool) -> httpx.Response:
    # A new username each time: the per-account throttle (5 failures) must not answer first.
    return client.post(
        "/login",
        data={
            "username": f"nobody{next(_names)}",
            "password": "wrong-password-1",
            "csrf_token": csrf_of(client.get("/login").text),
        },
        follow_redirects=False,
    )


def _api(method: str, path: str, body: object = None) -> Callable[..., httpx.Response]:
    def call(client: TestClient, world: World, _db: Session, other: bool) -> httpx.Response:
        who = "bob" if other else "alice"
        if path.startswith("/api/v1/notification") or path.startswith("/api/v1/datastreams"):
            who = "staff2" if other else "admin1"
        return client.request(method, path, headers=bearer(world, who), json=body)

    return call


def _report(client: TestClient, world: World, db: Session, other: bool) -> httpx.Response:
    body = {
        "category_id": category_id(db, "light"),
        "place_id": world.places["c1-b1"],
        "description": "楼道灯不亮",
    }
    db.commit()
    return client.post(
        "/api/v1/cases", json=body, headers=bearer(world, "bob" if other else "alice")
    )


def _open311(client: TestClient, world: World, _db: Session, other: bool) -> httpx.Response:
    return client.post("/open311/v2/requests.json", data={"service_code": "light"})


def _export(client: TestClient, _w: World, _db: Session, other: bool) -> httpx.Response:
    return client.get("/api/v1/environment/observations.csv", params={"type": "air"})


CASES = [
    Limited(ratelimit.LOGIN_IP, _login),
    Limited(
        ratelimit.POLL_VOTE_ACCOUNT, _api("POST", "/api/v1/polls/999999/vote", {"option_id": 1})
    ),
    Limited(ratelimit.CASE_REPORT_ACCOUNT, _report),
    Limited(ratelimit.CASE_REPORT_IP, _open311),
    Limited(ratelimit.EXPORT_PUBLIC_IP, _export),
    Limited(ratelimit.EXPORT_ACCOUNT, _api("GET", "/api/v1/datastreams/999999/export")),
    Limited(
        ratelimit.PROPOSAL_CREATE_ACCOUNT,
        _api(
            "POST",
            "/api/v1/proposals",
            {"place_id": 999999, "title": "More benches", "body": "Benches by the gate, please."},
        ),
    ),
    Limited(ratelimit.PROPOSAL_SUPPORT_ACCOUNT, _api("POST", "/api/v1/proposals/999999/support")),
    Limited(
        ratelimit.NOTIFICATION_RETRY_ACCOUNT,
        _api("POST", "/api/v1/notification-outbox/999999/retry"),
    ),
]


@pytest.fixture
def other_ip(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, client=("203.0.113.9", 5000)) as c:
        yield c


def _refusals(db: Session, name: str) -> int:
    db.expire_all()
    stmt = select(func.count()).where(
        AuditEvent.action == "ratelimit.refused", AuditEvent.subject_id == name
    )
    return db.scalar(stmt) or 0


@SQLITE_ONLY
@pytest.mark.parametrize("case", CASES, ids=[c.limit.name for c in CASES])
def test_each_limit_refuses_the_attempt_after_its_default(
    case: Limited, client: TestClient, other_ip: TestClient, db: Session, world: World
) -> None:
    limit = case.limit
    with time_machine.travel(T0, tick=False):
        codes = [case.call(client, world, db, False).status_code for _ in range(limit.max_hits)]
        assert 429 not in codes, codes
        over = case.call(client, world, db, False)
        assert over.status_code == 429, over.text
        retry = int(over.headers["retry-after"])
        assert 0 < retry <= limit.window.total_seconds()
        assert _refusals(db, limit.name) == 1
        # Another account or another address is not affected.
        second = other_ip if limit.per == "ip" else client
        assert case.call(second, world, db, True).status_code != 429
    with time_machine.travel(T0 + limit.window + dt.timedelta(seconds=1), tick=False):
        assert case.call(client, world, db, False).status_code != 429


@SQLITE_ONLY
def test_refusals_are_explained_in_both_languages(client: TestClient, db: Session) -> None:
    with time_machine.travel(T0, tick=False):
        for _ in range(ratelimit.EXPORT_PUBLIC_IP.max_hits):
            ratelimit.hit(db, ratelimit.EXPORT_PUBLIC_IP, "ip:testclient")
        db.commit()
        api = client.get("/api/v1/environment/observations.json")
        assert api.status_code == 429
        problem = api.json()
        assert problem["type"].endswith("/too_many_requests")
        assert problem["retry_after"] == 3600
        assert api.headers["retry-after"] == "3600"
        page = client.get("/login")
        token = csrf_of(page.text)
        for _ in range(ratelimit.LOGIN_IP.max_hits):
            ratelimit.hit(db, ratelimit.LOGIN_IP, "ip:testclient")
        db.commit()
        zh = client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert zh.status_code == 429
        assert zh.headers["retry-after"] == "60"
        assert "短时间内尝试次数过多" in zh.text
        client.cookies.set("linli_lang", "en")
        en = client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert en.status_code == 429
        assert "too many attempts in a short time" in en.text
        assert "linli_session" not in client.cookies


@SQLITE_ONLY
@pytest.mark.usefixtures("world")
def test_open311_refusals_keep_the_spec_error_format(client: TestClient, db: Session) -> None:
    with time_machine.travel(T0, tick=False):
        for _ in range(ratelimit.CASE_REPORT_IP.max_hits):
            ratelimit.hit(db, ratelimit.CASE_REPORT_IP, "ip:testclient")
        db.commit()
        j = client.post("/open311/v2/requests.json", data={"service_code": "light"})
        assert j.status_code == 429
        assert j.headers["retry-after"] == "3600"
        assert j.json()[0]["code"] == 429
        x = client.post("/open311/v2/requests.xml", data={"service_code": "light"})
        assert x.status_code == 429
        assert xmltodict.parse(x.content)["errors"]["error"]["code"] == "429"
