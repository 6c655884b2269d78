"""Sliding-window rate limits counted in the database, so every worker process sees the same counts.

Every limit is declared here, once, with its default; an operator can change any of them with
``LINLI_RATE_LIMITS`` (see docs/security.md, "Rate limits"). A route counts an attempt with
:func:`hit`, which refuses with :class:`RateLimited` (HTTP 429 with ``Retry-After``) when the
key already used up its window. Keys are stored as keyed digests, never as the IP address or
account id itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from linli.config import Settings
from linli.core.errors import TooManyRequests
from linli.core.i18n import N_
from linli.core.ratelimit_models import RateLimitHit
from linli.core.time import utc_now

log = logging.getLogger("linli.ratelimit")

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

# The message every refusal shows (translated at the HTTP boundary).
MESSAGE = N_("too many attempts in a short time; please wait a while and try again")


@dataclass(frozen=True)
class Limit:
    """At most ``max_hits`` counted actions per key within any ``window``; 0 hits: no limit."""

    name: str
    max_hits: int
    window: dt.timedelta
    # What the key is ("ip", "account", "address"); documentation only.
    per: str = "account"

    @property
    def enabled(self) -> bool:
        return self.max_hits > 0


# --- the declared limits (docs/security.md explains each number) -----------------------------

LOGIN_IP = Limit("login.ip", 20, MINUTE, per="ip")
CASE_REPORT_ACCOUNT = Limit("case.report.account", 10, HOUR)
CASE_REPORT_IP = Limit("case.report.ip", 30, HOUR, per="ip")
POLL_VOTE_ACCOUNT = Limit("poll.vote.account", 10, MINUTE)
PROPOSAL_CREATE_ACCOUNT = Limit("proposal.create.account", 5, HOUR)
PROPOSAL_SUPPORT_ACCOUNT = Limit("proposal.support.account", 30, MINUTE)
EXPORT_PUBLIC_IP = Limit("export.public.ip", 60, HOUR, per="ip")
EXPORT_ACCOUNT = Limit("export.account", 30, HOUR)
NOTIFICATION_RETRY_ACCOUNT = Limit("notification.retry.account", 30, HOUR)
# Declared for the password-reset flow (none exists yet): Zulip's 2 an hour and 5 a day.
PASSWORD_RESET_HOUR = Limit("password_reset.address.hour", 2, HOUR, per="address")
PASSWORD_RESET_DAY = Limit("password_reset.address.day", 5, DAY, per="address")
# Second-factor codes (TOTP or recovery) per account: 5 tries in 15 minutes.
MFA_CODE_ACCOUNT = Limit("mfa.code.account", 5, 15 * MINUTE)

DEFAULTS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        LOGIN_IP,
        CASE_REPORT_ACCOUNT,
        CASE_REPORT_IP,
        POLL_VOTE_ACCOUNT,
        PROPOSAL_CREATE_ACCOUNT,
        PROPOSAL_SUPPORT_ACCOUNT,
        EXPORT_PUBLIC_IP,
        EXPORT_ACCOUNT,
        NOTIFICATION_RETRY_ACCOUNT,
        PASSWORD_RESET_HOUR,
        PASSWORD_RESET_DAY,
        MFA_CODE_ACCOUNT,
    )
}

_SPEC = re.compile(r"^\s*(\d+)\s*(?:/\s*(\d+)\s*([smhd]))?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(TooManyRequests):
    """An attempt over a rate limit; carries the limit's name for the audit log."""

    def __init__(self, limit: Limit, retry_after: int) -> None:
        super().__init__(MESSAGE, retry_after=retry_after)
        self.limit = limit


@dataclass
class _Config:
    active: dict[str, Limit]
    key: bytes


_config = _Config(active=dict(DEFAULTS), key=b"")


def parse_spec(name: str, spec: str) -> Limit:
    """``"20/1m"`` (hits per window in s, m, h or d), ``"50"`` (keep the window) or ``"off"``."""
    base = DEFAULTS.get(name)
    if base is None:
        raise ValueError(f"unknown rate limit {name!r}; known: {', '.join(sorted(DEFAULTS))}")
    if spec.strip().lower() == "off":
        return replace(base, max_hits=0)
    match = _SPEC.match(spec)
    if match is None:
        raise ValueError(f"rate limit {name}: {spec!r} is not like '20/1m', '50' or 'off'")
    hits, amount, unit = match.groups()
    window = base.window
    if amount is not None:
        window = dt.timedelta(seconds=int(amount) * _UNITS[unit])
        if window <= dt.timedelta(0):
            raise ValueError(f"rate limit {name}: the window must be longer than 0")
    return replace(base, max_hits=int(hits), window=window)


def resolve(overrides: Mapping[str, str]) -> dict[str, Limit]:
    """The declared limits with an operator's overrides applied (unknown names are errors)."""
    active = dict(DEFAULTS)
    for name, spec in overrides.items():
        active[name] = parse_spec(name, spec)
    return active


