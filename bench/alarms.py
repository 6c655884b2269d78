"""Latency from a reading to its alarm on an open console stream, under background ingestion.

A real server process (one uvicorn worker, ``linli.app:create_app``) runs on a temporary SQLite
database with generated air-quality stations and one water level gauge watched by a threshold
rule (above 20 cm raises, below 15 cm clears). Separate client processes post the stations'
readings at a steady background rate. This process holds the alarm stream open
(``GET /api/v1/alarms/stream`` with a staff API key) and posts readings to the gauge, each
crossing the limit one way or the other, so each one raises or clears the alarm. A reading's
latency runs from just before its request is sent (conservative: it includes the request) until
the stream delivers the alarm event it caused, which the server sends only after the alarm is
stored and committed.
"""

from __future__ import annotations

import http.client
import importlib.util
import multiprocessing as mp
import os
import secrets
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.config import Settings
from linli.core.crypto import configure_field_cipher
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.place import service as place_service
from linli.rule import service as rule_service
from linli.rule.schemas import RuleCreate

LOAD_PROCESSES = 2
READINGS_PER_MESSAGE = 80  # 10 time points × 8 properties
SETTLE_S = 2.0


def _sibling(name: str) -> Any:
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"linli_bench_{name}_for_alarms", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seed_alarm_parts(url: str, settings: Settings) -> tuple[str, str]:
    """The gauge, its rule and a staff account; returns (gauge token, staff API key)."""
    configure_field_cipher(settings.field_key())
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as db:
        compound = place_service.by_code(db, "bench-compound")
        community = place_service.by_code(db, "bench-community")
        assert compound is not None
        assert community is not None
        _gauge, token = device_service.create_device(
            db,
            None,
            DeviceCreate(
                uid="bench-gauge", name="bench gauge", place_id=compound.id, profile="water_level"
            ),
        )
        rule_service.create(
            db,
            None,
            RuleCreate(
                template="water_level_high",
                place_id=community.id,
                params={"op": ">", "value": 20, "clear_value": 15, "for_min": 0},
                enabled=True,
            ),
        )
        account = account_service.create_account(
            db,
            None,
            AccountCreate(
                username="bench.staff",
                display_name="Bench staff",
                password=secrets.token_urlsafe(16),
            ),
        )
        account_service.grant_role(
            db, None, account_id=account.id, role="community_staff", place_id=community.id
        )
        actor = account_service.build_actor(db, account, via="cli")
        _key, plain = account_service.create_api_key(db, actor, account_id=account.id, name="b")
    engine.dispose()
    return token, plain


# --- background load ------------------------------------------------------------------------


def _load_process(args: tuple[Any, ...]) -> dict[str, Any]:
    """Post batched station readings at ``rate`` readings/s until ``seconds`` have passed."""
    port, devices, rate, seconds, base, ingest = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    interval = READINGS_PER_MESSAGE / rate
    start = time.monotonic()
    sent = accepted = errors = 0
    seq = 0
    while True:
        due = start + seq * interval
        now = time.monotonic()
        if now - start >= seconds:
            break
        if due > now:
            time.sleep(due - now)
        device = devices[seq % len(devices)]
        n = seq // len(devices)
        body = ingest._message(ingest.AQ_KEYS, 10, ingest._ts(base, n, 10), n)
        headers = {"Authorization": f"Bearer {device['token']}", "Content-Type": "application/json"}
        try:
            conn.request("POST", "/api/v1/telemetry", body, headers)
            response = conn.getresponse()
            data = response.read()
            if response.status == 200:
                accepted += int(orjson.loads(data)["accepted"])
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        sent += READINGS_PER_MESSAGE
        seq += 1
    conn.close()
    return {"sent": sent, "accepted": accepted, "errors": errors, "seconds": seconds}


# --- the stream -----------------------------------------------------------------------------


