"""Ingestion rate and acknowledge latency over HTTP or MQTT, against raw SQLite in the same run.

The server under test is a real process on a temporary SQLite database with generated devices:
one uvicorn worker (``linli.app:create_app``) for HTTP, or one ``linli ingest`` process behind a
Mosquitto started for the run (``max_queued_messages 0`` so that nothing is dropped while the
subscriber catches up) for MQTT. Load comes from separate client processes. Every reading has a
unique (device, ts) key, so at the end the stored rows are compared with what was acknowledged:
``lost`` = acknowledged readings not stored, ``duplicated`` = rows (or rollup counts) beyond one
per reading. The baseline is plain ``sqlite3`` ``executemany`` into an equivalent
``WITHOUT ROWID`` table (same pragmas), measured in the same run.
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr
from sqlalchemy import func, select

from linli.config import Settings
from linli.core.crypto import configure_field_cipher
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.core.migrate import upgrade
from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate
from linli.rule import service as rule_service
from linli.rule.schemas import RuleCreate

AQ_KEYS = ("pm25", "pm10", "no2", "o3", "co", "so2", "temperature", "humidity")
POINTS_PER_MESSAGE = 10  # batched: 10 time points × 8 properties = 80 readings per message
DEVICES = 64
HTTP_PROCESSES = 2
HTTP_THREADS = 8
MQTT_PROCESSES = 2
MQTT_WINDOW = 2000  # unacknowledged messages a publisher allows itself
DAY_MS = 86_400_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"benchmark: timed out waiting for {what}")
        time.sleep(0.05)


# --- set-up ---------------------------------------------------------------------------------


def _seed(
    url: str, settings: Settings, *, profile: str, rules: bool = True
) -> list[dict[str, Any]]:
    """A place and DEVICES devices of ``profile``; returns uid, token and stream ids of each."""
    configure_field_cipher(settings.field_key())
    engine = make_engine(url)
    upgrade(engine)
    devices: list[dict[str, Any]] = []
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
                        "code": f"bench-{kind}",
                    }
                ),
            )
        assert parent is not None
        device_service.ensure_catalog(db)
        for i in range(DEVICES):
            uid = f"bench-{i:04d}"
            device, token = device_service.create_device(
                db, None, DeviceCreate(uid=uid, name=uid, place_id=parent.id, profile=profile)
            )
            ref = device_service.ref_by_uid(db, uid)
            assert ref is not None
            streams = {key: s.id for key, s in ref.streams.items()}
            devices.append({"uid": uid, "token": token, "streams": streams, "id": device.id})
    engine.dispose()
    if rules:
        _watch(url, settings, parent_code="bench-compound", profile=profile)
    return devices


def _watch(url: str, _settings: Settings, *, parent_code: str, profile: str) -> None:
    """Rules on: one alarm rule watching every device, as in a community that uses alarms."""
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as db:
        parent = place_service.by_code(db, parent_code)
        assert parent is not None
        template, prop = (
            ("pm25_high", "pm25") if profile == "air_quality" else ("noise_class_1", "noise")
        )
        rule_service.create(
            db,
            None,
            RuleCreate(template=template, place_id=parent.id, property_key=prop, enabled=True),
        )
    engine.dispose()


def _baseline(tmp: Path, seconds: float = 2.0) -> float:
    """Rows per second of plain sqlite3 executemany into a WITHOUT ROWID table (1,000 a commit)."""
    conn = sqlite3.connect(tmp / "baseline.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE observations (datastream_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
        " value REAL, text TEXT, PRIMARY KEY (datastream_id, ts)) WITHOUT ROWID"
    )
    base = int(time.time() * 1000) - DAY_MS
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        rows = [
            (1 + (done + i) % 512, base + (done + i) // 512, float(i), None) for i in range(1000)
        ]
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO observations VALUES (?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
        done += len(rows)
    rate = done / (time.perf_counter() - start)
    conn.close()
    return rate


def _message(keys: tuple[str, ...], points: int, first_ts: int, seq: int) -> bytes:
    if points == 1 and len(keys) == 1:
        return orjson.dumps({"ts": first_ts, "values": {keys[0]: float(seq % 90)}})
    return orjson.dumps(
        [
            {"ts": first_ts + p * 1000, "values": {k: float((seq + p) % 90) for k in keys}}
            for p in range(points)
        ]
    )


def _ts(base: int, seq: int, points: int) -> int:
    return base + seq * points * 1000


# --- HTTP load ------------------------------------------------------------------------------


def _http_thread(
    port: int,
    devices: list[dict[str, Any]],
    keys: tuple[str, ...],
    points: int,
    base: int,
    deadline: float,
    out: dict[str, Any],
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    acked: dict[str, list[int]] = {d["uid"]: [] for d in devices}
    errors = 0
    seq = 0
    expected = points * len(keys)
    while time.monotonic() < deadline:
        device = devices[seq % len(devices)]
        n = seq // len(devices)
        body = _message(keys, points, _ts(base, n, points), n)
        headers = {"Authorization": f"Bearer {device['token']}", "Content-Type": "application/json"}
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/telemetry", body, headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            seq += 1
            continue
        latencies.append(time.perf_counter() - t0)
        if response.status == 200 and orjson.loads(data)["accepted"] == expected:
            acked[device["uid"]].append(n)
        else:
            errors += 1
        seq += 1
    conn.close()
    out["latencies"].extend(latencies)
    for uid, ns in acked.items():
        out["acked"].setdefault(uid, []).extend(ns)
    out["errors"] += errors


def _http_process(args: tuple[Any, ...]) -> dict[str, Any]:
    port, devices, keys, points, base, seconds, threads = args
    out: dict[str, Any] = {"latencies": [], "acked": {}, "errors": 0}
    deadline = time.monotonic() + seconds
    workers = [
        threading.Thread(
            target=_http_thread,
            args=(port, devices[i::threads], keys, points, base, deadline, out),
        )
        for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return out


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "linli.app:create_app",
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

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError("benchmark server failed to start")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            ok = c.getresponse().status == 200
            c.close()
        except OSError:
            return False
        return ok

    _wait(up, 30, "the server")
    return proc


# --- MQTT load ------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    """MQTT's variable-length integer."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _remaining_length(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(length, header size) of the whole packet at ``pos`` in ``buf``, or None if incomplete."""
    length, shift = 0, 0
    for i in range(1, min(len(buf) - pos, 5)):
        byte = buf[pos + i]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (length, i + 1) if len(buf) - pos >= i + 1 + length else None
    return None