def configure(settings: Settings) -> None:
    """Apply ``settings.rate_limits`` and derive the key that hides bucket keys (at start-up)."""
    active = resolve(settings.rate_limits)
    key = hashlib.blake2b(settings.secret_bytes(), person=b"linli-ratelimit", digest_size=32)
    _config.active = active
    _config.key = key.digest()


def active(limit: Limit) -> Limit:
    """The limit as configured for this process (a limit not declared here is used as given)."""
    return _config.active.get(limit.name, limit)


def bucket_of(limit: Limit, key: str) -> str:
    """The stored bucket: the limit's name and a keyed digest of the key (no IP in clear)."""
    digest = hmac.new(_config.key, key.encode(), hashlib.blake2b).hexdigest()[:40]
    return f"{limit.name}:{digest}"


def _lock(db: Session, bucket: str) -> None:
    """On PostgreSQL, serialise the attempts on one bucket until the transaction ends.

    Without it two transactions could each count the other's hit as not yet there and both
    pass with one hit left. SQLite needs nothing: the INSERT below takes its only write lock.
    """
    if db.get_bind().dialect.name == "postgresql":
        number = int.from_bytes(hashlib.blake2b(bucket.encode(), digest_size=8).digest(), "big")
        db.execute(text("SELECT pg_advisory_xact_lock(:n)"), {"n": number - (1 << 63)}).scalar_one()


def _used(db: Session, bucket: str, start: dt.datetime) -> int:
    stmt = select(func.count()).where(RateLimitHit.bucket == bucket, RateLimitHit.at > start)
    return db.scalar(stmt) or 0


def _retry_after(db: Session, bucket: str, limit: Limit, now: dt.datetime, used: int) -> int:
    """Seconds until the ``used`` hits in the window drop below the limit (at least 1)."""
    freeing = db.scalar(
        select(RateLimitHit.at)
        .where(RateLimitHit.bucket == bucket, RateLimitHit.at > now - limit.window)
        .order_by(RateLimitHit.at)
        .offset(max(0, used - limit.max_hits))
        .limit(1)
    )
    if freeing is None:  # the rows went away meanwhile
        return 1
    return max(1, math.ceil((freeing + limit.window - now).total_seconds()))


def hit(db: Session, limit: Limit, key: str, *, now: dt.datetime | None = None) -> None:
    """Count one attempt for ``key``, or raise :class:`RateLimited` if its window is full.

    The hit is added to the caller's transaction (commit it, even when the action then fails,
    to count failed attempts too). A refused attempt is not counted. Rows of this bucket older
    than the window are deleted on the way, which touches only this key's few rows.
    """
    limit = active(limit)
    if not limit.enabled:
        return
    now = now or utc_now()
    bucket = bucket_of(limit, key)
    start = now - limit.window
    _lock(db, bucket)
    # Insert first: on SQLite this takes the write lock, so the count below is up to date.
    row = RateLimitHit(bucket=bucket, at=now)
    db.add(row)
    db.flush()
    db.execute(
        delete(RateLimitHit)
        .where(RateLimitHit.bucket == bucket, RateLimitHit.at <= start)
        .execution_options(synchronize_session=False)
    )
    used = _used(db, bucket, start) - 1  # the attempts before this one
    if used >= limit.max_hits:
        db.delete(row)
        db.flush()
        raise RateLimited(limit, _retry_after(db, bucket, limit, now, used))


@dataclass(frozen=True)
class Usage:
    """How much of a limit a key has used: for tests and pages that warn before refusing."""

    used: int
    remaining: int
    retry_after: int  # 0 while hits remain


def peek(db: Session, limit: Limit, key: str, *, now: dt.datetime | None = None) -> Usage:
    """The key's use of ``limit`` now, without counting anything."""
    limit = active(limit)
    now = now or utc_now()
    if not limit.enabled:
        return Usage(used=0, remaining=0, retry_after=0)
    bucket = bucket_of(limit, key)
    used = _used(db, bucket, now - limit.window)
    remaining = max(0, limit.max_hits - used)
    retry = 0 if remaining else _retry_after(db, bucket, limit, now, used)
    return Usage(used=used, remaining=remaining, retry_after=retry)


def prune(db: Session, *, now: dt.datetime | None = None) -> int:
    """Delete every hit older than the longest configured window (the caller commits)."""
    longest = max((limit.window for limit in _config.active.values()), default=DAY)
    cutoff = (now or utc_now()) - longest
    count = db.scalar(select(func.count()).where(RateLimitHit.at <= cutoff)) or 0
    if count:
        db.execute(
            delete(RateLimitHit)
            .where(RateLimitHit.at <= cutoff)
            .execution_options(synchronize_session=False)
        )
    return count


def _prune_once(maker: sessionmaker[Session]) -> int:
    with maker() as db:
        gone = prune(db)
        db.commit()
    return gone


async def run_periodically(maker: sessionmaker[Session], *, every_s: float = 3600.0) -> None:
    """Prune old hits every hour until cancelled (keys seen once are not pruned on write)."""
    while True:
        try:
            await run_in_threadpool(_prune_once, maker)
        except Exception:
            log.exception("rate limit prune failed")
        await asyncio.sleep(every_s)
