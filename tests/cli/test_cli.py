"""The `linli` command: demo, serve refusals, db, user create, audit verify and secret."""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import Result

from linli.account import service as account_service
from linli.cli import demo_secret
from linli.config import Settings, is_production_key
from linli.core.actor import ROLES
from linli.core.crypto import field_cipher
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.demo import seed
from linli.incident import demo as incident_demo
from linli.place import service as place_service
from linli.resident import service as resident_service
from linli.resident.schemas import id_number_valid
from linli.sharing import service as sharing_service

Invoke = Callable[..., Result]

# --- demo -----------------------------------------------------------------------------------


def _count(db: Session, table: str) -> int:
    return int(db.execute(select(func.count()).select_from(text(table))).scalar_one())


def test_seed_demo_is_idempotent_and_hands_out_one_login_per_role(
    settings: Settings, db: Session
) -> None:
    credentials = seed.seed_demo(db, settings.data_dir)
    db.commit()

    assert len(credentials) == 11
    assert {c["role"] for c in credentials} == set(ROLES)
    assert all(set(c) == {"role", "username", "password", "api_key"} for c in credentials)
    assert len({c["username"] for c in credentials}) == 11
    path = settings.data_dir / "demo-credentials.json"
    assert json.loads(path.read_text(encoding="utf-8")) == credentials
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    residents = [c for c in credentials if c["role"] == "resident"]
    assert len(residents) == 2
    people = []
    for entry in residents:
        account = account_service.by_username(db, entry["username"])
        assert account is not None
        assert account.resident_id is not None
        people.append(resident_service.get_record(db, account.resident_id))
    assert people[0].household_id != people[1].household_id
    communities = {resident_service.community_id_of(db, p.id) for p in people}
    c1 = place_service.by_code(db, "demo-c1")
    assert c1 is not None
    assert communities == {c1.id}
    # Every notification channel has its entrusted processor: the demo's messages go out.
    for channel in sharing_service.CHANNEL_FIELDS:
        assert not isinstance(sharing_service.processor_for(db, channel, c1.id), str), channel

    counts = {t: _count(db, t) for t in ("places", "households", "residents", "accounts")}
    assert counts["households"] == 600
    assert 1300 <= counts["residents"] <= 1700
    # One login per role, and the demo's simulated responders (accounts without a known password).
    simulated = [r for r in incident_demo.RESPONDERS if r.simulated]
    assert counts["accounts"] == 11 + len(simulated)
    grouped = db.execute(text("SELECT kind, count(*) FROM places GROUP BY kind")).all()
    kinds: dict[str, int] = {str(kind): int(n) for kind, n in grouped}
    assert kinds["community"] == 2
    assert kinds["street_office"] == 1
    assert 9 <= kinds["building"] <= 12

    # Sensitive fields are ciphertext at rest, and what they hide is valid.
    cipher = field_cipher()
    rows = db.execute(text("SELECT id_number, phone, birth_year FROM residents")).all()
    ids = [cipher.decrypt(r[0], "residents.id_number") for r in rows]
    assert all(r[0].startswith("v1:") for r in rows)
    assert all(id_number_valid(i) for i in ids)
    assert len(set(ids)) == len(ids)
    phones = [cipher.decrypt(r[1], "residents.phone") for r in rows if r[1] is not None]
    assert phones
    assert all(p[:2] in ("13", "15", "18") and len(p) == 11 for p in phones)
    today = time.gmtime().tm_year
    ages = [today - r[2] for r in rows]
    assert any(a < 14 for a in ages)
    assert any(a >= 80 for a in ages)

    # Only digests of the secrets are stored, and they work.
    stored = " ".join(
        str(v) for row in db.execute(text("SELECT * FROM accounts")).all() for v in row
    ) + " ".join(str(v) for row in db.execute(text("SELECT * FROM api_keys")).all() for v in row)
    for entry in credentials:
        assert entry["password"] not in stored
        assert entry["api_key"] not in stored
        assert account_service.account_from_api_key(db, entry["api_key"]) is not None
    login = account_service.login(
        db,
        settings,
        username=residents[0]["username"],
        password=residents[0]["password"],
        ip=None,
        user_agent=None,
    )
    assert login.account.username == residents[0]["username"]
    db.rollback()

    assert seed.is_seeded(db)
    again = seed.seed_demo(db, settings.data_dir)
    db.commit()
    assert again == credentials
    assert {t: _count(db, t) for t in counts} == counts


