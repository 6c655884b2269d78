"""MQTT ingestion: subscribe to ``linli/devices/+/telemetry`` (QoS 1) and store what arrives.

A message is acknowledged (PUBACK) only after the batch holding it has committed: the client
runs with manual acknowledgement and the writer thread acks each message from its commit
callback. The session is persistent (``clean_start=False`` with a session expiry), so after a
crash or a lost connection the broker sends every unacknowledged message again; the
(datastream, ts) key turns such a repeat into a duplicate, never a second row.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from linli.device import service as device_service
from linli.telemetry import ingest
from linli.telemetry.writer import BatchWriter, Done, WriteResult

log = logging.getLogger("linli.telemetry.mqtt")

TOPIC = "linli/devices/+/telemetry"
SESSION_EXPIRY_S = 86_400
RECEIVE_MAXIMUM = 65_535
KEEPALIVE_S = 30
MIN_BACKOFF_S = 0.2
MAX_BACKOFF_S = 15.0


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker listens and how to log in to it."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_url(url: str) -> BrokerAddress:
    """``mqtt://user:pass@host:1883`` (or ``mqtts://``) as a BrokerAddress."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"LINLI_MQTT_URL must start with mqtt:// or mqtts://, not {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerAddress(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def subscription(shared_group: str = "") -> str:
    """The topic filter to subscribe to: shared among ingest workers when a group is given."""
    return f"$share/{shared_group}/{TOPIC}" if shared_group else TOPIC


def uid_of(topic: str) -> str | None:
    """The device uid in ``linli/devices/<uid>/telemetry``, or None for another topic."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "linli" or parts[1] != "devices" or parts[3] != "telemetry":
        return None
    return parts[2] or None


def default_client_id(shared_group: str = "") -> str:
    """A client id that is stable across restarts of the same worker (so its session resumes)."""
    base = f"linli-ingest-{shared_group}" if shared_group else "linli-ingest"
    return f"{base}-{socket.gethostname()}"[:64]


class Subscriber:
    """The MQTT ingestion client: one network thread, writes on a BatchWriter thread."""

    def __init__(
        self,
        engine: Engine,
        url: str,
        *,
        shared_group: str = "",
        writer: BatchWriter | None = None,
        client_id: str | None = None,
        session_expiry_s: int = SESSION_EXPIRY_S,
    ) -> None:
        self._engine = engine
        self._address = parse_url(url)
        self._filter = subscription(shared_group)
        self._own_writer = writer is None
        self._writer = writer or BatchWriter(engine)
        self._client_id = (
            client_id or os.environ.get("LINLI_MQTT_CLIENT_ID") or (default_client_id(shared_group))
        )
        self._session_expiry_s = session_expiry_s
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.subscribed = threading.Event()
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if self._address.username is not None:
            client.username_pw_set(self._address.username, self._address.password)
        if self._address.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=int(MAX_BACKOFF_S))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background and keep reconnecting with backoff until stopped."""
        if self._thread is not None:
            return
        self._writer.start()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="linli-mqtt", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Disconnect and end the threads; unacknowledged messages stay with the broker."""
        self._stopping.set()
        self._client.disconnect()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        if self._own_writer:
            self._writer.stop(timeout)

    def run_forever(self) -> None:
        """Run in the calling thread until stop() is called from another one."""
        self._writer.start()
        self._run()

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho untyped
        props.SessionExpiryInterval = self._session_expiry_s
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        return props

    def _run(self) -> None:
        backoff = MIN_BACKOFF_S
        while not self._stopping.is_set():
            try:
                self._client.connect(
                    self._address.host,
                    self._address.port,
                    keepalive=KEEPALIVE_S,
                    clean_start=False,
                    properties=self._connect_properties(),
                )
            except OSError as exc:
                log.warning("MQTT broker %s unreachable: %s", self._address.host, exc)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = MIN_BACKOFF_S
            # Returns when disconnect() is called; reconnects by itself (with backoff) otherwise.
            self._client.loop_forever(retry_first_connection=True)
            self._stopping.wait(MIN_BACKOFF_S)

    # --- callbacks (network thread) -------------------------------------------------------

    def _on_connect(
        self,
        client: paho.Client,
        _userdata: Any,
        _flags: Any,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("MQTT broker refused the connection: %s", reason)
            return
        self._generation += 1
        client.subscribe(self._filter, qos=1)

    def _on_subscribe(
        self, _client: paho.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        if all(not r.is_failure for r in reasons):
            self.subscribed.set()
        else:
            log.error("MQTT subscription to %s refused: %s", self._filter, reasons)

    def _on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _p: Any
    ) -> None:
        self.subscribed.clear()
        if not self._stopping.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        received_ms = int(time.time() * 1000)
        mid, qos, generation = msg.mid, msg.qos, self._generation
        done = self._acker(client, mid, qos, generation)
        uid = uid_of(msg.topic)
        device = None
        if uid is not None:
            device = ingest.cached_device(ingest.uid_key(uid), lambda: self._load(uid))
        content_type = ""
        props = getattr(msg, "properties", None)
        if props is not None:
            content_type = getattr(props, "ContentType", "") or ""
        payload = bytes(msg.payload)
        if device is None or not device.active:
            if uid is None:
                reason = f"topic {msg.topic[:200]} is not linli/devices/<uid>/telemetry"
            elif device is None:
                reason = f"unknown device uid {uid[:64]!r}"
            else:
                reason = "the device is disabled"
            batch = ingest.quarantine_payload(
                "mqtt", uid or "", device.id if device else None, content_type, reason, payload
            )
            self._writer.submit(batch, done)
            return
        try:
            prepared = ingest.prepare(device, payload, content_type, received_ms, transport="mqtt")
        except ingest.Unreadable as exc:
            self._writer.submit(exc.batch, done)
            return
        self._writer.submit(prepared.batch, done)

    def _load(self, uid: str) -> device_service.DeviceRef | None:
        with Session(self._engine) as db:
            return device_service.ref_by_uid(db, uid)

    def _acker(self, client: paho.Client, mid: int, qos: int, generation: int) -> Done:
        def done(result: WriteResult | BaseException) -> None:
            if isinstance(result, BaseException):
                # Not stored: drop the connection so that the broker sends it again.
                log.error("MQTT message %s not stored; reconnecting for redelivery", mid)
                if not self._stopping.is_set():
                    client.disconnect()
                return
            if qos > 0 and generation == self._generation:
                client.ack(mid, qos)

        return done