class _Listener(threading.Thread):
    """Reads the alarm stream; remembers when each (change, value) event arrived."""

    def __init__(self, port: int, key: str) -> None:
        super().__init__(name="bench-alarm-stream", daemon=True)
        self.url = f"http://127.0.0.1:{port}/api/v1/alarms/stream"
        self.key = key
        self.ready = threading.Event()
        self.lock = threading.Lock()
        self.arrived: dict[tuple[str, float], float] = {}
        self.error: str = ""
        self.stop = False

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Accept": "text/event-stream"}
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(5, read=None)) as client,
                client.stream("GET", self.url, headers=headers) as response,
            ):
                if response.status_code != 200:
                    self.error = f"stream answered {response.status_code}"
                    self.ready.set()
                    return
                self.ready.set()
                for line in response.iter_lines():
                    if self.stop:
                        return
                    if not line.startswith("data:"):
                        continue
                    at = time.perf_counter()
                    event = orjson.loads(line[5:])
                    if event.get("change") in ("raised", "cleared") and event.get("value"):
                        with self.lock:
                            self.arrived.setdefault((event["change"], float(event["value"])), at)
        except httpx.HTTPError as exc:
            self.error = str(exc)
            self.ready.set()

    def wait_for(self, key: tuple[str, float], timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                found = self.arrived.get(key)
            if found is not None:
                return found
            time.sleep(0.0005)
        return None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


# --- the run --------------------------------------------------------------------------------


def run(*, alarms: int = 200, background: float = 5000.0, pause_ms: float = 50.0) -> dict[str, Any]:
    """Raise and clear ``alarms`` alarms under ``background`` readings/s; the latencies."""
    ingest = _sibling("ingest")
    ctx = mp.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="linli-bench-alarms-") as tmp_name:
        tmp = Path(tmp_name)
        secret = secrets.token_urlsafe(48)
        url = f"sqlite:///{tmp / 'linli.db'}"
        settings = Settings(database_url=url, data_dir=tmp, secret_key=SecretStr(secret))
        devices = ingest._seed(url, settings, profile="air_quality")
        gauge_token, key = _seed_alarm_parts(url, settings)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LINLI_")},
            "LINLI_DATABASE_URL": url,
            "LINLI_SECRET_KEY": secret,
            "LINLI_DATA_DIR": str(tmp),
            "LINLI_LOG_LEVEL": "WARNING",
            "LINLI_BACKGROUND_JOBS": "false",
        }
        port = ingest._free_port()
        server: subprocess.Popen[bytes] = ingest._start_server(env, port)
        listener = _Listener(port, key)
        try:
            listener.start()
            if not listener.ready.wait(10) or listener.error:
                raise RuntimeError(f"benchmark: alarm stream not open: {listener.error}")
            # The whole trigger phase runs inside the load's window (with margins).
            trigger_s = alarms * (pause_ms / 1000 + 0.02) + 2 * SETTLE_S
            base = int(time.time() * 1000) - 86_400_000
            jobs = [
                (
                    port,
                    devices[i::LOAD_PROCESSES],
                    background / LOAD_PROCESSES,
                    trigger_s,
                    base,
                    ingest,
                )
                for i in range(LOAD_PROCESSES)
            ]
            results_queue = ctx.Queue()
            procs = [
                ctx.Process(target=ingest._child, args=(_load_process, job, results_queue))
                for job in jobs
            ]
            for proc in procs:
                proc.start()
            time.sleep(SETTLE_S)
            from_send, from_ack, missed, raised = _trigger(
                port, gauge_token, listener, alarms, pause_ms
            )
            load = [results_queue.get(timeout=300) for _ in procs]
            for proc in procs:
                proc.join(30)
        finally:
            listener.stop = True
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
    accepted = sum(r["accepted"] for r in load)
    window = max(r["seconds"] for r in load)
    return {
        "benchmark": "alarms",
        "alarms": raised,
        "events": len(from_send),
        "missed": missed,
        "p50_ms": round(statistics.median(from_send) * 1000, 2) if from_send else None,
        "p99_ms": round(_percentile(from_send, 0.99) * 1000, 2) if from_send else None,
        "max_ms": round(max(from_send) * 1000, 2) if from_send else None,
        "p50_from_ack_ms": round(statistics.median(from_ack) * 1000, 2) if from_ack else None,
        "p99_from_ack_ms": round(_percentile(from_ack, 0.99) * 1000, 2) if from_ack else None,
        "background_readings_per_s": round(accepted / window, 1),
        "background_target_per_s": background,
        "background_errors": sum(r["errors"] for r in load),
        "conditions": (
            f"1 uvicorn worker on SQLite; {LOAD_PROCESSES} load processes posting 80-reading"
            " batches; latency from before the reading's request to the alarm event on an open"
            " SSE stream (raise and clear alternate)"
        ),
        "cpu_count": os.cpu_count(),
    }


def _trigger(
    port: int, token: str, listener: _Listener, alarms: int, pause_ms: float
) -> tuple[list[float], list[float], int, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    from_send: list[float] = []
    from_ack: list[float] = []
    missed = raised = 0
    for i in range(alarms * 2):
        raising = i % 2 == 0
        # A distinct value per reading identifies its event on the stream.
        value = round((30.0 if raising else 5.0) + (i % 1000) / 1000, 3)
        body = orjson.dumps({"ts": int(time.time() * 1000), "values": {"water_level": value}})
        sent = time.perf_counter()
        conn.request("POST", "/api/v1/telemetry", body, headers)
        response = conn.getresponse()
        response.read()
        acked = time.perf_counter()
        if response.status != 200:
            missed += 1
            continue
        arrived = listener.wait_for(("raised" if raising else "cleared", value), 5.0)
        if arrived is None:
            missed += 1
        else:
            raised += raising
            from_send.append(arrived - sent)
            from_ack.append(max(0.0, arrived - acked))
        time.sleep(pause_ms / 1000)
    conn.close()
    return from_send, from_ack, missed, raised
