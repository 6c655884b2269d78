"""MQTT ingestion against a real Mosquitto: storage, quarantine, broker restarts, kill -9."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
from fastapi import FastAPI
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from linli.core.db import make_engine, session_scope
from linli.device.models import Device
from linli.telemetry.models import Observation, QuarantinedPayload, Rollup
from linli.telemetry.mqtt import Subscriber
from tests.conftest import Template, World
from tests.telemetry.test_ingest_http import T0, Dev, make_device, rollup, rows

MQTT_URL = os.environ.get("LINLI_TEST_MQTT_URL", "")
pytestmark = pytest.mark.skipif(
    not MQTT_URL, reason="LINLI_TEST_MQTT_URL is not set: MQTT tests skipped"
)


def wait_for(check: Callable[[], bool], *, seconds: float = 15, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Publisher:
    """A QoS 1 publisher that remembers which messages the broker acknowledged."""

    def __init__(self, url: str) -> None:
        address = make_url(url.replace("mqtt://", "sqlite://", 1))
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"test-pub-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.max_inflight_messages_set(500)
        self.acked: set[int] = set()
        self._lock = threading.Lock()
        self.client.on_publish = self._on_publish
        self.client.connect(address.host or "127.0.0.1", address.port or 1883)
        self.client.loop_start()

    def _on_publish(self, _c: Any, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        with self._lock:
            self.acked.add(mid)

    def send(self, topic: str, body: object | bytes) -> int:
        payload = body if isinstance(body, bytes) else orjson.dumps(body)
        info = self.client.publish(topic, payload, qos=1)
        assert info.rc == paho.MQTT_ERR_SUCCESS
        return info.mid

    def is_acked(self, mid: int) -> bool:
        with self._lock:
            return mid in self.acked

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def topic(uid: str) -> str:
    return f"linli/devices/{uid}/telemetry"


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    pub = Publisher(MQTT_URL)
    yield pub
    pub.close()


def start_subscriber(app: FastAPI, url: str, *, group: str = "") -> Subscriber:
    sub = Subscriber(
        app.state.engine,
        url,
        shared_group=group,
        client_id=f"test-ingest-{uuid.uuid4().hex[:10]}",
        session_expiry_s=30,
    )
    sub.start()
    wait_for(sub.subscribed.is_set, what="the subscription")
    return sub


def count_rows(db: Session, stream_id: int) -> int:
    db.expire_all()
    stmt = (
        select(func.count()).select_from(Observation).where(Observation.datastream_id == stream_id)
    )
    return int(db.scalar(stmt) or 0)


def test_messages_are_stored_and_bad_ones_quarantined(
    app: FastAPI, db: Session, world: World, publisher: Publisher
) -> None:
    suffix = uuid.uuid4().hex[:8]
    dev = make_device(app, world, f"mq-{suffix}")
    gone = make_device(app, world, f"mq-off-{suffix}")
    with session_scope(app.state.sessionmaker) as s:
        s.execute(update(Device).where(Device.id == gone.id).values(status="disabled"))
    sub = start_subscriber(app, MQTT_URL, group=f"g{suffix}")
    try:
        body = [
            {"ts": T0 + i * 1000, "values": {"pm25": float(i), "pm10": 2.0 * i}} for i in range(5)
        ]
        mids = [
            publisher.send(topic(dev.uid), body),
            publisher.send(topic(dev.uid), body[:2]),  # a repeat: duplicates, not rows
            publisher.send(topic(dev.uid), {"ts": T0, "values": {"pm25": 5000, "radiation": 1}}),
            publisher.send(topic(dev.uid), b"\x00 not json"),
            publisher.send(topic(f"nobody-{suffix}"), {"pm25": 1}),
            publisher.send(topic(gone.uid), {"pm25": 1}),
        ]
        wait_for(lambda: all(publisher.is_acked(m) for m in mids), what="PUBACKs")

        def settled() -> bool:
            db.expire_all()
            held = db.scalar(
                select(func.count())
                .select_from(QuarantinedPayload)
                .where(QuarantinedPayload.device_uid.contains(suffix))
            )
            return held == 5

        wait_for(settled, what="the quarantine")
    finally:
        sub.stop()
    assert rows(db, dev.streams["pm25"]) == [(T0 + i * 1000, float(i)) for i in range(5)]
    assert count_rows(db, dev.streams["pm10"]) == 5
    assert rollup(db, dev.streams["pm25"], 300, T0) == (5, 0.0, 4.0, 10.0, 4.0, T0 + 4000)
    reasons = sorted(
        q.reason
        for q in db.scalars(
            select(QuarantinedPayload).where(QuarantinedPayload.device_uid.contains(suffix))
        )
    )
    assert any(r.startswith("pm25: pm25 5000 is above") for r in reasons)
    assert any(r.startswith("radiation: unknown key") for r in reasons)
    assert any(r.startswith("unreadable payload") for r in reasons)
    assert any(r.startswith("unknown device uid") for r in reasons)
    assert "the device is disabled" in reasons


def _broker_conf(tmp: Path, port: int) -> Path:
    conf = tmp / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        # Hold everything for an offline persistent session (the default drops after 1000).
        "max_queued_messages 0\nmax_inflight_messages 0\n",
        encoding="utf-8",
    )
    return conf


def _start_broker(conf: Path, port: int) -> subprocess.Popen[bytes]:
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen(
        [mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    wait_for(listening, seconds=10, what="mosquitto")
    return proc


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("mosquitto is not installed: broker restart tests skipped")
    port = free_port()
    conf = _broker_conf(tmp_path, port)
    procs = [_start_broker(conf, port)]

    def stop() -> None:
        procs[-1].terminate()
        procs[-1].wait(10)

    def start() -> None:
        procs.append(_start_broker(conf, port))

    yield f"mqtt://127.0.0.1:{port}", stop, start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def test_subscriber_reconnects_after_the_broker_restarts(
    app: FastAPI, db: Session, world: World, own_broker: tuple[str, Any, Any]
) -> None:
    url, stop_broker, start_broker = own_broker
    dev = make_device(app, world, f"mq-re-{uuid.uuid4().hex[:6]}")
    sub = start_subscriber(app, url)
    try:
        pub = Publisher(url)
        pub.send(topic(dev.uid), {"ts": T0, "values": {"pm25": 1.0}})
        wait_for(lambda: count_rows(db, dev.streams["pm25"]) == 1, what="first reading")
        pub.close()
        stop_broker()
        wait_for(lambda: not sub.subscribed.is_set(), what="the disconnect")
        start_broker()
        wait_for(sub.subscribed.is_set, seconds=30, what="the reconnect")
        pub = Publisher(url)
        pub.send(topic(dev.uid), {"ts": T0 + 1000, "values": {"pm25": 2.0}})
        wait_for(lambda: count_rows(db, dev.streams["pm25"]) == 2, what="reading after restart")
        pub.close()
    finally:
        sub.stop()
    assert rows(db, dev.streams["pm25"]) == [(T0, 1.0), (T0 + 1000, 2.0)]


def _ingest_process(db_url: str, mqtt_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LINLI_DATABASE_URL": db_url,
        "LINLI_MQTT_URL": mqtt_url,
        "LINLI_MQTT_CLIENT_ID": "linli-ingest-crash-test",
        "LINLI_LOG_LEVEL": "WARNING",
        "LINLI_SECRET_KEY": secrets.token_urlsafe(48),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "linli"), "ingest"],
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def test_kill_9_during_ingestion_loses_and_repeats_nothing(
    sqlite_template: Template,
    tmp_path: Path,
    own_broker: tuple[str, Any, Any],
) -> None:
    url, _stop, _start = own_broker
    src = make_url(sqlite_template.url).database
    assert src is not None
    shutil.copyfile(src, tmp_path / "linli.db")
    db_url = f"sqlite:///{tmp_path / 'linli.db'}"
    engine = make_engine(db_url)
    app_like = type("AppLike", (), {})()
    app_like.state = type("State", (), {})()  # type: ignore[attr-defined]
    from linli.core.db import make_sessionmaker

    app_like.state.sessionmaker = make_sessionmaker(engine)  # type: ignore[attr-defined]
    dev: Dev = make_device(app_like, sqlite_template.world, "crash-1", profile="noise")  # type: ignore[arg-type]
    stream = dev.streams["noise"]
    log = tmp_path / "ingest.log"
    proc = _ingest_process(db_url, url, log)
    pub = Publisher(url)
    ts = itertools.count(T0)
    sent: dict[int, int] = {}  # mid → ts
    try:
        with Session(engine) as db:
            probe = next(ts)

            def probed() -> bool:
                # Until the worker has subscribed, the broker drops what nobody subscribes to.
                if count_rows(db, stream) == 1:
                    return True
                sent[pub.send(topic(dev.uid), {"ts": probe, "values": {"noise": 40.0}})] = probe
                time.sleep(0.1)
                return False

            wait_for(probed, seconds=30, what="the ingest process")
            total = 3000
            for i in range(total):
                t = next(ts)
                sent[pub.send(topic(dev.uid), {"ts": t, "values": {"noise": float(i % 100)}})] = t
                if i == total // 3:
                    # Kill once some of the stream is stored and some is in flight.
                    wait_for(lambda: count_rows(db, stream) > 100, what="ingestion to be busy")
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
                    stored_at_kill = count_rows(db, stream)
            assert stored_at_kill < total
            proc = _ingest_process(db_url, url, log)
            wait_for(lambda: len(pub.acked) >= len(sent), seconds=30, what="PUBACKs")
            acked = {t for mid, t in sent.items() if pub.is_acked(mid)}
            wait_for(lambda: count_rows(db, stream) >= len(acked), seconds=60, what="catch-up")
            db.expire_all()
            stored = [
                t
                for (t,) in db.execute(
                    select(Observation.ts).where(Observation.datastream_id == stream)
                )
            ]
            counted = db.scalar(
                select(func.sum(Rollup.count)).where(
                    Rollup.datastream_id == stream, Rollup.period_s == 300
                )
            )
    finally:
        pub.close()
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        engine.dispose()
    assert acked <= set(stored), "an acknowledged reading was lost"
    assert len(stored) == len(set(stored)) == len(acked)
    assert counted == len(stored), "a redelivered reading was counted twice in the rollups"
