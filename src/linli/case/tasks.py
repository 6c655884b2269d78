"""Background work on cases: escalation of cases past their deadline."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from linli.case import service

log = logging.getLogger("linli.case")


def escalate(maker: sessionmaker[Session], *, now: dt.datetime | None = None) -> int:
    """One escalation round in its own transaction; how many cases went to the next role."""
    with maker() as db:
        count = service.escalate_due(db, now=now)
        db.commit()
    if count:
        log.warning("cases escalated", extra={"count": count})
    return count


async def run_periodically(maker: sessionmaker[Session], *, every_s: float = 300.0) -> None:
    """Escalate overdue cases every ``every_s`` seconds until cancelled."""
    while True:
        try:
            await run_in_threadpool(escalate, maker)
        except Exception:  # a failed round is logged; the next one runs anyway
            log.exception("case escalation failed")
        await asyncio.sleep(every_s)