def _mqtt_string(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(2, "big") + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + _varint(len(body)) + body


def _raw_mqtt_process(args: tuple[Any, ...]) -> dict[str, Any]:
    """A lean MQTT 5 QoS 1 publisher on a plain socket (load generator only).

    paho's Python packet handling cost more CPU than the subscriber under test, so the
    generator encodes PUBLISH packets itself, writes them in large chunks and reads the
    PUBACKs on a second thread; a window bounds the messages in flight.
    """
    port, devices, keys, points, base, seconds = args
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client_id = f"bench-raw-{uuid.uuid4().hex[:8]}"
    # CONNECT: protocol name, level 5, clean start, keep-alive 60 s, no properties.
    connect_body = _mqtt_string("MQTT") + bytes([5, 0x02]) + (60).to_bytes(2, "big") + b"\x00"
    sock.sendall(_packet(0x10, connect_body + _mqtt_string(client_id)))
    header = sock.recv(2)
    if len(header) < 2 or header[0] != 0x20:
        raise RuntimeError("the broker refused the benchmark publisher")
    sock.recv(header[1])
    sent_at: dict[int, tuple[float, str, int]] = {}
    latencies: list[float] = []
    acked: dict[str, list[int]] = {d["uid"]: [] for d in devices}
    window = threading.Semaphore(MQTT_WINDOW)
    done = threading.Event()

    def read_acks() -> None:
        buf = b""
        while not (done.is_set() and not sent_at):
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            now = time.perf_counter()
            buf += chunk
            pos = 0
            while True:
                parsed = _remaining_length(buf, pos)
                if parsed is None:
                    break
                length, i = parsed
                kind, body = buf[pos] & 0xF0, buf[pos + i : pos + i + length]
                pos += i + length
                if kind == 0x40:  # PUBACK
                    mid = int.from_bytes(body[:2], "big")
                    entry = sent_at.pop(mid, None)
                    if entry is not None:
                        t0, uid, n = entry
                        latencies.append(now - t0)
                        acked[uid].append(n)
                        window.release()
            buf = buf[pos:]

    reader = threading.Thread(target=read_acks, daemon=True)
    reader.start()
    topics = {d["uid"]: _mqtt_string(f"linli/devices/{d['uid']}/telemetry") for d in devices}
    deadline = time.monotonic() + seconds
    seq = 0
    mid = 0
    while time.monotonic() < deadline:
        chunk = bytearray()
        for _ in range(200):
            if not window.acquire(timeout=0.05):
                break
            device = devices[seq % len(devices)]
            n = seq // len(devices)
            body = _message(keys, points, _ts(base, n, points), n)
            mid = mid % 65535 + 1
            sent_at[mid] = (time.perf_counter(), device["uid"], n)
            # PUBLISH, QoS 1: topic, packet id, empty properties, payload.
            packet_body = topics[device["uid"]] + mid.to_bytes(2, "big") + b"\x00" + body
            chunk += _packet(0x32, packet_body)
            seq += 1
        if chunk:
            sock.sendall(chunk)
    done.set()
    drain = time.monotonic() + 60
    while sent_at and time.monotonic() < drain:
        time.sleep(0.01)
    sock.sendall(_packet(0xE0, b"\x00\x00"))  # DISCONNECT, normal
    sock.close()
    reader.join(5)
    return {"latencies": latencies, "acked": acked, "errors": len(sent_at)}


def _mqtt_process(args: tuple[Any, ...]) -> dict[str, Any]:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    port, devices, keys, points, base, seconds = args
    # No lock shared with paho's thread (its callbacks run under paho's own locks): the
    # callback only records the acknowledgement time; everything is joined afterwards.
    # Message ids wrap at 65,535: the k-th acknowledgement of an id answers its k-th send.
    sent: list[tuple[int, float, str, int]] = []
    acks: list[tuple[int, float]] = []

    def on_publish(_c: Any, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        acks.append((mid, time.perf_counter()))

    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"bench-pub-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.max_inflight_messages_set(MQTT_WINDOW)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    deadline = time.monotonic() + seconds
    seq = 0
    latencies: list[float] = []
    acked: dict[str, list[int]] = {d["uid"]: [] for d in devices}
    while time.monotonic() < deadline:
        if len(sent) - len(acks) >= MQTT_WINDOW:
            time.sleep(0.0005)
            continue
        device = devices[seq % len(devices)]
        n = seq // len(devices)
        body = _message(keys, points, _ts(base, n, points), n)
        t0 = time.perf_counter()
        info = client.publish(f"linli/devices/{device['uid']}/telemetry", body, qos=1)
        sent.append((info.mid, t0, device["uid"], n))
        seq += 1
    drain = time.monotonic() + 60
    while len(acks) < len(sent) and time.monotonic() < drain:
        time.sleep(0.01)
    client.disconnect()
    client.loop_stop()
    ack_times: dict[int, list[float]] = {}
    for mid, at in acks:
        ack_times.setdefault(mid, []).append(at)
    for times in ack_times.values():
        times.reverse()
    for mid, t0, uid, n in sent:
        times = ack_times.get(mid)
        if times:
            latencies.append(times.pop() - t0)
            acked[uid].append(n)
    return {"latencies": latencies, "acked": acked, "errors": len(sent) - len(latencies)}


def _start_broker(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    conf = tmp / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 0\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(  # noqa: S603 - fixed argument list
        [mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    _wait(up, 10, "mosquitto")
    return proc


# --- verification ---------------------------------------------------------------------------


def _verify(
    url: str,
    devices: list[dict[str, Any]],
    acked: dict[str, list[int]],
    keys: tuple[str, ...],
    points: int,
    base: int,
) -> tuple[int, int, int]:
    """(lost, duplicated, rows stored) of the acknowledged readings."""
    engine = make_engine(url)
    from linli.telemetry.models import Observation, Rollup

    lost = 0
    with engine.connect() as conn:
        stored_rows = 0
        for device in devices:
            sids = [device["streams"][k] for k in keys]
            stored = {
                (int(s), int(t))
                for s, t in conn.execute(
                    select(Observation.datastream_id, Observation.ts).where(
                        Observation.datastream_id.in_(sids)
                    )
                )
            }
            stored_rows += len(stored)
            for n in acked.get(device["uid"], []):
                first = _ts(base, n, points)
                for p in range(points):
                    for sid in sids:
                        if (sid, first + p * 1000) not in stored:
                            lost += 1
        total = int(conn.execute(select(func.count()).select_from(Observation)).scalar_one())
        counted = int(
            conn.execute(select(func.sum(Rollup.count)).where(Rollup.period_s == 300)).scalar_one()
            or 0
        )
    engine.dispose()
    # Rows are unique by key; a reading stored "twice" would show as a rollup counted twice.
    duplicated = max(0, counted - total) + max(0, stored_rows - total)
    return lost, duplicated, total


def _count(url: str) -> int:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
    try:
        return int(conn.execute("SELECT count(*) FROM observations").fetchone()[0])
    finally:
        conn.close()


def _child(func: Any, job: tuple[Any, ...], results: Any) -> None:
    results.put(func(job))


def _in_processes(ctx: Any, func: Any, jobs: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Run ``func(job)`` for each job in its own process; their results."""
    results = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(func, job, results)) for job in jobs]
    for proc in procs:
        proc.start()
    out = [results.get(timeout=900) for _ in procs]
    for proc in procs:
        proc.join(30)
    return out


# --- the run --------------------------------------------------------------------------------


def run(
    *, transport: str = "http", seconds: int = 10, single: bool = False, rules: bool = True
) -> dict[str, Any]:
    """Drive the real server with generated devices; return the figures as one dict."""
    keys = ("noise",) if single else AQ_KEYS
    points = 1 if single else POINTS_PER_MESSAGE
    profile = "noise" if single else "air_quality"
    # Fork: the load functions live in this file, which is loaded by path, not imported.
    ctx = mp.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="linli-bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        secret = secrets.token_urlsafe(48)
        url = f"sqlite:///{tmp / 'linli.db'}"
        settings = Settings(database_url=url, data_dir=tmp, secret_key=SecretStr(secret))
        devices = _seed(url, settings, profile=profile, rules=rules)
        baseline = _baseline(tmp)
        base = int(time.time() * 1000) - DAY_MS
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LINLI_")},
            "LINLI_DATABASE_URL": url,
            "LINLI_SECRET_KEY": secret,
            "LINLI_DATA_DIR": str(tmp),
            "LINLI_LOG_LEVEL": "WARNING",
            "LINLI_RULES_ENABLED": "true" if rules else "false",
        }
        procs: list[subprocess.Popen[bytes]] = []
        try:
            if transport == "http":
                port = _free_port()
                procs.append(_start_server(env, port))
                jobs = [
                    (port, devices[i::HTTP_PROCESSES], keys, points, base, seconds, HTTP_THREADS)
                    for i in range(HTTP_PROCESSES)
                ]
                start = time.perf_counter()
                results = _in_processes(ctx, _http_process, jobs)
                elapsed = time.perf_counter() - start
                conditions = f"{HTTP_PROCESSES}×{HTTP_THREADS} keep-alive clients, 1 uvicorn worker"
            else:
                port = _free_port()
                procs.append(_start_broker(tmp, port))
                env["LINLI_MQTT_URL"] = f"mqtt://127.0.0.1:{port}"
                env["LINLI_MQTT_CLIENT_ID"] = "linli-bench-ingest"
                linli = str(Path(sys.executable).parent / "linli")
                procs.append(
                    subprocess.Popen(  # noqa: S603 - fixed argument list
                        [linli, "ingest"],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                _probe_mqtt(port, devices[0], keys, base, url)
                jobs = [
                    (port, devices[i::MQTT_PROCESSES], keys, points, base, seconds)
                    for i in range(MQTT_PROCESSES)
                ]
                start = time.perf_counter()
                # One reading per message: paho's per-packet cost in the publishers would exceed the
                # subscriber's, so a lean raw-socket publisher drives it. Batched: paho suffices,
                # and a faster publisher only piles up a backlog larger than the run.
                publisher = _raw_mqtt_process if single else _mqtt_process
                results = _in_processes(ctx, publisher, jobs)
                acked_readings = (
                    sum(len(ns) for r in results for ns in r["acked"].values()) * points * len(keys)
                )
                # Sustained rate: until every acknowledged reading is in the database.
                _wait(lambda: _count(url) >= acked_readings + 1, 300, "the subscriber to catch up")
                elapsed = time.perf_counter() - start
                kind = "raw-socket MQTT 5" if single else "paho"
                conditions = f"{MQTT_PROCESSES} {kind} publishers (QoS 1), 1 `linli ingest` process"
        finally:
            for proc in reversed(procs):
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        acked: dict[str, list[int]] = {}
        latencies: list[float] = []
        errors = 0
        for r in results:
            latencies.extend(r["latencies"])
            errors += r["errors"]
            for uid, ns in r["acked"].items():
                acked.setdefault(uid, []).extend(ns)
        messages = sum(len(ns) for ns in acked.values())
        readings = messages * points * len(keys)
        lost, duplicated, _rows = _verify(url, devices, acked, keys, points, base)
    latencies.sort()
    rate = readings / elapsed
    return {
        "benchmark": "ingest",
        "transport": transport,
        "single": single,
        "seconds": seconds,
        "readings_per_message": points * len(keys),
        "devices": DEVICES,
        "messages": messages,
        "readings": readings,
        "readings_per_s": round(rate, 1),
        "messages_per_s": round(messages / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2) if latencies else None,
        "lost": lost,
        "duplicated": duplicated,
        "errors": errors,
        "baseline_rows_per_s": round(baseline, 1),
        "ratio": round(rate / baseline, 3),
        "conditions": conditions
        + ("; one alarm rule watching every device (rules on)" if rules else "; rules off"),
        "rules": rules,
        "cpu_count": os.cpu_count(),
    }


def _probe_mqtt(
    port: int, device: dict[str, Any], keys: tuple[str, ...], base: int, url: str
) -> None:
    """Publish one reading until the subscriber has stored it (it is then subscribed)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"bench-probe-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.connect("127.0.0.1", port)
    client.loop_start()
    body = orjson.dumps({"ts": base - 1000, "values": {keys[0]: 1.0}})

    def stored() -> bool:
        if _count(url) >= 1:
            return True
        client.publish(f"linli/devices/{device['uid']}/telemetry", body, qos=1)
        time.sleep(0.2)
        return False

    try:
        _wait(stored, 30, "the ingest process to subscribe")
    finally:
        client.disconnect()
        client.loop_stop()
