"""Shell pages: public portal, login and logout, display preferences, privacy notice, help."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from linli.account import service as account_service
from linli.account.schemas import PreferencesUpdate
from linli.core import i18n
from linli.core.errors import LinliError, NotAuthenticated, TooManyRequests
from linli.core.i18n import gettext as _
from linli.web.deps import (
    CsrfChecked,
    CurrentActor,
    Db,
    client_ip,
    session_cookie_name,
    settings_of,
)
from linli.web.middleware import ELDER_COOKIE, LANG_COOKIE, PREF_MAX_AGE, SIZE_COOKIE, TEXT_SIZES
from linli.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked])


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths are followed after login or a preference change."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def home_for(actor_is_staff: bool) -> str:
    return "/console" if actor_is_staff else "/me"


@router.get("/")
def portal(request: Request, actor: CurrentActor) -> Response:
    return render(request, "portal.html", {})


@router.get("/privacy")
def privacy(request: Request, actor: CurrentActor) -> Response:
    return render(request, "privacy.html", {})


@router.get("/help")
def help_page(request: Request, actor: CurrentActor) -> Response:
    return render(request, "help.html", {})


@router.get("/login")
def login_form(request: Request, actor: CurrentActor, next: str | None = None) -> Response:
    if not actor.is_anonymous:
        return RedirectResponse(safe_next(next, home_for(actor.is_staff)), status_code=303)
    return render(request, "login.html", {"next": safe_next(next, ""), "step": "username"})


@router.post("/login")
def login_submit(
    request: Request,
    db: Db,
    actor: CurrentActor,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Password login. In elder mode the form asks one question per screen (username first)."""
    settings = settings_of(request)
    ctx = {"next": safe_next(next, ""), "username": username}
    if not username.strip():
        ctx.update(step="username", error=_("Enter your username."))
        return render(request, "login.html", ctx, status_code=422)
    if not password:
        if request.state.elder:
            ctx.update(step="password")
            return render(request, "login.html", ctx)
        ctx.update(step="username", error=_("Enter your password."))
        return render(request, "login.html", ctx, status_code=422)
    try:
        result = account_service.login(
            db,
            settings,
            username=username,
            password=password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except (NotAuthenticated, TooManyRequests) as exc:
        db.commit()  # keep the failed attempt and its audit row
        headers = {"retry-after": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else {}
        ctx.update(step="username", error=_(exc.message))
        return render(request, "login.html", ctx, status_code=exc.status_code, headers=headers)
    db.commit()
    actor_is_staff = any(
        g.role != "resident" and g.role != "caregiver"
        for g in account_service.grants_of(db, result.account.id)
    )
    response = RedirectResponse(safe_next(next, home_for(actor_is_staff)), status_code=303)
    response.set_cookie(
        session_cookie_name(settings),
        result.token,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    account = result.account
    if account.locale:
        response.set_cookie(LANG_COOKIE, account.locale, max_age=PREF_MAX_AGE, samesite="lax")
    if account.elder_mode:
        response.set_cookie(ELDER_COOKIE, "1", max_age=PREF_MAX_AGE, samesite="lax")
    if account.text_size != "normal":
        response.set_cookie(SIZE_COOKIE, account.text_size, max_age=PREF_MAX_AGE, samesite="lax")
    return response


@router.post("/logout")
def logout(request: Request, db: Db, actor: CurrentActor) -> Response:
    session = getattr(request.state, "auth_session", None)
    if session is not None:
        account_service.logout(db, actor, session)
        db.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(session_cookie_name(settings_of(request)), path="/")
    return response


@router.post("/prefs")
def set_preferences(
    request: Request,
    db: Db,
    actor: CurrentActor,
    lang: Annotated[str | None, Form(max_length=16)] = None,
    elder: Annotated[str | None, Form(max_length=1)] = None,
    size: Annotated[str | None, Form(max_length=10)] = None,
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Switch language, elder mode (长辈版) or text size; saved to the account when logged in."""
    response = RedirectResponse(safe_next(next), status_code=303)
    changes: dict[str, object] = {}
    if lang is not None:
        if lang not in i18n.LOCALES:
            raise LinliError("unknown language")
        response.set_cookie(LANG_COOKIE, lang, max_age=PREF_MAX_AGE, samesite="lax")
        changes["locale"] = lang
    if elder is not None:
        on = elder == "1"
        response.set_cookie(ELDER_COOKIE, "1" if on else "0", max_age=PREF_MAX_AGE, samesite="lax")
        changes["elder_mode"] = on
    if size is not None:
        if size not in TEXT_SIZES:
            raise LinliError("unknown text size")
        response.set_cookie(SIZE_COOKIE, size, max_age=PREF_MAX_AGE, samesite="lax")
        changes["text_size"] = size
    if not actor.is_anonymous:
        account_service.set_preferences(db, actor, PreferencesUpdate.model_validate(changes))
        db.commit()
    return response
