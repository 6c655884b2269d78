"""Send the simulated devices' messages through the real ingestion path (HTTP or MQTT)."""

from __future__ import annotations

import heapq
import http.client
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import orjson
from sqlalchemy.orm import Session

from linli.device import catalog
from linli.device import service as device_service
from linli.simulate.signals import JSON, SENML, Message, Simulator

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
        return self.post(message)[0]

    def post(self, message: Message) -> tuple[int, bytes]:
        """Send one message; the HTTP status and the reply body (0 and b"" when unreachable)."""
        headers = {
            "Authorization": f"Bearer {self.tokens[message.uid]}",
            "Content-Type": message.content_type,
        }
        for _attempt in range(2):
            conn = self._connection()
            try:
                conn.request("POST", "/api/v1/telemetry", body=message.body, headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.conn = None
        return 0, b""

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
    simulator: Simulator | None = None,
) -> Counter[str]:
    """Send messages until ``stop`` is set (or ``max_messages``); counts of outcomes.

    At ``speed`` X each device reports X times as often as its profile expects and the daily
    cycles run X times faster; readings are stamped with the real time of sending. A
    ``simulator`` that has already told the devices' past (:func:`backfill`) goes on from where
    it stopped (meter totals, bin fill levels); its opening pollution episode is anchored to
    the start of this live run.
    """
    stop = stop or threading.Event()
    sim = simulator or Simulator([(d.uid, d.profile) for d in devices], seed=seed)
    intervals = {d.uid: catalog.PROFILES[d.profile][4] / speed for d in devices}
    start = clock()
    if simulator is not None:
        sim.opening = start
    sim.live_start = start
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


# --- history backfill -------------------------------------------------------------------------

BACKFILL_HOURS = 26.0
# In the past, devices that report more often than this are sampled at this step instead...
SPARSE_STEP_S = 300.0
# ...except where a demo rule needs each reading: "device silent" alarms after 3 intervals
# (air, noise, water level), the night-time noise limit held 10 minutes, 150-second floods.
DENSE_PROFILES = frozenset({"air_quality", "noise", "water_level"})
# Each device's readings go in one request per slice of simulated time, and all devices'
# requests of a slice go before the next slice, so the rule engine sees time move forward.
SLICE_S = 7_200.0
# A server that answers this many requests in a row with an error ends the backfill (the live
# run still starts): it must not hold the demo up.
MAX_FAILING = 5


class PostSender(Protocol):
    """Delivers a payload to the ingestion API; the HTTP status and the reply body."""

    def post(self, message: Message) -> tuple[int, bytes]: ...


@dataclass
class BackfillReport:
    """What became of a backfill's readings (counted as the ingestion API answered)."""

    start_s: float
    end_s: float
    devices: int = 0
    messages: int = 0
    requests: int = 0
    readings_sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    unreadable: int = 0  # whole payloads refused (the simulated malformed ones)
    failed: int = 0  # requests without an answer from the store (connection, 5xx)
    gaps: int = 0
    skipped: int = 0  # truncated wristband lines: they carry no time of their own
    seconds: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    failing: int = 0  # failed requests in a row

    def summary(self) -> str:
        """One line for the console and the log."""
        return (
            f"backfilled {self.hours:g} h of {self.devices} devices in {self.seconds:.1f} s: "
            f"{self.requests} requests, {self.readings_sent} readings sent, "
            f"{self.accepted} accepted, {self.duplicate} duplicate, {self.rejected} rejected, "
            f"{self.unreadable} unreadable payloads, {self.failed} failed requests"
        )

    def counts(self) -> dict[str, float]:
        """The figures (for the log)."""
        return {k: v for k, v in vars(self).items() if isinstance(v, int | float)}

    @property
    def hours(self) -> float:
        """The length of the backfilled window."""
        return round((self.end_s - self.start_s) / 3600.0, 2)


def has_readings(db: Session, uids: Iterable[str]) -> bool:
    """True when any of these devices has a stored reading (its datastreams' latest time)."""
    wanted = set(uids)
    return any(
        info.last_at_ms is not None
        for info in device_service.stream_infos(db)
        if info.device_uid in wanted
    )


def backfill_if_new(
    devices: list[DeviceCredential],
    sender: PostSender,
    simulator: Simulator,
    db: Session,
    *,
    end_s: float,
    hours: float = BACKFILL_HOURS,
    slice_s: float = SLICE_S,
    announce: Callable[[str], None] | None = None,
) -> BackfillReport | None:
    """:func:`backfill` on the first start only: None when the devices have stored readings.

    ``announce`` gets a line to show when the backfill starts (and its summary at the end).
    """
    stored = has_readings(db, (d.uid for d in devices))
    db.rollback()  # hold no read transaction while the server writes
    if stored:
        log.info("simulator backfill skipped: the devices have readings already")
        return None
    log.info(
        "simulator backfill started",
        extra={"devices": len(devices), "hours": hours, "end_s": end_s},
    )
    if announce is not None:
        announce(f"Backfilling the last {hours:g} h of {len(devices)} devices…")
    report = backfill(devices, sender, simulator, end_s=end_s, hours=hours, slice_s=slice_s)
    if announce is not None:
        announce(report.summary())
    return report


