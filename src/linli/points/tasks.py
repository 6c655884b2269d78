"""Background work on points: points older than a community's expiry period expire."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from linli.core.time import utc_now
from linli.points import service

log = logging.getLogger("linli.points")


def expire(maker: sessionmaker[Session], *, now: dt.datetime | None = None) -> int:
    """One round in its own transaction; how many points expired."""
    with maker() as db:
        count = service.expire_points(db, now or utc_now())
        db.commit()
    if count:
        log.info("points expired", extra={"points": count})
    return count


async def run_periodically(maker: sessionmaker[Session], *, every_s: float = 3600.0) -> None:
    """Expire points every ``every_s`` seconds until cancelled (each round is idempotent)."""
    while True:
        try:
            await run_in_threadpool(expire, maker)
        except Exception:  # a failed round is logged; the next one runs anyway
            log.exception("points expiry failed")
        await asyncio.sleep(every_s)
