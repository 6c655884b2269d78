"""Background work on suggestions: answers past their deadline are marked and escalated."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from linli.proposal import service

log = logging.getLogger("linli.proposal")


def escalate(maker: sessionmaker[Session], *, now: dt.datetime | None = None) -> int:
    """One round in its own transaction; how many answers became overdue."""
    with maker() as db:
        count = service.escalate_overdue(db, now=now)
        db.commit()
    if count:
        log.warning("proposal answers overdue", extra={"count": count})
    return count


async def run_periodically(maker: sessionmaker[Session], *, every_s: float = 300.0) -> None:
    """Check for overdue answers every ``every_s`` seconds until cancelled."""
    while True:
        try:
            await run_in_threadpool(escalate, maker)
        except Exception:  # a failed round is logged; the next one runs anyway
            log.exception("proposal escalation failed")
        await asyncio.sleep(every_s)
