"""Background work on bins: take the smart bins' newest fill levels from telemetry (raising and
clearing their full alarms) so that the console and the next collection plan see them."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from linli.waste import service

log = logging.getLogger("linli.waste")


def refresh(maker: sessionmaker[Session]) -> int:
    """One round in its own transaction; how many bins got a newer fill level."""
    with maker() as db:
        changed = service.refresh_from_telemetry(db)
        db.commit()
    return changed


async def run_periodically(maker: sessionmaker[Session], *, every_s: float = 300.0) -> None:
    """Refresh the fill levels every ``every_s`` seconds until cancelled."""
    while True:
        try:
            await run_in_threadpool(refresh, maker)
        except Exception:  # a failed round is logged; the next one runs anyway
            log.exception("waste fill-level refresh failed")
        await asyncio.sleep(every_s)