def backfill_step(profile: str) -> float:
    """Seconds between a device's readings in the backfill."""
    interval = float(catalog.PROFILES[profile][4])
    return interval if profile in DENSE_PROFILES else max(interval, SPARSE_STEP_S)


def _line_values(line: bytes) -> int:
    """The readings in a wristband line: its KEY=value pairs but the time (T=)."""
    return sum(1 for part in line.split(b";") if b"=" in part and not part.startswith(b"T="))


class _Pending:
    """One device's readings of the current slice, merged into one payload of its format."""

    def __init__(self, uid: str, content_type: str) -> None:
        self.uid = uid
        self.content_type = content_type
        self.items: list[object] = []
        self.lines: list[bytes] = []
        self.values = 0

    def add(self, body: bytes, ts_ms: int) -> bool:
        """Merge one well-formed payload; False when it cannot be read (sent on its own)."""
        if self.content_type not in (JSON, SENML):
            self.lines.append(body)
            self.values += _line_values(body)
            return True
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        if self.content_type == SENML:
            records = doc if isinstance(doc, list) else [doc]
            self.items.extend(records)
            self.values += sum(1 for r in records if isinstance(r, dict) and "n" in r)
            return True
        items = doc if isinstance(doc, list) else [doc]
        for item in items:
            if isinstance(item, dict) and "values" in item:
                self.items.append(item)
                self.values += len(item["values"])
            elif isinstance(item, dict):
                # A flat payload is stamped on receipt: give it its simulated time.
                self.items.append({"ts": ts_ms, "values": item})
                self.values += len(item)
        return True

    def take(self) -> Message | None:
        """The merged payload (and an empty buffer), or None when there is nothing."""
        if self.content_type in (JSON, SENML):
            if not self.items:
                return None
            body = orjson.dumps(self.items)
        else:
            if not self.lines:
                return None
            body = b"\n".join(self.lines)
        self.items, self.lines, self.values = [], [], 0
        return Message(self.uid, body, self.content_type)


def _deliver(sender: PostSender, message: Message, report: BackfillReport) -> None:
    status, reply = sender.post(message)
    report.requests += 1
    if status == 200:
        answer = orjson.loads(reply)
        report.accepted += int(answer["accepted"])
        report.duplicate += int(answer["duplicate"])
        report.rejected += int(answer["rejected"])
        report.failing = 0
    elif status == 400:
        report.unreadable += 1
        report.failing = 0
    else:
        report.failed += 1
        report.failing += 1


def backfill(
    devices: list[DeviceCredential],
    sender: PostSender,
    simulator: Simulator,
    *,
    end_s: float,
    hours: float = BACKFILL_HOURS,
    slice_s: float = SLICE_S,
) -> BackfillReport:
    """Send the devices' readings of the ``hours`` before ``end_s``, stamped with their
    simulated times, through the ingestion API in batches; what the API answered.

    Each device reports every :func:`backfill_step`; faults are simulated as they are live.
    The simulator's opening pollution episode is kept out of the past (the live run anchors
    it to its own start), so the history shows only the simulator's ordinary episodes.
    """
    began = time.monotonic()
    start_s = end_s - hours * 3600.0
    report = BackfillReport(start_s=start_s, end_s=end_s, devices=len(devices))
    simulator.opening = end_s
    profiles = {d.uid: d.profile for d in devices}
    steps = {d.uid: backfill_step(d.profile) for d in devices}
    pending: dict[str, _Pending] = {}
    due = [(start_s + simulator.rng.random() * steps[d.uid], d.uid) for d in devices]
    heapq.heapify(due)
    slice_end = start_s + slice_s
    while due and report.failing < MAX_FAILING:
        when, uid = due[0]
        if when >= slice_end or when >= end_s:
            for buffer in pending.values():
                if report.failing >= MAX_FAILING:
                    break
                report.readings_sent += buffer.values
                merged = buffer.take()
                if merged is not None:
                    _deliver(sender, merged, report)
            if when >= end_s or report.failing >= MAX_FAILING:
                break
            slice_end += slice_s
            continue
        heapq.heapreplace(due, (when + steps[uid], uid))
        ts_ms = int(when * 1000)
        message = simulator.next_message(uid, ts_ms, sim_s=when)
        if message is None:
            report.gaps += 1
            continue
        report.messages += 1
        if message.fault:
            report.faults[message.fault] += 1
        if message.fault == "malformed" and profiles[uid] == "wearable":
            report.skipped += 1
            continue
        buffer = pending.setdefault(uid, _Pending(uid, message.content_type))
        if not buffer.add(message.body, ts_ms):
            _deliver(sender, message, report)
    report.seconds = round(time.monotonic() - began, 2)
    if report.failing >= MAX_FAILING:
        log.warning(
            "simulator backfill stopped: the server keeps failing",
            extra={"counts": report.counts()},
        )
    log.info(
        "simulator backfill done",
        extra={"counts": report.counts()},
    )
    return report
