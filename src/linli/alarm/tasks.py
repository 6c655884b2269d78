"""Background work on alarms: escalation of critical alarms nobody has acknowledged."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from linli.alarm import service

log = logging.getLogger("linli.alarm")


def escalate(maker: sessionmaker[Session], *, now: dt.datetime | None = None) -> int:
    """One escalation round in its own transaction; how many alarms went to the next role."""
    with maker() as db:
        count = service.escalate_due(db, now=now)
        db.commit()
    if count:
        log.warning("alarms escalated", extra={"count": count})
    return count


async def run_periodically(maker: sessionmaker[Session], *, every_s: float = 30.0) -> None:
    """Escalate due alarms every ``every_s`` seconds until cancelled."""
    while True:
        try:
            await run_in_threadpool(escalate, maker)
        except Exception:  # a failed round is logged; the next one runs anyway
            log.exception("alarm escalation failed")
        await asyncio.sleep(every_s)
