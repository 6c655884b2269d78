"""Send the simulated devices' messages through the real ingestion path (HTTP or MQTT)."""

from __future__ import annotations

import heapq
import http.client
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from linli.device import catalog
from linli.simulate.signals import Message, Simulator

log = logging.getLogger("linli.simulate")

HTTP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class DeviceCredential:
    """A simulated device's uid, profile and token (from the demo's devices file)."""

    uid: str
    profile: str
    token: str


def load_devices(path: Path) -> list[DeviceCredential]:
    """The devices and tokens the demo seed wrote to ``path``."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [DeviceCredential(e["uid"], e["profile"], e["token"]) for e in entries]


class HttpSender:
    """POSTs messages to ``/api/v1/telemetry`` with the device's token, over one connection."""

    def __init__(self, base_url: str, tokens: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.https = parts.scheme == "https"
        self.tokens = tokens
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = cls(self.host, self.port, timeout=HTTP_TIMEOUT_S)
        return self.conn

    def send(self, message: Message) -> int:
        """Send one message; the HTTP status (0 when the server could not be reached)."""
        headers = {
            "Authorization": f"Bearer {self.tokens[message.uid]}",
            "Content-Type": message.content_type,
        }
        for _attempt in range(2):
            conn = self._connection()
            try:
                conn.request("POST", "/api/v1/telemetry", body=message.body, headers=headers)
                response = conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                self.conn = None
        return 0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class MqttSender:
    """Publishes each device's messages to its own topic, logged in as the device (QoS 1)."""

    def __init__(self, mqtt_url: str, tokens: dict[str, str]) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        parts = urlsplit(mqtt_url)
        self.clients: dict[str, mqtt.Client] = {}
        for uid, token in tokens.items():
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=f"sim-{uid}", protocol=mqtt.MQTTv5
            )
            client.username_pw_set(uid, token)
            client.connect_async(parts.hostname or "127.0.0.1", parts.port or 1883)
            client.loop_start()
            self.clients[uid] = client

    def send(self, message: Message) -> int:
        """Publish one message; 200 once queued for delivery, 0 when not connected."""
        client = self.clients[message.uid]
        info = client.publish(f"linli/devices/{message.uid}/telemetry", message.body, qos=1)
        return 200 if info.rc == 0 else 0

    def close(self) -> None:
        for client in self.clients.values():
            client.loop_stop()
            client.disconnect()


class Sender(Protocol):
    """Anything that delivers a message and answers with an HTTP-like status."""

    def send(self, message: Message) -> int: ...

    def close(self) -> None: ...


def run(
    devices: list[DeviceCredential],
    sender: Sender,
    *,
    speed: float = 1.0,
    seed: int = 7,
    stop: threading.Event | None = None,
    max_messages: int | None = None,
    clock: Callable[[], float] = time.time,
) -> Counter[str]:
    """Send messages until ``stop`` is set (or ``max_messages``); counts of outcomes.

    At ``speed`` X each device reports X times as often as its profile expects and the daily
    cycles run X times faster; readings are stamped with the real time of sending.
    """
    stop = stop or threading.Event()
    sim = Simulator([(d.uid, d.profile) for d in devices], seed=seed)
    intervals = {d.uid: catalog.PROFILES[d.profile][4] / speed for d in devices}
    start = clock()
    # Stagger first reports over one interval so that devices do not all speak at once.
    due = [(start + sim.rng.random() * min(intervals[d.uid], 5.0), d.uid) for d in devices]
    heapq.heapify(due)
    counts: Counter[str] = Counter()
    sent = 0
    while due and not stop.is_set():
        when, uid = heapq.heappop(due)
        wait = when - clock()
        if wait > 0 and stop.wait(wait):
            break
        now = clock()
        # Simulated time runs ``speed`` times faster than the wall clock from the start.
        sim_s = start + (now - start) * speed
        message = sim.next_message(uid, int(now * 1000), sim_s=sim_s)
        heapq.heappush(due, (when + intervals[uid], uid))
        if message is None:
            counts["gap"] += 1
            continue
        status = sender.send(message)
        counts[f"status_{status}"] += 1
        if message.fault:
            counts[message.fault] += 1
        sent += 1
        if max_messages is not None and sent >= max_messages:
            break
    sender.close()
    log.info("simulator stopped", extra={"counts": dict(counts)})
    return counts
