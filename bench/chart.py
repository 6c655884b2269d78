"""Server time of a chart over one year of 1-minute data (DESIGN.md §6: ≤ 50 ms).

A temporary SQLite database gets one datastream holding 525,600 readings (one a minute for a
year) and the 5-minute, hourly and daily rollups computed from them by one SQL statement each.
The series of the last day, 7 days, 30 days and year (1,000 points asked, as the chart does) is
then timed in process, through the service with a fresh session per call as a request has, and
over HTTP against a real uvicorn process, where the server's own time comes from the
``Server-Timing`` header of the series response.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import secrets
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.config import Settings
from linli.core.actor import Actor
from linli.core.crypto import configure_field_cipher
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.core.migrate import upgrade
from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate
from linli.telemetry import series as series_service

BENCH_DIR = Path(__file__).resolve().parent
MINUTE_MS = 60_000
DAY_MS = 86_400_000
YEAR_MINUTES = 365 * 24 * 60
START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
RANGES = {"1d": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS, "1y": 365 * DAY_MS}
TARGET_MS = 50.0
TIMING_RE = re.compile(r"dur=([0-9.]+)")

ROLLUP_SQL = """
INSERT INTO rollups (datastream_id, period_s, bucket, count, min, max, sum, last, last_ts)
SELECT datastream_id, :p, ts - ts % (:p * 1000), count(*), min(value), max(value), sum(value),
       0, max(ts)
FROM observations WHERE datastream_id = :ds GROUP BY ts - ts % (:p * 1000)
"""
LAST_SQL = """
UPDATE rollups SET last = (SELECT o.value FROM observations o
  WHERE o.datastream_id = rollups.datastream_id AND o.ts = rollups.last_ts)
WHERE datastream_id = :ds
"""


def _api_module() -> Any:
    spec = importlib.util.spec_from_file_location("linli_bench_api", BENCH_DIR / "api.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seed(url: str, db_path: Path, settings: Settings) -> tuple[int, int, str]:
    """Places, a noise monitor, a staff account with an API key; returns (stream, account, key)."""
    configure_field_cipher(settings.field_key())
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as db:
        parent = None
        for kind in ("city", "district", "street_office", "community", "compound"):
            parent = place_service.create(
                db,
                None,
                PlaceCreate.model_validate(
                    {
                        "parent_id": parent.id if parent else None,
                        "kind": kind,
                        "name": f"bench {kind}",
                        "code": f"bc-{kind}",
                    }
                ),
            )
        assert parent is not None
        device_service.ensure_catalog(db)
        device, _token = device_service.create_device(
            db,
            None,
            DeviceCreate(uid="bench-noise", name="Noise", place_id=parent.id, profile="noise"),
        )
        ref = device_service.ref_by_uid(db, device.uid)
        assert ref is not None
        stream_id = ref.streams["noise"].id
        account = account_service.create_account(
            db,
            None,
            AccountCreate(
                username="bench.staff", display_name="Bench", password=secrets.token_urlsafe(16)
            ),
        )
        account_service.grant_role(
            db, None, account_id=account.id, role="community_staff", place_id=parent.id
        )
        actor = account_service.build_actor(db, account, via="cli")
        _key, plain = account_service.create_api_key(db, actor, account_id=account.id, name="bench")
        account_id = account.id
    engine.dispose()
    _fill(db_path, stream_id)
    return stream_id, account_id, plain


def _fill(db_path: Path, stream_id: int) -> None:
    """A year of 1-minute readings (a daily cycle plus a slow drift) and their rollups."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")

    def rows() -> Any:
        for i in range(YEAR_MINUTES):
            ts = START_MS + i * MINUTE_MS
            daily = math.sin(2 * math.pi * (i % 1440) / 1440)
            yield stream_id, ts, round(45 + 12 * daily + 5 * math.sin(i / 9973) + (i % 7) * 0.3, 2)

    with conn:
        conn.executemany(
            "INSERT INTO observations (datastream_id, ts, value) VALUES (?, ?, ?)", rows()
        )
        for period in (300, 3600, 86400):
            conn.execute(ROLLUP_SQL, {"p": period, "ds": stream_id})
        conn.execute(LAST_SQL, {"ds": stream_id})
        last_ts = START_MS + (YEAR_MINUTES - 1) * MINUTE_MS
        conn.execute(
            "UPDATE datastreams SET first_at_ms = ?, last_at_ms = ? WHERE id = ?",
            (START_MS, last_ts, stream_id),
        )
    conn.execute("ANALYZE")
    conn.close()


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(ordered[-1], 2),
    }


