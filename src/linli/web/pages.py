"""Shell pages: public portal, login and logout, display preferences, privacy notice, help,
and the staff console's start page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from linli.account import service as account_service
from linli.account.schemas import PreferencesUpdate
from linli.alarm import service as alarm_service
from linli.alarm.schemas import AlarmFilter
from linli.audit import service as audit_service
from linli.core import i18n, ratelimit
from linli.core.errors import LinliError, NotAuthenticated, TooManyRequests
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.place import service as place_service
from linli.privacy import purposes
from linli.resident import service as resident_service
from linli.rule import service as rule_service
from linli.web import ratelimit as limits
from linli.web import shell
from linli.web.deps import (
    MFA_ENROL_PATH,
    CsrfChecked,
    CurrentActor,
    Db,
    Staff,
    client_ip,
    session_cookie_name,
    set_session_cookie,
    settings_of,
)
from linli.web.middleware import ELDER_COOKIE, LANG_COOKIE, PREF_MAX_AGE, SIZE_COOKIE, TEXT_SIZES
from linli.web.shell import view as render

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths are followed after login or a preference change."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    # Browsers read "/\\host" as "//host"; control characters have no place in a path either.
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    return target


def home_for(actor_is_staff: bool) -> str:
    return "/console" if actor_is_staff else "/me"


def _login_page(
    request: Request,
    ctx: dict[str, object],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The login form; its language and elder switches come back to the plain form."""
    target = ctx.get("next") or ""
    ctx["next_path"] = f"/login?next={quote(str(target))}" if target else "/login"
    return render(request, "login.html", ctx, status_code=status_code, headers=headers)


@router.get("/")
def portal(request: Request, actor: CurrentActor, bye: str = "") -> Response:
    """What Linli offers the community, the way in, and the elder-mode switch."""
    return render(request, "portal.html", {"logged_out_everywhere": bye == "everywhere"})


@router.get("/privacy")
def privacy(request: Request, actor: CurrentActor) -> Response:
    """The plain-language privacy notice (PIPL art. 17), listing every purpose in the code."""
    return render(
        request,
        "privacy.html",
        {
            "core_purposes": purposes.core(),
            "optional_purposes": purposes.optional(),
            "notice_version": purposes.NOTICE_VERSION,
            "notice_date": purposes.NOTICE_DATE,
        },
    )


@router.get("/help")
def help_page(request: Request, actor: CurrentActor) -> Response:
    """Hotline, grid worker, elder mode, assisted service, forgotten passwords."""
    return render(request, "help.html", {})


@router.get("/login")
def login_form(request: Request, actor: CurrentActor, next: str | None = None) -> Response:
    if not actor.is_anonymous:
        return RedirectResponse(safe_next(next, home_for(actor.is_staff)), status_code=303)
    return _login_page(request, {"next": safe_next(next, ""), "step": "username"})


@router.post("/login")
def login_submit(
    request: Request,
    db: Db,
    actor: CurrentActor,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
    step: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Password login. In elder mode the form asks one question per screen (username first)."""
    settings = settings_of(request)
    ctx: dict[str, object] = {"next": safe_next(next, ""), "username": username}
    if not username.strip():
        ctx.update(step="username", error=_("Enter your username."), error_field="username")
        return _login_page(request, ctx, 422)
    if not password:
        if request.state.elder and step != "password":
            ctx.update(step="password")
            return _login_page(request, ctx)
        ctx.update(
            step="password" if request.state.elder else "username",
            error=_("Enter your password."),
            error_field="password",
        )
        return _login_page(request, ctx, 422)
    try:
        # Per address as well as per account: guessing many accounts' passwords from one place.
        limits.enforce(db, actor, ratelimit.LOGIN_IP)
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
        ctx.update(step="username", error=_(exc.message), error_field="password")
        return _login_page(request, ctx, exc.status_code, headers)
    previous = getattr(request.state, "auth_session", None)
    if previous is not None:
        # Logging in again from a logged-in browser replaces that login; the old one ends.
        account_service.logout(db, actor, previous)
    db.commit()
    actor_is_staff = any(
        g.role != "resident" and g.role != "caregiver"
        for g in account_service.grants_of(db, result.account.id)
    )
    target = safe_next(next, home_for(actor_is_staff))
    if result.mfa_pending:
        # The password was right; the session counts once the second factor is given.
        target = f"/login/mfa?next={quote(safe_next(next, ''))}"
    elif actor_is_staff and settings.mfa_enforced:
        target = MFA_ENROL_PATH  # staff roles work once a second factor is set up
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, settings, result.token)
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


@router.get("/console")
def console(request: Request, db: Db, actor: Staff) -> Response:
    """The staff console's start page: what this person may work on, with counts."""
    one = PageParams(page=1, size=1)
    counts: dict[str, int] = {}
    if shell.can_see_residents(actor):
        counts["residents"] = resident_service.list_residents(db, actor, params=one)[1]
        counts["households"] = resident_service.list_households(db, actor, params=one)[1]
    if shell.can_manage_accounts(actor):
        counts["accounts"] = len(account_service.manageable_accounts(db, actor))
    if shell.can_read_audit(actor):
        counts["audit"] = audit_service.search(db, actor, params=one)[1]
    if alarm_service.may_view_any(actor):
        counts["alarms"] = alarm_service.list_alarms(db, actor, AlarmFilter(), one).total
    places = place_service.by_ids(db, sorted({g.place_id for g in actor.grants}))
    grants = [
        (g.role, places[g.place_id].name, places[g.place_id].kind)
        for g in actor.grants
        if g.place_id in places
    ]
    return render(
        request,
        "console.html",
        {
            "counts": counts,
            "grants": grants,
            "can_residents": shell.can_see_residents(actor),
            "can_accounts": shell.can_manage_accounts(actor),
            "can_audit": shell.can_read_audit(actor),
            "can_alarms": alarm_service.may_view_any(actor),
            "can_rules": rule_service.may_view_any(actor),
        },
    )
