"""Authenticated API read under concurrent clients, against a bare FastAPI endpoint in the same run.

Both servers run as single uvicorn worker processes on loopback and are loaded by ``wrk`` with the
same number of connections, one after the other, so the ratio does not depend on the machine.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.config import Settings
from linli.core.crypto import configure_field_cipher
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.core.migrate import upgrade
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate
from linli.resident import service as resident_service
from linli.resident.schemas import HouseholdCreate, ResidentCreate

BENCH_DIR = Path(__file__).resolve().parent
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(url: str, settings: Settings) -> str:
    """A small community with one resident account; returns that account's API key."""
    configure_field_cipher(settings.field_key())
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as db:
        parent = None
        for kind, code in (
            ("city", "b-city"),
            ("district", "b-district"),
            ("street_office", "b-street"),
            ("community", "b-community"),
            ("compound", "b-compound"),
            ("building", "b-building"),
            ("unit", "b-unit"),
        ):
            parent = place_service.create(
                db,
                None,
                PlaceCreate.model_validate(
                    {
                        "parent_id": parent.id if parent else None,
                        "kind": kind,
                        "name": code,
                        "code": code,
                    }
                ),
            )
        assert parent is not None
        household = resident_service.create_household(
            db, None, HouseholdCreate(place_id=parent.id, room="101")
        )
        resident = resident_service.create_resident(
            db, None, ResidentCreate(household_id=household.id, name="王小丽", phone="13812345678")
        )
        account = account_service.create_account(
            db,
            None,
            AccountCreate(
                username="bench.resident",
                display_name="Bench",
                password=secrets.token_urlsafe(16),
                resident_id=resident.id,
            ),
        )
        community = place_service.by_code(db, "b-community")
        assert community is not None
        account_service.grant_role(
            db, None, account_id=account.id, role="resident", place_id=community.id
        )
        actor = account_service.build_actor(db, account, via="cli")
        _key, plain = account_service.create_api_key(db, actor, account_id=account.id, name="bench")
    engine.dispose()
    return plain


def _start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-m",
            "uvicorn",
            *args,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError("benchmark server failed to start") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("benchmark server did not answer within 30 s")


def _wrk(url: str, *, seconds: int, clients: int, headers: dict[str, str]) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT)
        script = fh.name
    cmd = [wrk, "-t1", f"-c{clients}", f"-d{seconds}s", "-s", script]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(  # noqa: S603 - fixed argument list
        [*cmd, url], capture_output=True, text=True, check=True
    ).stdout
    os.unlink(script)
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if match is None:
        raise RuntimeError(f"unexpected wrk output: {out[-300:]}")
    requests, duration_us, p50_us, p99_us, bad_status, socket_errors = map(int, match.groups())
    return {
        "requests": requests,
        "rate": requests / (duration_us / 1e6),
        "p50_ms": p50_us / 1000,
        "p99_ms": p99_us / 1000,
        "non_2xx": bad_status,
        "socket_errors": socket_errors,
    }


def run(*, seconds: int = 10, clients: int = 50) -> dict[str, Any]:
    """Measure ``GET /api/v1/me`` with an API key against a bare endpoint; return the figures."""
    with tempfile.TemporaryDirectory(prefix="linli-bench-") as tmp:
        secret = secrets.token_urlsafe(48)
        url = f"sqlite:///{Path(tmp) / 'linli.db'}"
        settings = Settings(database_url=url, data_dir=Path(tmp), secret_key=SecretStr(secret))
        key = _seed(url, settings)
        env = {
            **os.environ,
            "LINLI_DATABASE_URL": url,
            "LINLI_SECRET_KEY": secret,
            "LINLI_DATA_DIR": tmp,
            "LINLI_LOG_LEVEL": "WARNING",
        }
        bare_port, linli_port = _free_port(), _free_port()
        bare = _start(["--app-dir", str(BENCH_DIR), "bare:app"], env, bare_port)
        try:
            httpx.get(f"http://127.0.0.1:{bare_port}/ping")
            baseline = _wrk(
                f"http://127.0.0.1:{bare_port}/ping", seconds=seconds, clients=clients, headers={}
            )
        finally:
            bare.terminate()
            bare.wait(10)
        server = _start(["--factory", "linli.app:create_app"], env, linli_port)
        try:
            auth = {"Authorization": f"Bearer {key}"}
            check = httpx.get(f"http://127.0.0.1:{linli_port}/api/v1/me", headers=auth)
            check.raise_for_status()
            measured = _wrk(
                f"http://127.0.0.1:{linli_port}/api/v1/me",
                seconds=seconds,
                clients=clients,
                headers=auth,
            )
        finally:
            server.terminate()
            server.wait(10)
    return {
        "benchmark": "api",
        "endpoint": "GET /api/v1/me (Bearer API key, SQLite)",
        "clients": clients,
        "seconds": seconds,
        "requests_per_s": round(measured["rate"], 1),
        "p50_ms": measured["p50_ms"],
        "p99_ms": measured["p99_ms"],
        "errors": int(measured["non_2xx"] + measured["socket_errors"]),
        "baseline_requests_per_s": round(baseline["rate"], 1),
        "baseline_p99_ms": baseline["p99_ms"],
        "ratio": round(measured["rate"] / baseline["rate"], 3),
        "cpu_count": os.cpu_count(),
    }