def _in_process(url: str, stream_id: int, account_id: int, repeats: int) -> dict[str, Any]:
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    with maker() as db:
        actor: Actor = account_service.build_actor(
            db, account_service.get_account(db, account_id), via="cli"
        )
    end = START_MS + YEAR_MINUTES * MINUTE_MS
    out: dict[str, Any] = {}
    for name, span in RANGES.items():
        samples: list[float] = []
        resolution, points = "", 0
        for i in range(repeats + 3):
            began = time.perf_counter()
            with maker() as db:
                found = series_service.series(
                    db, actor, stream_id, start_ms=end - span, end_ms=end, points=1000
                )
            spent = (time.perf_counter() - began) * 1000
            if i >= 3:  # the first calls warm the page cache and the statement cache
                samples.append(spent)
            resolution, points = found.resolution, len(found.points)
        out[name] = {**_stats(samples), "resolution": resolution, "points": points}
    engine.dispose()
    return out


def _over_http(env: dict[str, str], stream_id: int, key: str, repeats: int) -> dict[str, Any]:
    api = _api_module()
    port = api._free_port()
    server = api._start(["--factory", "linli.app:create_app"], env, port)
    end = START_MS + YEAR_MINUTES * MINUTE_MS
    out: dict[str, Any] = {}
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ) as client:
            for name, span in RANGES.items():
                server_ms: list[float] = []
                client_ms: list[float] = []
                url = f"/api/v1/datastreams/{stream_id}/series"
                params = {"start": str(end - span), "end": str(end), "points": "1000"}
                for i in range(repeats + 3):
                    began = time.perf_counter()
                    response = client.get(url, params=params)
                    spent = (time.perf_counter() - began) * 1000
                    response.raise_for_status()
                    match = TIMING_RE.search(response.headers.get("server-timing", ""))
                    if match is None:
                        raise RuntimeError("the series response carries no Server-Timing")
                    if i >= 3:
                        server_ms.append(float(match.group(1)))
                        client_ms.append(spent)
                body = response.json()
                out[name] = {
                    **_stats(server_ms),
                    "client_p50_ms": round(statistics.median(client_ms), 2),
                    "client_p99_ms": _stats(client_ms)["p99_ms"],
                    "resolution": body["resolution"],
                    "points": len(body["points"]),
                    "bytes": len(response.content),
                }
    finally:
        server.terminate()
        server.wait(10)
    return out


def run(*, repeats: int = 50) -> dict[str, Any]:
    """Build the year of data, time the series per range; return the figures."""
    with tempfile.TemporaryDirectory(prefix="linli-bench-chart-") as tmp:
        secret = secrets.token_urlsafe(48)
        db_path = Path(tmp) / "linli.db"
        url = f"sqlite:///{db_path}"
        settings = Settings(database_url=url, data_dir=Path(tmp), secret_key=SecretStr(secret))
        began = time.perf_counter()
        stream_id, account_id, key = _seed(url, db_path, settings)
        setup_s = time.perf_counter() - began
        in_process = _in_process(url, stream_id, account_id, repeats)
        env = {
            **os.environ,
            "LINLI_DATABASE_URL": url,
            "LINLI_SECRET_KEY": secret,
            "LINLI_DATA_DIR": tmp,
            "LINLI_LOG_LEVEL": "WARNING",
        }
        http = _over_http(env, stream_id, key, repeats)
    worst = max(
        max(r["p99_ms"] for r in in_process.values()), max(r["p99_ms"] for r in http.values())
    )
    year = max(in_process["1y"]["p99_ms"], http["1y"]["p99_ms"])
    return {
        "benchmark": "chart",
        "observations": YEAR_MINUTES,
        "points_asked": 1000,
        "repeats": repeats,
        "setup_s": round(setup_s, 1),
        "in_process": in_process,
        "http_server_timing": http,
        "max_p99_ms": worst,
        "year_p99_ms": year,
        "target_ms": TARGET_MS,
        "meets_target": year <= TARGET_MS,
        "cpu_count": os.cpu_count(),
    }
