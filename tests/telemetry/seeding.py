"""Seed devices, readings and rollups directly with bulk inserts (no ingestion code involved)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from linli.device import service as device_service
from linli.device.models import Datastream
from linli.device.schemas import DeviceCreate
from linli.telemetry.models import ROLLUP_PERIODS_S, Observation, Rollup

MINUTE_MS = 60_000
DAY_MS = 86_400_000
# 2026-01-01T00:00:00Z
T0 = 1_767_225_600_000


def add_device(
    db: Session,
    place_id: int,
    *,
    uid: str = "noise-1",
    profile: str = "noise",
    lat: float | None = None,
    lon: float | None = None,
) -> tuple[int, list[int]]:
    """A device with its datastreams; returns (device id, datastream ids)."""
    device_service.ensure_catalog(db)
    device, _token = device_service.create_device(
        db,
        None,
        DeviceCreate(
            uid=uid,
            name=f"Device {uid}",
            place_id=place_id,
            profile=profile,
            latitude=lat,
            longitude=lon,
        ),
    )
    ids = [
        d.id for d in db.query(Datastream).filter_by(device_id=device.id).order_by(Datastream.id)
    ]
    return device.id, ids


def add_readings(db: Session, stream_id: int, readings: Iterable[tuple[int, float]]) -> None:
    """Bulk-insert (ts, value) readings and the rollups of every period computed from them."""
    rows = [{"datastream_id": stream_id, "ts": t, "value": v} for t, v in readings]
    if not rows:
        return
    db.execute(insert(Observation), rows)
    for period in ROLLUP_PERIODS_S:
        width = period * 1000
        buckets: dict[int, list[tuple[int, float]]] = {}
        for r in rows:
            buckets.setdefault(r["ts"] - r["ts"] % width, []).append((r["ts"], r["value"]))
        db.execute(
            insert(Rollup),
            [
                {
                    "datastream_id": stream_id,
                    "period_s": period,
                    "bucket": b,
                    "count": len(items),
                    "min": min(v for _t, v in items),
                    "max": max(v for _t, v in items),
                    "sum": sum(v for _t, v in items),
                    "last": max(items)[1],
                    "last_ts": max(items)[0],
                }
                for b, items in buckets.items()
            ],
        )
