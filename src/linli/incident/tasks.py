"""Background work on incidents: fold new critical alarms and calls for help into incidents and
dispatch them, and time out unanswered dispatch offers (their slots are re-dispatched)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from linli.core.time import utc_now
from linli.incident import service, shifts

log = logging.getLogger("linli.incident")


def run_once(
    maker: sessionmaker[Session],
    *,
    now: dt.datetime | None = None,
    timeout_min: int = service.OFFER_TIMEOUT_MIN,
) -> tuple[int, int]:
    """One round in its own transaction: (incidents opened, offers timed out)."""
    now = now or utc_now()
    with maker() as db:
        # Shifts first: whoever has just come on duty can be sent in this very round.
        shifts.apply_shifts(db, now)
        opened = service.from_alarms(db, now) + service.from_help_answers(db, now)
        # Incidents sensors and calls for help opened get their responders in the same round.
        service.auto_dispatch(db, opened, now)
        timed_out = service.expire_offers(db, now, timeout_min)
        db.commit()
    if opened or timed_out:
        log.info("incident round", extra={"opened": len(opened), "timed_out": timed_out})
    return len(opened), timed_out


async def run_periodically(maker: sessionmaker[Session], *, every_s: float = 10.0) -> None:
    """Run a round every ``every_s`` seconds until cancelled (each round is idempotent)."""
    while True:
        try:
            await run_in_threadpool(run_once, maker)
        except Exception:  # a failed round is logged; the next one runs anyway
            log.exception("incident round failed")
        await asyncio.sleep(every_s)


def demo_round(maker: sessionmaker[Session], *, now: dt.datetime | None = None) -> int:
    """One move of the demo's simulated responders in its own transaction."""
    from linli.incident import demo

    with maker() as db:
        done = demo.step(db, now)
        db.commit()
    return done


async def run_demo_periodically(maker: sessionmaker[Session], *, every_s: float = 5.0) -> None:
    """The demo's simulated responders answer and walk every ``every_s`` seconds."""
    while True:
        try:
            await run_in_threadpool(demo_round, maker)
        except Exception:  # a failed round is logged; the next one runs anyway
            log.exception("demo responders round failed")
        await asyncio.sleep(every_s)
