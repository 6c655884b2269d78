"""Background delivery of webhook disclosures: signed POSTs with retries and back-off.

Each round reads the due messages in one short transaction, posts them with no transaction
open (a slow receiver holds no database lock), and stores each outcome in its own. A message
stays pending until a receiver answers 2xx or the attempts run out; nothing is dropped while a
receiver is down, and every message stays in the recipient's feed as well.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import httpx
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from linli.core.db import session_scope
from linli.core.time import utc_now
from linli.sharing import service

log = logging.getLogger("linli.sharing")
TIMEOUT_S = 10.0


def _post(client: httpx.Client, delivery: service.Delivery, now: dt.datetime) -> str:
    """POST one message; an empty string on success, else why it failed."""
    body = delivery.payload.encode("utf-8")
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/cap+xml",
        "X-Linli-Delivery": str(delivery.disclosure_id),
        "X-Linli-Timestamp": timestamp,
        "X-Linli-Signature": service.signature(delivery.key, timestamp, body),
    }
    try:
        response = client.post(delivery.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return ""
    return f"HTTP {response.status_code}"


def run_once(
    maker: sessionmaker[Session],
    now: dt.datetime | None = None,
    *,
    limit: int = 50,
    transport: httpx.BaseTransport | None = None,
) -> tuple[int, int]:
    """One round: (messages delivered, attempts that failed)."""
    now = now or utc_now()
    with maker() as db:
        due = service.due_deliveries(db, now, limit=limit)
    if not due:
        return 0, 0
    outcomes: list[tuple[int, str]] = []
    with httpx.Client(timeout=TIMEOUT_S, transport=transport, follow_redirects=False) as client:
        for delivery in due:
            outcomes.append((delivery.disclosure_id, _post(client, delivery, now)))
    with maker() as db:
        for disclosure_id, error in outcomes:
            service.record_delivery(db, disclosure_id, ok=not error, error=error, now=now)
        db.commit()
    sent = sum(1 for _id, error in outcomes if not error)
    failed = len(outcomes) - sent
    if failed:
        log.warning("sharing deliveries failed", extra={"sent": sent, "failed": failed})
    return sent, failed


async def run_periodically(maker: sessionmaker[Session], *, every_s: float = 15.0) -> None:
    """Deliver due messages every ``every_s`` seconds until cancelled."""
    while True:
        try:
            await run_in_threadpool(run_once, maker)
        except Exception:  # a failed round is logged; the next one runs anyway
            log.exception("sharing delivery round failed")
        await asyncio.sleep(every_s)


def register_processors(
    factory: sessionmaker[Session], entries: list[dict[str, str | int | bool]]
) -> None:
    """Register the configured notification processors at start-up (LINLI_PROCESSORS)."""
    with session_scope(factory) as db:
        service.sync_processors(db, [dict(e) for e in entries])
