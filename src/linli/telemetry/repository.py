"""Queries of observations, rollups and the quarantine."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from linli.telemetry.models import Observation, QuarantinedPayload, Rollup


def observations(db: Session, datastream_id: int, start_ms: int, end_ms: int) -> list[Observation]:
    """Raw observations of one datastream in ``[start_ms, end_ms)``, oldest first."""
    stmt = (
        select(Observation)
        .where(
            Observation.datastream_id == datastream_id,
            Observation.ts >= start_ms,
            Observation.ts < end_ms,
        )
        .order_by(Observation.ts)
    )
    return list(db.scalars(stmt))


def quarantined(db: Session, *, offset: int, limit: int) -> list[QuarantinedPayload]:
    stmt = select(QuarantinedPayload).order_by(QuarantinedPayload.id.desc())
    return list(db.scalars(stmt.offset(offset).limit(limit)))


# --- reads for charts and export, deletes for retention -------------------------------------


def raw_count_upto(db: Session, datastream_id: int, start_ms: int, end_ms: int, limit: int) -> int:
    """How many numeric readings lie in ``[start_ms, end_ms)``, counting up to ``limit``."""
    inner = (
        select(Observation.ts)
        .where(
            Observation.datastream_id == datastream_id,
            Observation.ts >= start_ms,
            Observation.ts < end_ms,
            Observation.value.is_not(None),
        )
        .limit(limit)
        .subquery()
    )
    return int(db.execute(select(func.count()).select_from(inner)).scalar_one())


def raw_points(
    db: Session, datastream_id: int, start_ms: int, end_ms: int
) -> list[tuple[int, float]]:
    """(ts, value) of the numeric readings in ``[start_ms, end_ms)``, oldest first."""
    stmt = (
        select(Observation.ts, Observation.value)
        .where(
            Observation.datastream_id == datastream_id,
            Observation.ts >= start_ms,
            Observation.ts < end_ms,
            Observation.value.is_not(None),
        )
        .order_by(Observation.ts)
    )
    return [(int(t), float(v)) for t, v in db.execute(stmt) if v is not None]


def raw_binned(
    db: Session, datastream_id: int, start_ms: int, end_ms: int, step_ms: int
) -> list[tuple[int, float, float, float]]:
    """(bin start, mean, min, max) of the readings in bins of ``step_ms`` aligned on the epoch."""
    bin_ = (Observation.ts - Observation.ts % step_ms).label("bin")
    stmt = (
        select(
            bin_,
            func.avg(Observation.value),
            func.min(Observation.value),
            func.max(Observation.value),
        )
        .where(
            Observation.datastream_id == datastream_id,
            Observation.ts >= start_ms,
            Observation.ts < end_ms,
            Observation.value.is_not(None),
        )
        .group_by(bin_)
        .order_by(bin_)
    )
    return [(int(b), float(a), float(lo), float(hi)) for b, a, lo, hi in db.execute(stmt)]


def rollup_binned(
    db: Session, datastream_id: int, period_s: int, start_ms: int, end_ms: int, step_ms: int
) -> list[tuple[int, int, float, float, float]]:
    """(bin start, count, min, max, sum) from the rollups of ``period_s`` merged into bins."""
    where = (
        Rollup.datastream_id == datastream_id,
        Rollup.period_s == period_s,
        Rollup.bucket >= start_ms,
        Rollup.bucket < end_ms,
    )
    if step_ms == period_s * 1000:
        plain = select(Rollup.bucket, Rollup.count, Rollup.min, Rollup.max, Rollup.sum).where(
            *where
        )
        rows = db.execute(plain.order_by(Rollup.bucket))
    else:
        bin_ = (Rollup.bucket - Rollup.bucket % step_ms).label("bin")
        grouped = (
            select(
                bin_,
                func.sum(Rollup.count),
                func.min(Rollup.min),
                func.max(Rollup.max),
                func.sum(Rollup.sum),
            )
            .where(*where)
            .group_by(bin_)
            .order_by(bin_)
        )
        rows = db.execute(grouped)
    return [(int(b), int(n), float(lo), float(hi), float(s)) for b, n, lo, hi, s in rows]


def observation_batch(
    db: Session, datastream_id: int, start_ms: int, end_ms: int, limit: int
) -> list[tuple[int, float | None, str | None]]:
    """Up to ``limit`` readings (ts, value, text) from ``start_ms`` on, oldest first."""
    stmt = (
        select(Observation.ts, Observation.value, Observation.text)
        .where(
            Observation.datastream_id == datastream_id,
            Observation.ts >= start_ms,
            Observation.ts < end_ms,
        )
        .order_by(Observation.ts)
        .limit(limit)
    )
    return [(int(t), v, x) for t, v, x in db.execute(stmt)]


def delete_observations_before(db: Session, datastream_id: int, cutoff_ms: int, batch: int) -> int:
    """Delete up to ``batch`` of the oldest readings older than ``cutoff_ms``; how many went."""
    oldest = (
        select(Observation.ts)
        .where(Observation.datastream_id == datastream_id, Observation.ts < cutoff_ms)
        .order_by(Observation.ts)
        .limit(batch)
        .scalar_subquery()
    )
    stmt = delete(Observation).where(
        Observation.datastream_id == datastream_id, Observation.ts.in_(oldest)
    )
    return int(db.connection().execute(stmt).rowcount)


def delete_rollups_before(
    db: Session, datastream_id: int, period_s: int, cutoff_ms: int, batch: int
) -> int:
    """Delete up to ``batch`` of the oldest rollups of a period before ``cutoff_ms``."""
    oldest = (
        select(Rollup.bucket)
        .where(
            Rollup.datastream_id == datastream_id,
            Rollup.period_s == period_s,
            Rollup.bucket < cutoff_ms,
        )
        .order_by(Rollup.bucket)
        .limit(batch)
        .scalar_subquery()
    )
    stmt = delete(Rollup).where(
        Rollup.datastream_id == datastream_id,
        Rollup.period_s == period_s,
        Rollup.bucket.in_(oldest),
    )
    return int(db.connection().execute(stmt).rowcount)
