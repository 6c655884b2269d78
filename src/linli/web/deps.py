"""FastAPI dependencies shared by every domain's routes: database session, actor, CSRF."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from linli.account import service as account_service
from linli.config import Settings
from linli.core.actor import Actor
from linli.core.db import KEEP_ON_ERROR
from linli.core.errors import CsrfFailed, LinliError, NotAuthenticated, PermissionDenied
from linli.core.validation import MAX_ID

SESSION_COOKIE = "linli_session"
SECURE_SESSION_COOKIE = "__Host-linli_session"
ANON_CSRF_COOKIE = "linli_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A session per request; handlers commit explicitly at the end of a change.

    Async so that no worker thread is taken for it: the session connects lazily, on the first
    query, inside the (threaded) handler or dependency that needs it.
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    except LinliError:
        # An expected refusal: keep the audit row that records it (nothing else is pending,
        # services check before they change anything), then let the error become a response.
        if session.info.get(KEEP_ON_ERROR):
            await run_in_threadpool(session.commit)
        raise
    finally:
        session.rollback()
        session.close()


Db = Annotated[Session, Depends(get_db)]

# Ids in URLs: a value no row can have is a client error, not a database overflow.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def session_cookie_name(settings: Settings) -> str:
    return SECURE_SESSION_COOKIE if settings.cookie_secure else SESSION_COOKIE


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    """Hand the browser its (new) session token."""
    response.set_cookie(
        session_cookie_name(settings),
        token,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )


# Reading how long the session has left must not itself count as activity.
SESSION_STATUS_PATH = "/me/session/status"
# Requests a page makes by itself, not the person: they never keep an idle session alive. The
# bell's stream reconnects every half hour on every open page; counting that as activity would
# keep a forgotten tab logged in until the absolute timeout.
PASSIVE_PATHS = frozenset({SESSION_STATUS_PATH, "/me/notifications/stream"})
# Where staff enrol a second factor before their roles work.
MFA_ENROL_PATH = "/me/security/mfa"


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _api_key_actor(db: Session, presented: str, ip: str | None, settings: Settings) -> Actor:
    actor = account_service.actor_from_api_key(
        db, presented, ip=ip, cache_seconds=settings.auth_cache_seconds
    )
    if actor is None:
        raise NotAuthenticated("invalid or revoked API key")
    db.commit()  # last-used stamp
    return actor


def _session_actor(request: Request, db: Session, settings: Settings, token: str) -> Actor | None:
    found = account_service.session_from_token(
        db, settings, token, touch=request.url.path not in PASSIVE_PATHS
    )
    if found is None:
        return None
    session, account = found
    request.state.auth_session = session
    # Kept as plain text: error pages render after the request's session is closed.
    request.state.csrf_seed = session.csrf_secret
    actor = account_service.build_actor(
        db, account, via="web", session=session, ip=client_ip(request)
    )
    if settings.mfa_enforced and session.mfa_verified_at is None and actor.is_staff:
        # Staff roles wait for a second factor; the person can still enrol and use resident pages.
        request.state.mfa_enrolment_needed = True
        actor = account_service.without_staff_roles(actor)
    db.commit()  # last-seen stamp
    return actor


async def resolve_actor(request: Request, db: Db) -> Actor:
    """The actor behind a request: a Bearer API key, a session cookie, or anonymous.

    Async so that the common cases take no worker thread: anonymous requests and API keys
    remembered by this process are answered in the event loop; only a database look-up runs in
    the thread pool.
    """
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    settings = settings_of(request)
    request.state.auth_session = None
    ip = client_ip(request)
    actor: Actor | None = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        presented = auth[7:].strip()
        actor = account_service.remembered_api_key_actor(presented, ip=ip)
        if actor is None:
            actor = await run_in_threadpool(_api_key_actor, db, presented, ip, settings)
    else:
        token = request.cookies.get(session_cookie_name(settings), "")
        if token:
            actor = await run_in_threadpool(_session_actor, request, db, settings, token)
    if actor is None:
        actor = Actor(account_id=None, ip=ip)
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(resolve_actor)]


async def require_login(actor: CurrentActor) -> Actor:
    if actor.is_anonymous:
        raise NotAuthenticated("please log in")
    return actor


LoggedIn = Annotated[Actor, Depends(require_login)]


async def require_staff(request: Request, actor: LoggedIn) -> Actor:
    if not actor.is_staff:
        if getattr(request.state, "mfa_enrolment_needed", False):
            raise PermissionDenied(
                "staff work needs two-step verification; set it up under My security"
            )
        raise PermissionDenied("this area is for community staff")
    return actor


Staff = Annotated[Actor, Depends(require_staff)]


def csrf_token_for(request: Request) -> str:
    """The anti-forgery token to embed in forms on this response."""
    settings = settings_of(request)
    seed: str = getattr(request.state, "csrf_seed", None) or request.state.anon_csrf
    key = hashlib.blake2b(settings.secret_bytes(), person=b"linli-csrf", digest_size=32).digest()
    return hmac.new(key, seed.encode(), hashlib.sha256).hexdigest()


async def verify_csrf(request: Request, actor: CurrentActor) -> None:
    """Refuse a state change from a browser unless it carries this session's token.

    Requests authenticated by an API key carry no ambient credentials and need no token.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if actor.via == "api":
        return
    if actor.is_anonymous and request.url.path.startswith("/api/"):
        # No ambient credentials to abuse; the route's own login check answers 401.
        return
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else ""
    if not presented or not hmac.compare_digest(presented, csrf_token_for(request)):
        raise CsrfFailed("the form has expired or did not come from this site; please try again")


CsrfChecked = Depends(verify_csrf)
