"""Queries of observations, rollups and the quarantine."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.telemetry.models import Observation, QuarantinedPayload


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
