"""The ingestion pipeline shared by HTTP and MQTT: parse, validate per item, build a batch.

Nothing here touches the database: devices come from an in-memory cache (filled through the
device service by the caller) and the batch goes to :mod:`linli.telemetry.writer`.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.orm import Session

from linli.adapters import registry
from linli.adapters.base import PayloadError, Reading
from linli.device import service as device_service
from linli.device.service import DeviceRef
from linli.telemetry.writer import Batch

MAX_BODY_BYTES = 1_048_576
MAX_FUTURE_MS = 5 * 60 * 1000
MIN_TS_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
RAW_CAP = 65_536
ITEM_RAW_CAP = 2_000
# A payload with thousands of bad items gets this many quarantine entries, the last a summary.
MAX_QUARANTINE_PER_PAYLOAD = 100
CACHE_SECONDS = 5.0
CACHE_MAX = 100_000
# Tables whose change makes the cached device look-ups stale.
_DEVICE_TABLES = frozenset({"devices", "datastreams", "device_profiles", "observed_properties"})


# --- device cache ---------------------------------------------------------------------------


class DeviceCache:
    """Device look-ups by token digest and by uid, each remembered for a few seconds."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, DeviceRef]] = {}

    def get(self, key: str) -> DeviceRef | None:
        """The remembered device for ``key`` ("t:<digest>" or "u:<uid>"), or None."""
        item = self._items.get(key)
        if item is None:
            return None
        if time.monotonic() >= item[0]:
            with self._lock:
                self._items.pop(key, None)
            return None
        return item[1]

    def put(self, key: str, ref: DeviceRef) -> None:
        """Remember ``ref`` under ``key`` for the cache's lifetime."""
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._items) >= CACHE_MAX:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.seconds, ref)

    def clear(self) -> None:
        """Forget everything (a device, its datastreams or the catalogue changed)."""
        with self._lock:
            self._items.clear()


devices = DeviceCache()


def token_key(token: str) -> str:
    """The cache key of a device token (its digest: plain tokens are not kept in memory)."""
    return "t:" + hashlib.sha256(token.encode()).hexdigest()


def uid_key(uid: str) -> str:
    """The cache key of a device uid."""
    return "u:" + uid


def cached_device(key: str, load: Callable[[], DeviceRef | None]) -> DeviceRef | None:
    """The device for ``key`` from the cache, or from ``load()`` (then remembered)."""
    ref = devices.get(key)
    if ref is None:
        ref = load()
        if ref is not None:
            devices.put(key, ref)
    return ref


def invalidate_devices() -> None:
    """Forget every cached device look-up of this process."""
    devices.clear()


def _note_device_change(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in _DEVICE_TABLES:
            session.info["linli_devices_changed"] = True
            return


def _after_commit(session: Session) -> None:
    if session.info.pop("linli_devices_changed", False):
        devices.clear()


event.listen(Session, "before_flush", _note_device_change)
event.listen(Session, "after_commit", _after_commit)
device_service.CHANGE_LISTENERS.append(lambda _device_id: devices.clear())


# --- the pipeline ---------------------------------------------------------------------------


@dataclass(slots=True)
class Prepared:
    """A payload turned into a batch to write, with its refused items for the answer."""

    batch: Batch
    rejected: list[dict[str, str]] = field(default_factory=list)


class Unreadable(ValueError):
    """The payload as a whole cannot be read; it has been put in the batch's quarantine."""

    def __init__(self, reason: str, batch: Batch) -> None:
        super().__init__(reason)
        self.reason = reason
        self.batch = batch


def raw_text(payload: bytes, cap: int = RAW_CAP) -> str:
    """The payload as text for the quarantine, cut to ``cap`` bytes."""
    # PostgreSQL text cannot hold NUL characters; show them escaped.
    text = payload[:cap].decode("utf-8", errors="replace").replace("\x00", "\\x00")
    return text + "…" if len(payload) > cap else text


def quarantine_payload(
    transport: str, uid: str, device_id: int | None, content_type: str, reason: str, payload: bytes
) -> Batch:
    """A batch that only quarantines a whole payload with its reason."""
    entry = (transport, uid, device_id, content_type, reason, raw_text(payload))
    return Batch(device_id=None, quarantine=[entry])


def _number(value: float | str | bool) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return float(value)
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _check(device: DeviceRef, reading: Reading, received_ms: int) -> tuple[int, float] | str:
    """The (stream id, value) to store for ``reading``, or the reason it is refused."""
    stream = device.streams.get(reading.key)
    if stream is None:
        return f"unknown key {reading.key!r} for this device"
    ts = received_ms if reading.ts_ms is None else reading.ts_ms
    if ts > received_ms + MAX_FUTURE_MS:
        return "timestamp more than 5 minutes in the future"
    if ts < MIN_TS_MS:
        return "timestamp before 2000-01-01"
    value = _number(reading.value)
    if value is None:
        return f"{reading.key} needs a number, got {str(reading.value)[:40]!r}"
    if stream.min_value is not None and value < stream.min_value:
        return f"{reading.key} {value:g} is below its minimum {stream.min_value:g}"
    if stream.max_value is not None and value > stream.max_value:
        return f"{reading.key} {value:g} is above its maximum {stream.max_value:g}"
    return stream.id, value


def _item_raw(reading: Reading) -> str:
    item = {"key": reading.key, "ts": reading.ts_ms, "value": reading.value}
    return raw_text(orjson.dumps(item), ITEM_RAW_CAP)


def prepare(
    device: DeviceRef,
    payload: bytes,
    content_type: str,
    received_ms: int,
    *,
    transport: str,
) -> Prepared:
    """Parse ``payload`` for ``device`` and check every item; raises Unreadable if it cannot."""
    try:
        parsed = registry.parse(device.adapter, payload, content_type, received_ms)
    except (PayloadError, registry.UnknownAdapter) as exc:
        reason = f"unreadable payload: {exc}"
        raise Unreadable(
            reason,
            quarantine_payload(transport, device.uid, device.id, content_type, reason, payload),
        ) from None
    batch = Batch(device_id=device.id)
    rows = batch.rows
    rejected: list[dict[str, str]] = []
    refused: list[tuple[str, str, str]] = []  # (item, reason, raw)
    for reading in parsed.readings:
        checked = _check(device, reading, received_ms)
        if isinstance(checked, str):
            refused.append((reading.key, checked, _item_raw(reading)))
            continue
        ts = received_ms if reading.ts_ms is None else reading.ts_ms
        rows.append((checked[0], ts, checked[1], None))
    if parsed.problems:
        raw = raw_text(payload, ITEM_RAW_CAP)
        refused.extend((p.item, p.reason, raw) for p in parsed.problems)
    if refused:
        for index, (item, reason, raw) in enumerate(refused):
            rejected.append({"item": item, "reason": reason})
            if index < MAX_QUARANTINE_PER_PAYLOAD - 1:
                entry = (transport, device.uid, device.id, content_type, f"{item}: {reason}", raw)
                batch.quarantine.append(entry)
        if len(refused) >= MAX_QUARANTINE_PER_PAYLOAD:
            more = len(refused) - MAX_QUARANTINE_PER_PAYLOAD + 1
            summary = f"and {more} more rejected items of this payload"
            entry = (transport, device.uid, device.id, content_type, summary, raw_text(payload))
            batch.quarantine.append(entry)
    return Prepared(batch=batch, rejected=rejected)
