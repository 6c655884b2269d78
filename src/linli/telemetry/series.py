"""Series for charts (raw readings or a rollup, so any range answers fast), export, device status.

Rollup buckets are keyed by their start in milliseconds since the epoch (UTC), a multiple of
``period_s * 1000``; :func:`bucket_of` is the one definition of that key.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.core.errors import ValidationFailed
from linli.core.time import UTC, utc_now
from linli.device import service as device_service
from linli.device.service import StreamView
from linli.telemetry import repository
from linli.telemetry.models import ROLLUP_PERIODS_S

DEFAULT_POINTS = 1000
MAX_POINTS = 10_000
# Raw readings are binned in SQL when there are at most this many per requested point;
# denser data is read from the 5-minute rollups instead, which bounds the rows any call reads.
RAW_ROWS_PER_POINT = 20
MAX_SPAN_MS = 50 * 366 * 86_400_000
EXPORT_BATCH = 5000
# A device is offline once it has been silent for this many expected reporting intervals.
OFFLINE_FACTOR = 3
# Bin widths a chart uses, in seconds: each one a multiple of the rollup period it is built from.
NICE_STEPS_S = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)


def bucket_of(ts_ms: int, period_s: int) -> int:
    """The key of the rollup bucket of ``period_s`` that holds the time ``ts_ms``."""
    width = period_s * 1000
    return ts_ms - ts_ms % width


@dataclass(frozen=True, slots=True)
class Series:
    """Points of a chart: ``(ts_ms, mean, min, max)``; ``step_ms`` 0 means one point per reading."""

    stream: StreamView
    start_ms: int
    end_ms: int
    resolution: str
    step_ms: int
    points: list[tuple[int, float, float, float]]


def _step_s(span_ms: int, points: int) -> int:
    """The smallest chart bin width, in seconds, that gives no more than ``points`` bins."""
    for step in NICE_STEPS_S:
        if _bins(span_ms, step * 1000) <= points:
            return step
    days = max(1, math.ceil(span_ms / 86_400_000 / points))
    while _bins(span_ms, days * 86_400_000) > points:
        days += 1
    return days * 86400


def _bins(span_ms: int, step_ms: int) -> int:
    # Bins are aligned on the epoch, so a range can touch one more bin than span / step.
    return span_ms // step_ms + 1


def _source_period(step_s: int) -> int | None:
    """The coarsest rollup period a bin of ``step_s`` is made of, or None for raw readings."""
    usable = [p for p in ROLLUP_PERIODS_S if step_s >= p and step_s % p == 0]
    return max(usable) if usable else None


def compute(db: Session, stream: StreamView, start_ms: int, end_ms: int, points: int) -> Series:
    """The points of ``stream`` in ``[start_ms, end_ms)``: raw if few enough, else binned."""
    span = end_ms - start_ms
    raw_limit = points * RAW_ROWS_PER_POINT
    found = repository.raw_count_upto(db, stream.id, start_ms, end_ms, min(points, raw_limit) + 1)
    if found <= points:
        raw = repository.raw_points(db, stream.id, start_ms, end_ms)
        pts = [(t, v, v, v) for t, v in raw]
        return Series(stream, start_ms, end_ms, "raw", 0, pts)
    step_s = _step_s(span, points)
    period = _source_period(step_s)
    if period is None:
        dense = repository.raw_count_upto(db, stream.id, start_ms, end_ms, raw_limit + 1)
        if dense <= raw_limit:
            step_ms = step_s * 1000
            pts = repository.raw_binned(db, stream.id, start_ms, end_ms, step_ms)
            return Series(stream, start_ms, end_ms, "raw", step_ms, pts)
        # Too dense to bin on the fly: 5-minute rollups give fewer points, but fast.
        step_s = period = ROLLUP_PERIODS_S[0]
    step_ms = step_s * 1000
    rows = repository.rollup_binned(
        db, stream.id, period, bucket_of(start_ms, period), end_ms, step_ms
    )
    pts = [(b, s / n, lo, hi) for b, n, lo, hi, s in rows if n]
    return Series(stream, start_ms, end_ms, str(period), step_ms, pts)


def _check_range(start_ms: int, end_ms: int) -> None:
    if end_ms <= start_ms:
        raise ValidationFailed("the end of the range must be after its start")
    if end_ms - start_ms > MAX_SPAN_MS:
        raise ValidationFailed("the range is too long: at most 50 years")


def series(
    db: Session,
    actor: Actor,
    datastream_id: int,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    points: int = DEFAULT_POINTS,
) -> Series:
    """A chart's points of a datastream the actor may read (default: the last 24 hours)."""
    if not 2 <= points <= MAX_POINTS:
        raise ValidationFailed("ask for between 2 and 10000 points")
    stream = device_service.readable_stream(db, actor, datastream_id)
    end = end_ms if end_ms is not None else now_ms()
    start = start_ms if start_ms is not None else end - 86_400_000
    _check_range(start, end)
    return compute(db, stream, start, end, points)


def now_ms() -> int:
    """The current time in milliseconds since the epoch."""
    return int(utc_now().timestamp() * 1000)


def iso_ms(ts_ms: int) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2026-01-01T08:00:00.000Z``."""
    moment = dt.datetime.fromtimestamp(ts_ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """What an export will stream: the datastream and the range."""

    stream: StreamView
    start_ms: int
    end_ms: int


def plan_export(
    db: Session, actor: Actor, datastream_id: int, *, start_ms: int | None, end_ms: int | None
) -> ExportPlan:
    """Check the actor may read the datastream and settle the range (default: everything)."""
    stream = device_service.readable_stream(db, actor, datastream_id)
    end = end_ms if end_ms is not None else now_ms() + 1
    start = start_ms if start_ms is not None else min(stream.first_at_ms or 0, end - 1)
    if end <= start:
        raise ValidationFailed("the end of the range must be after its start")
    return ExportPlan(stream, start, end)


def export_batches(
    db: Session, plan: ExportPlan, *, batch: int = EXPORT_BATCH
) -> Iterator[list[tuple[int, float | None, str | None]]]:
    """The readings of an export in batches of at most ``batch``, oldest first (keyset paging)."""
    cursor = plan.start_ms
    while True:
        rows = repository.observation_batch(db, plan.stream.id, cursor, plan.end_ms, batch)
        if rows:
            yield rows
        if len(rows) < batch:
            return
        cursor = rows[-1][0] + 1


# --- device status ---------------------------------------------------------------------------

STATES = ("online", "offline", "never", "disabled")


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device with its state now: online, offline, never (seen) or disabled."""

    row: device_service.DeviceStatusRow
    state: str


def state_of(
    *, enabled: bool, last_seen_at: dt.datetime | None, expected_interval_s: int, now: dt.datetime
) -> str:
    """Online unless silent for more than ``OFFLINE_FACTOR`` expected intervals."""
    if not enabled:
        return "disabled"
    if last_seen_at is None:
        return "never"
    silent = (now - last_seen_at).total_seconds()
    return "offline" if silent > OFFLINE_FACTOR * expected_interval_s else "online"


def device_statuses(
    db: Session, actor: Actor | None, *, now: dt.datetime | None = None
) -> list[DeviceStatus]:
    """The state of every device the actor may see (every device for ``None``, a job)."""
    moment = now or utc_now()
    return [
        DeviceStatus(
            row,
            state_of(
                enabled=row.enabled,
                last_seen_at=row.last_seen_at,
                expected_interval_s=row.expected_interval_s,
                now=moment,
            ),
        )
        for row in device_service.status_rows(db, actor)
    ]
