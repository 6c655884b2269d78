"""Who calls the SensorThings API: a Bearer API key, HTTP Basic (password or API key), or nobody."""

from __future__ import annotations

import base64
import binascii
import threading
import time
from dataclasses import replace

from fastapi import Request
from fastapi import status as http_status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from linli.account import passwords
from linli.account import service as account_service
from linli.config import Settings
from linli.core.actor import Actor
from linli.core.crypto import sha256_hex
from linli.core.errors import TooManyRequests
from linli.web.deps import Db, client_ip, resolve_actor, settings_of

REALM = 'Basic realm="Linli SensorThings", charset="UTF-8"'
API_KEY_PREFIX = "lk_"
# Basic credentials checked moments ago (argon2 is slow on purpose; clients send them each time).
_remembered: dict[str, tuple[float, Actor]] = {}
_failures: dict[str, list[float]] = {}
_lock = threading.Lock()


def unauthorized(message: str) -> HTTPException:
    """401 with the challenge that makes clients send HTTP Basic credentials."""
    return HTTPException(
        http_status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": REALM}
    )


def _throttle(name: str, settings: Settings) -> None:
    window = settings.login_failure_window_minutes * 60
    now = time.monotonic()
    with _lock:
        recent = [t for t in _failures.get(name, []) if now - t < window]
        _failures[name] = recent
    if len(recent) >= settings.login_max_failures:
        retry = int(window - (now - recent[0])) + 1
        raise TooManyRequests(
            "too many failed logins for this account; try again later", retry_after=retry
        )


def _failed(name: str) -> None:
    with _lock:
        _failures.setdefault(name, []).append(time.monotonic())


def _basic_actor(db: Session, settings: Settings, username: str, secret: str) -> Actor | None:
    name = username.strip().lower()[:64]
    digest = sha256_hex(f"{name}\x00{secret}")
    now = time.monotonic()
    with _lock:
        found = _remembered.get(digest)
    if found is not None and found[0] > now:
        return found[1]
    _throttle(name, settings)
    account = None
    if secret.startswith(API_KEY_PREFIX):
        candidate = account_service.account_from_api_key(db, secret)
        if candidate is not None and candidate.username == name:
            account = candidate
    else:
        candidate = account_service.by_username(db, name)
        stored = candidate.password_hash if candidate is not None else None
        if passwords.verify_password(stored, secret) and candidate is not None:
            account = candidate if candidate.is_active else None
    if account is None:
        _failed(name)
        return None
    actor = account_service.build_actor(db, account, via="api")
    db.commit()  # last-used stamp of an API key
    with _lock:
        _remembered[digest] = (now + max(settings.auth_cache_seconds, 30.0), actor)
        if len(_remembered) > 10_000:
            _remembered.clear()
    return actor


def _decode_basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise unauthorized(
            "the Basic credentials are not valid base64 of username:password"
        ) from None
    username, sep, secret = decoded.partition(":")
    if not sep or not username or not secret:
        raise unauthorized("the Basic credentials need a username and a password")
    return username, secret


async def sta_actor(request: Request, db: Db) -> Actor:
    """The caller: Bearer API key or HTTP Basic; anonymous without credentials (cookies unused)."""
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer":
        try:
            return await resolve_actor(request, db)
        except Exception as exc:
            from linli.core.errors import NotAuthenticated

            if isinstance(exc, NotAuthenticated):
                raise unauthorized(exc.message) from None
            raise
    if scheme.lower() == "basic":
        username, secret = _decode_basic(value)
        settings = settings_of(request)
        actor = await run_in_threadpool(_basic_actor, db, settings, username, secret)
        if actor is None:
            raise unauthorized("wrong username, password or API key")
        return replace(actor, ip=client_ip(request))
    if auth:
        raise unauthorized("use HTTP Basic or a Bearer API key")
    return Actor(account_id=None, ip=client_ip(request))