def test_demo_key_is_made_once_and_kept_private(data_dir: Path) -> None:
    data_dir.mkdir()
    key = demo_secret(data_dir)
    assert key.startswith("demo-")
    assert not is_production_key(key)
    assert demo_secret(data_dir) == key
    assert stat.S_IMODE((data_dir / "demo-secret").stat().st_mode) == 0o600


def test_demo_refuses_a_production_key(
    cli: Invoke, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINLI_SECRET_KEY", secrets.token_urlsafe(48))
    result = cli("demo", "--no-simulator")
    assert result.exit_code == 1
    assert "production" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not data_dir.exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_serves_the_seeded_community_to_its_logins(data_dir: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env["LINLI_DATA_DIR"] = str(data_dir)
    logs = (tmp_path / "demo.out").open("w"), (tmp_path / "demo.err").open("w")
    argv = [sys.executable, "-c", "from linli.cli import main; main()"]
    proc = subprocess.Popen(
        [*argv, "demo", "--port", str(port), "--no-simulator"],
        env=env,
        stdout=logs[0],
        stderr=logs[1],
    )
    try:
        deadline = time.monotonic() + 90
        ready = None
        while ready is None:
            assert time.monotonic() < deadline, "linli demo did not become ready"
            try:
                proc.wait(timeout=0.2)
                pytest.fail(f"linli demo exited: {(tmp_path / 'demo.err').read_text()[-500:]}")
            except subprocess.TimeoutExpired:
                pass
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            except httpx.TransportError:
                continue
            if answer.status_code == 200:
                ready = answer
        credentials = json.loads((data_dir / "demo-credentials.json").read_text("utf-8"))
        resident = next(c for c in credentials if c["role"] == "resident")
        me = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/me",
            headers={"Authorization": f"Bearer {resident['api_key']}"},
            timeout=5,
        )
        assert me.status_code == 200
        assert me.json()["username"] == resident["username"]
        assert "Linli demo at" in (tmp_path / "demo.out").read_text()
        assert resident["password"] in (tmp_path / "demo.out").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        for log in logs:
            log.close()
    key = (data_dir / "demo-secret").read_text().strip()
    assert key.startswith("demo-")


# --- serve ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "said"),
    [
        (None, "LINLI_SECRET_KEY is not set"),
        ("changeme", "known default"),
        ("demo-" + "x" * 40, "demo key"),
        ("short-but-not-known", "at least 32"),
    ],
)
def test_serve_refuses_a_missing_or_weak_key(
    cli: Invoke, data_dir: Path, monkeypatch: pytest.MonkeyPatch, key: str | None, said: str
) -> None:
    if key is not None:
        monkeypatch.setenv("LINLI_SECRET_KEY", key)
    result = cli("serve")
    assert result.exit_code == 1
    assert said in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_refuses_demo_mode(
    cli: Invoke, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINLI_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("LINLI_DEMO_MODE", "true")
    result = cli("serve")
    assert result.exit_code == 1
    assert "linli demo" in result.stderr


def test_serve_refuses_a_missing_or_out_of_date_schema(
    cli: Invoke, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINLI_SECRET_KEY", secrets.token_urlsafe(48))
    missing = cli("serve")
    assert missing.exit_code == 1
    assert "no database" in missing.stderr

    data_dir.mkdir()
    with sqlite3.connect(data_dir / "linli.db") as conn:
        conn.execute("CREATE TABLE places (id INTEGER PRIMARY KEY)")
    conn.close()
    stale = cli("serve")
    assert stale.exit_code == 1
    assert "linli db upgrade" in stale.stderr
    assert len(stale.stderr.strip().splitlines()) == 1


# --- db -------------------------------------------------------------------------------------


def test_db_upgrade_then_current(cli: Invoke, data_dir: Path) -> None:
    before = cli("db", "current")
    assert before.exit_code == 1
    assert "no database" in before.stderr
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert (data_dir / "linli.db").is_file()
    current = cli("db", "current")
    assert current.exit_code == 0
    assert "up to date" in current.stdout
    assert cli("db", "upgrade").exit_code == 0  # idempotent
    # A fresh installation can register devices: the built-in profiles are there, once.
    with sqlite3.connect(data_dir / "linli.db") as conn:
        profiles = conn.execute("SELECT COUNT(*), COUNT(DISTINCT code) FROM device_profiles")
        total, distinct = profiles.fetchone()
    assert total == distinct > 0


# --- user create ----------------------------------------------------------------------------


def _grants(settings: Settings, username: str) -> list[tuple[str, str]]:
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            account = account_service.by_username(db, username)
            if account is None:
                return []
            return [
                (g.role, place_service.get(db, g.place_id).code)
                for g in account_service.grants_of(db, account.id)
            ]
    finally:
        engine.dispose()


def test_user_create_reads_the_password_from_stdin(
    cli: Invoke, settings: Settings, community: str
) -> None:
    result = cli(
        "user",
        "create",
        "Zhang.Wei",
        "--name",
        "张伟",
        "--role",
        "community_staff",
        "--place",
        community,
        "--password-stdin",
        stdin="lantern-harbour-77\n",
    )
    assert result.exit_code == 0, result.output
    assert "zhang.wei" in result.stdout
    assert _grants(settings, "zhang.wei") == [("community_staff", community)]
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            login = account_service.login(
                db,
                settings,
                username="zhang.wei",
                password="lantern-harbour-77",
                ip=None,
                user_agent=None,
            )
            assert login.account.display_name == "张伟"
    finally:
        engine.dispose()


def test_user_create_prompts_for_the_password_twice(
    cli: Invoke, settings: Settings, community: str
) -> None:
    result = cli(
        "user",
        "create",
        "li.na",
        "--name",
        "李娜",
        "--role",
        "grid_worker",
        "--place",
        community,
        stdin="lantern-harbour-77\nlantern-harbour-77\n",
    )
    assert result.exit_code == 0, result.output
    assert _grants(settings, "li.na") == [("grid_worker", community)]


@pytest.mark.parametrize(
    ("args", "password", "said"),
    [
        (("--role", "grid_worker", "--place", "nowhere"), "lantern-harbour-77", "no place"),
        (("--role", "grid_worker", "--place", "test-c1"), "short", "at least 10"),
    ],
)
def test_user_create_refuses_with_one_line(
    cli: Invoke,
    settings: Settings,
    community: str,
    args: tuple[str, ...],
    password: str,
    said: str,
) -> None:
    result = cli(
        "user", "create", "wang.fang", "--name", "王芳", *args, "--password-stdin", stdin=password
    )
    assert result.exit_code == 1
    assert said in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _grants(settings, "wang.fang") == []


def test_user_create_unknown_role_is_a_usage_error(
    cli: Invoke, settings: Settings, community: str
) -> None:
    result = cli("user", "create", "x.y.z", "--name", "X", "--role", "mayor", "--place", community)
    assert result.exit_code == 2


# --- audit verify ---------------------------------------------------------------------------


def test_audit_verify_reports_a_tampered_event(
    cli: Invoke, settings: Settings, community: str
) -> None:
    made = cli(
        "user",
        "create",
        "auditor.one",
        "--name",
        "周敏",
        "--role",
        "auditor",
        "--place",
        community,
        "--password-stdin",
        stdin="lantern-harbour-77\n",
    )
    assert made.exit_code == 0, made.output
    ok = cli("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "ok" in ok.stdout
    assert "2 events" in ok.stdout

    database = settings.data_dir / "linli.db"
    conn = sqlite3.connect(database)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_events SET reason = 'x' WHERE id = 1")
        conn.rollback()
        # An attacker with write access to the file can drop the guard; the chain still tells.
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute("UPDATE audit_events SET actor_username = 'nobody' WHERE id = 1")
        conn.commit()
    finally:
        conn.close()
    tampered = cli("audit", "verify")
    assert tampered.exit_code == 1
    assert "event 1" in tampered.stderr
    assert len(tampered.stderr.strip().splitlines()) == 1


# --- secret ---------------------------------------------------------------------------------


def test_secret_prints_a_fresh_production_key(cli: Invoke) -> None:
    first, second = cli("secret"), cli("secret")
    assert first.exit_code == 0
    assert second.exit_code == 0
    assert is_production_key(first.stdout.strip())
    assert first.stdout != second.stdout
