"""Background jobs of the telemetry store: the retention purge and the device status sweep."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from linli.core.time import utc_now
from linli.device import service as device_service
from linli.telemetry import repository
from linli.telemetry import series as series_service
from linli.telemetry.models import ROLLUP_PERIODS_S

log = logging.getLogger("linli.telemetry.tasks")

DAY_MS = 86_400_000
PURGE_BATCH = 5000
# Rollups outlive the raw readings they summarise, coarser ones longer: a chart of last year
# still has its daily shape once the minutes are gone.
ROLLUP_KEEP_FACTOR = {300: 2, 3600: 5, 86400: 10}


@dataclass
class PurgeResult:
    """How many rows the purge deleted."""

    observations: int = 0
    rollups: int = 0
    datastreams: int = 0


def purge(
    maker: sessionmaker[Session], *, now: dt.datetime | None = None, batch: int = PURGE_BATCH
) -> PurgeResult:
    """Delete readings older than their retention and rollups older than a longer horizon.

    Deletes go in batches, each committed on its own, so that ingestion (a SQLite writer) never
    waits long behind the purge.
    """
    now_ms = int((now or utc_now()).timestamp() * 1000)
    result = PurgeResult()
    with maker() as db:
        plan = device_service.retention_by_stream(db)
    for stream_id, days in plan:
        if days <= 0:
            continue  # 0: keep for ever
        result.datastreams += 1
        cutoff = now_ms - days * DAY_MS
        result.observations += _drain(
            maker,
            partial(
                repository.delete_observations_before,
                datastream_id=stream_id,
                cutoff_ms=cutoff,
                batch=batch,
            ),
            batch,
        )
        for period in ROLLUP_PERIODS_S:
            horizon = now_ms - days * ROLLUP_KEEP_FACTOR[period] * DAY_MS
            result.rollups += _drain(
                maker,
                partial(
                    repository.delete_rollups_before,
                    datastream_id=stream_id,
                    period_s=period,
                    cutoff_ms=horizon,
                    batch=batch,
                ),
                batch,
            )
    if result.observations or result.rollups:
        log.info(
            "retention purge",
            extra={"observations": result.observations, "rollups": result.rollups},
        )
    return result


def _drain(maker: sessionmaker[Session], step: Callable[[Session], int], batch: int) -> int:
    total = 0
    while True:
        with maker() as db:
            gone = step(db)
            db.commit()
        total += gone
        if gone < batch:
            return total


@dataclass
class StatusSweep:
    """Remembers which devices were offline, to log only the changes."""

    offline: set[int] = field(default_factory=set)

    def run(
        self, maker: sessionmaker[Session], *, now: dt.datetime | None = None
    ) -> dict[str, int]:
        """Count devices by state and log those that went offline or came back since last time."""
        with maker() as db:
            statuses = series_service.device_statuses(db, None, now=now)
        counts = dict.fromkeys(series_service.STATES, 0)
        offline_now: set[int] = set()
        for status in statuses:
            counts[status.state] += 1
            if status.state == "offline":
                offline_now.add(status.row.id)
        for status in statuses:
            if status.row.id in offline_now - self.offline:
                log.warning("device offline", extra={"device": status.row.uid})
            elif status.row.id in self.offline - offline_now:
                log.info("device back", extra={"device": status.row.uid, "state": status.state})
        self.offline = offline_now
        return counts


async def run_periodically(
    maker: sessionmaker[Session],
    *,
    purge_every_s: float = 3600.0,
    status_every_s: float = 60.0,
) -> None:
    """Run the status sweep every minute and the purge every hour until cancelled."""
    sweep = StatusSweep()
    loop = asyncio.get_running_loop()
    next_purge = loop.time()
    while True:
        try:
            await run_in_threadpool(sweep.run, maker)
            if loop.time() >= next_purge:
                await run_in_threadpool(purge, maker)
                next_purge = loop.time() + purge_every_s
        except Exception:  # a failed round is logged; the next one runs anyway
            log.exception("telemetry background job failed")
        await asyncio.sleep(status_every_s)
