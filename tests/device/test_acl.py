"""`linli mqtt acl`: Mosquitto accepts the generated files, and a device may publish only to its
own topic while the ingest user reads them all (against a real broker on a free port)."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from linli.cli import app
from linli.config import Settings
from linli.device import acl
from tests.device.conftest import Devices

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
INGEST_PASSWORD = "ingest-secret-for-tests"


def test_hash_format_matches_mosquitto_passwd(tmp_path: Path) -> None:
    hashed = acl.mosquitto_hash("secret", salt=b"0123456789ab")
    assert hashed.startswith("$7$101$MDEyMzQ1Njc4OWFi$")
    assert acl.verify_mosquitto_hash("secret", hashed)
    assert not acl.verify_mosquitto_hash("Secret", hashed)
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd is not installed")
    pw = tmp_path / "pw"
    subprocess.run([tool, "-b", "-c", str(pw), "u1", "s3cret"], check=True, capture_output=True)
    line = pw.read_text().strip()
    assert acl.verify_mosquitto_hash("s3cret", line.split(":", 1)[1])


def test_acl_text_refuses_unsafe_names() -> None:
    text = acl.acl_file(["AQ-1", "evil#", "x/y"], "linli-ingest")
    assert "topic write linli/devices/AQ-1/telemetry" in text
    assert "evil" not in text
    assert "x/y" not in text
    assert "topic read linli/devices/+/telemetry" in text
    assert acl.password_file([("a:b", "$7$1$x$y"), ("ok", "$7$1$x$y")]) == "ok:$7$1$x$y\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def broker_files(
    settings: Settings,
    devices: Devices,
    db: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, Path]:
    monkeypatch.setenv("LINLI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LINLI_MQTT_URL", raising=False)
    pw, acl_path = tmp_path / "passwd", tmp_path / "acl"
    result = CliRunner().invoke(
        app,
        [
            "mqtt",
            "acl",
            "--password-file",
            str(pw),
            "--acl-file",
            str(acl_path),
            "--ingest-password",
            INGEST_PASSWORD,
        ],
    )
    assert result.exit_code == 0, result.output
    assert pw.stat().st_mode & 0o777 == 0o600
    users = [line.split(":", 1)[0] for line in pw.read_text().splitlines()]
    assert users == ["linli-ingest", "AQ-1", "NZ-2"]
    return pw, acl_path


def test_cli_needs_an_ingest_password(
    settings: Settings, devices: Devices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINLI_DATABASE_URL", settings.database_url)
    monkeypatch.delenv("LINLI_MQTT_URL", raising=False)
    monkeypatch.delenv("LINLI_MQTT_INGEST_PASSWORD", raising=False)
    result = CliRunner().invoke(
        app,
        ["mqtt", "acl", "--password-file", str(tmp_path / "p"), "--acl-file", str(tmp_path / "a")],
    )
    assert result.exit_code == 1
    assert not (tmp_path / "p").exists()


@pytest.fixture
def broker(broker_files: tuple[Path, Path], tmp_path: Path) -> Iterator[int]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed")
    pw, acl_path = broker_files
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        # Run as whoever runs the tests, so that the broker can read the 0600 files.
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {pw}\nacl_file {acl_path}\npersistence false\nlog_dest none\n"
    )
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("mosquitto did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def _client(port: int, user: str, password: str, name: str) -> tuple[mqtt.Client, int]:
    connected = threading.Event()
    codes: list[int] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)

    def on_connect(c: mqtt.Client, u: object, f: object, rc: object, p: object = None) -> None:
        codes.append(int(getattr(rc, "value", rc)))  # type: ignore[call-overload]  # ReasonCode
        connected.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert connected.wait(10)
    return client, codes[0]


def test_devices_publish_only_to_their_own_topic(broker: int, devices: Devices) -> None:
    received: list[str] = []
    got = threading.Event()
    subscribed = threading.Event()
    ingest, rc = _client(broker, "linli-ingest", INGEST_PASSWORD, "ingest")
    assert rc == 0

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        received.append(msg.topic)
        got.set()

    ingest.on_message = on_message
    ingest.on_subscribe = lambda *args: subscribed.set()
    ingest.subscribe("linli/devices/+/telemetry", qos=1)
    assert subscribed.wait(10)
    try:
        _bad, bad_rc = _client(broker, "AQ-1", "wrong-token", "bad")
        assert bad_rc != 0
        _bad.loop_stop()
        device, rc = _client(broker, "AQ-1", devices.tokens["AQ-1"], "aq1")
        assert rc == 0
        # Another device's topic first: Mosquitto drops it silently, so nothing may arrive.
        device.publish("linli/devices/NZ-2/telemetry", b'{"noise": 99}', qos=1).wait_for_publish(10)
        device.publish("linli/devices/AQ-1/telemetry", b'{"pm25": 5}', qos=1).wait_for_publish(10)
        assert got.wait(10)  # in order: a foreign-topic message would have come first
        assert received == ["linli/devices/AQ-1/telemetry"]
        device.loop_stop()
        device.disconnect()
    finally:
        ingest.loop_stop()
        ingest.disconnect()
